"""What OllamaProvider adds per streamed token on top of the raw ollama client.

Against the fake Ollama (real HTTP on loopback) streaming N zero-delay pieces, it measures in
one process the median over a few repeats of:

* raw:      ``async for part in await ollama.AsyncClient.chat(..., stream=True)``
* provider: ``async for chunk in OllamaProvider.stream_chat(...)`` (guard_stream timeouts,
            Chunk conversion, error mapping, stats)

and prints microseconds per token for both, the overhead per token and the ratio, by wall
clock and by this process's CPU time (the fake server runs in a child process, so CPU time
is the client's alone: the steadier figure on a busy machine).

    .venv/bin/python bench/bench_ollama_provider.py [--tokens 5000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import ollama  # noqa: E402

from loco_tui.providers.base import Timeouts  # noqa: E402
from loco_tui.providers.ollama import OllamaProvider  # noqa: E402

MODEL = "bench:7b"
MESSAGES = [{"role": "user", "content": "Count."}]
_SERVER = f"""
import sys, time
from loco_tui.testing.fake_ollama import FakeOllama
from loco_tui.testing.script import Reply, Script
n = int(sys.argv[1])
script = Script().add({MODEL!r}, Reply(pieces=tuple(f" t{{i}}" for i in range(n))))
with FakeOllama(script) as server:
    print(server.url, flush=True)
    time.sleep(3600)
"""


Sample = tuple[float, float]  # (wall seconds, CPU seconds)


async def raw_once(url: str, n: int) -> Sample:
    async with ollama.AsyncClient(url, timeout=httpx.Timeout(5.0, read=None)) as client:
        start, cpu = time.perf_counter(), time.process_time()
        count = 0
        async for part in await client.chat(MODEL, MESSAGES, stream=True):
            if part.message.content:
                count += 1
        elapsed = (time.perf_counter() - start, time.process_time() - cpu)
    assert count == n, count
    return elapsed


async def provider_once(url: str, n: int) -> Sample:
    provider = OllamaProvider("bench", url, timeouts=Timeouts(connect=5, first_token=30, idle=30))
    try:
        start, cpu = time.perf_counter(), time.process_time()
        count = 0
        async for chunk in provider.stream_chat(MODEL, MESSAGES):
            if chunk.text:
                count += 1
        elapsed = (time.perf_counter() - start, time.process_time() - cpu)
    finally:
        await provider.aclose()
    assert count == n, count
    return elapsed


async def run(url: str, n: int, repeats: int) -> tuple[list[Sample], list[Sample]]:
    raw: list[Sample] = []
    wrapped: list[Sample] = []
    await raw_once(url, n)  # warm up both paths (imports, pydantic schemas, sockets)
    await provider_once(url, n)
    for _ in range(repeats):  # interleaved, so drift affects both alike
        gc.collect()
        raw.append(await raw_once(url, n))
        gc.collect()
        wrapped.append(await provider_once(url, n))
    return raw, wrapped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    if args.quick:
        args.repeats = min(args.repeats, 3)
    n = args.tokens
    # The fake server runs in a child process: in a thread of this one it would compete for
    # the GIL with the client and blur the comparison.
    child = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(n)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        url = child.stdout.readline().strip()
        raw, wrapped = asyncio.run(run(url, n, args.repeats))
    finally:
        child.terminate()
        child.wait(5)
        child.stdout.close()
    print(f"tokens per stream: {n}, repeats: {args.repeats} (medians, interleaved)")
    for label, index in (("wall", 0), ("cpu", 1)):
        raw_s = statistics.median(r[index] for r in raw)
        prov_s = statistics.median(w[index] for w in wrapped)
        raw_us, prov_us = raw_s / n * 1e6, prov_s / n * 1e6
        print(f"[{label}] raw ollama.AsyncClient.chat(stream=True): {raw_us:7.2f} us/token "
              f"({raw_s * 1e3:.1f} ms/stream)")
        print(f"[{label}] OllamaProvider.stream_chat:              {prov_us:7.2f} us/token "
              f"({prov_s * 1e3:.1f} ms/stream)")
        print(f"[{label}] overhead: {prov_us - raw_us:+.2f} us/token, "
              f"ratio {prov_us / raw_us:.3f}x")

if __name__ == "__main__":
    main()
