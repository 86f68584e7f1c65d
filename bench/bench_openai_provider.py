"""What OpenAIProvider.stream_chat costs per token over a bare httpx SSE loop.

Both read the same zero-delay stream of N pieces from FakeOpenAI (real loopback HTTP, the
server in a thread of this process, so its cost is in both numbers and cancels in the
difference). Medians over a few repeats, after one warm-up each.

    .venv/bin/python bench/bench_openai_provider.py [--tokens 5000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loco_tui.providers.base import Timeouts
from loco_tui.providers.openai import OpenAIProvider
from loco_tui.testing.fake_openai import FakeOpenAI
from loco_tui.testing.script import Reply, Script

MESSAGES = [{"role": "user", "content": "stream a lot of tokens please"}]


async def raw_loop(client: httpx.AsyncClient, base_url: str) -> int:
    """The floor: stream, aiter_lines, strip `data: `, json.loads, pull out the content."""
    body = {"model": "bench", "messages": MESSAGES, "stream": True,
            "stream_options": {"include_usage": True}}
    n = 0
    async with client.stream("POST", base_url + "/chat/completions", json=body) as r:
        async for line in r.aiter_lines():
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                break
            obj = json.loads(data)
            for choice in obj.get("choices") or ():
                if choice["delta"].get("content"):
                    n += 1
    return n


async def provider_loop(provider: OpenAIProvider) -> int:
    n = 0
    async for chunk in provider.stream_chat("bench", MESSAGES):
        if chunk.text:
            n += 1
    return n


async def parse_only_loop(provider: OpenAIProvider) -> int:
    """The provider without guard_stream: SSE parsing and Chunks only (a diagnostic)."""
    n = 0
    async for chunk in provider._stream("bench", MESSAGES, None, provider.timeouts):
        if chunk.text:
            n += 1
    return n


async def timed(fn, *args) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """(wall seconds, process CPU seconds, tokens). CPU time includes the server thread but
    not other processes, so it is steadier on a busy machine."""
    w0, c0 = time.perf_counter(), time.process_time()
    n = await fn(*args)
    return time.perf_counter() - w0, time.process_time() - c0, n


async def main(tokens: int, repeats: int) -> None:
    script = Script().add("bench", Reply(pieces=tuple(f" t{i}" for i in range(tokens))))
    with FakeOpenAI(script) as server:
        client = httpx.AsyncClient(timeout=httpx.Timeout(5, read=60))
        provider = OpenAIProvider("bench", server.base_url,
                                  timeouts=Timeouts(connect=5, first_token=60, idle=60))
        runs = {
            "raw httpx SSE loop": (raw_loop, (client, server.base_url)),
            "OpenAIProvider.stream_chat": (provider_loop, (provider,)),
            "  of which parse only": (parse_only_loop, (provider,)),
        }
        wall: dict[str, list[float]] = {k: [] for k in runs}
        cpu: dict[str, list[float]] = {k: [] for k in runs}
        try:
            for fn, args in runs.values():  # warm-up
                await fn(*args)
            for _ in range(repeats):  # interleaved, so drift hits all alike
                for name, (fn, args) in runs.items():
                    w, c, n = await timed(fn, *args)
                    assert n == tokens, (name, n)
                    wall[name].append(w)
                    cpu[name].append(c)
        finally:
            await client.aclose()
            await provider.aclose()
    print(f"{tokens} tokens per stream, median of {repeats} (fake server in this process)")
    print(f"{'':28} {'wall us/tok':>12} {'cpu us/tok':>11}")
    per = {}
    for name in runs:
        w = statistics.median(wall[name]) / tokens * 1e6
        c = statistics.median(cpu[name]) / tokens * 1e6
        per[name] = (w, c)
        print(f"{name:28} {w:12.2f} {c:11.2f}")
    raw, prov = per["raw httpx SSE loop"], per["OpenAIProvider.stream_chat"]
    print(f"{'provider overhead':28} {prov[0] - raw[0]:+12.2f} {prov[1] - raw[1]:+11.2f}")
    print(f"{'ratio provider / raw':28} {prov[0] / raw[0]:12.3f} {prov[1] / raw[1]:11.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    if args.quick:
        args.repeats = min(args.repeats, 3)
    asyncio.run(main(args.tokens, args.repeats))
