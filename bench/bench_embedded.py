"""Embedded provider throughput: 1, 2 and 3 concurrent SmolLM2-135M streams, n_threads 1 vs 2.

    .venv/bin/python bench/bench_embedded.py [--tokens 64] [--repeats 3]

Each stream asks for ``--tokens`` tokens (greedy, a prompt that does not stop early). Per
stream: the decode rate (tokens/s after the first token, like Ollama's eval rate) and the
end-to-end rate (tokens over the stream's whole duration, prompt and scheduling included).
Aggregate: all tokens of a batch over its wall time. Medians over the repeats. Instances are
loaded before timing (the pool keeps them), so loading is not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from loco_tui.providers.embedded import EmbeddedProvider

PROMPTS = [
    "Write a long story about a lighthouse keeper and a storm.",
    "Explain in detail how bread is made, step by step.",
    "Describe a journey across a desert, with many details.",
]


async def _stream(provider: EmbeddedProvider, prompt: str, tokens: int) -> tuple[int, float, float]:
    start = time.monotonic()
    stats = None
    async for chunk in provider.stream_chat(
        "smollm2",
        [{"role": "user", "content": prompt}],
        options={"temperature": 0, "num_predict": tokens},
    ):
        if chunk.done:
            stats = chunk.stats
    assert stats is not None
    end_to_end = stats.tokens_out / (time.monotonic() - start)
    return stats.tokens_out, stats.tokens_per_s or 0.0, end_to_end


async def _batch(provider: EmbeddedProvider, streams: int, tokens: int, rep: int):
    prompts = [f"({rep}) {PROMPTS[i % len(PROMPTS)]}" for i in range(streams)]
    start = time.monotonic()
    results = await asyncio.gather(*(_stream(provider, p, tokens) for p in prompts))
    wall = time.monotonic() - start
    return results, sum(r[0] for r in results) / wall


async def _run(n_threads: int, tokens: int, repeats: int) -> list[dict[str, float]]:
    provider = EmbeddedProvider("bench", n_threads=n_threads)
    try:
        await _batch(provider, 3, 4, -1)  # load three instances; not timed
        rows = []
        for streams in (1, 2, 3):
            decode, e2e, aggregate, counts = [], [], [], []
            for rep in range(repeats):
                results, agg = await _batch(provider, streams, tokens, rep)
                counts += [r[0] for r in results]
                decode += [r[1] for r in results]
                e2e += [r[2] for r in results]
                aggregate.append(agg)
            rows.append({
                "n_threads": n_threads,
                "streams": streams,
                "tokens": statistics.median(counts),
                "decode": statistics.median(decode),
                "e2e": statistics.median(e2e),
                "aggregate": statistics.median(aggregate),
            })
        return rows
    finally:
        await provider.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    if args.quick:
        args.repeats = min(args.repeats, 1)
    started = time.monotonic()
    print(f"cpus={os.cpu_count()} load_avg={os.getloadavg()[0]:.2f} tokens={args.tokens} "
          f"repeats={args.repeats} (medians)")
    rows = []
    for n_threads in (1, 2):
        rows += asyncio.run(_run(n_threads, args.tokens, args.repeats))
    print(f"{'n_threads':>9} {'streams':>7} {'tokens':>6} {'decode tok/s':>13} "
          f"{'e2e tok/s':>10} {'aggregate tok/s':>16}")
    for r in rows:
        print(f"{r['n_threads']:>9} {r['streams']:>7} {r['tokens']:>6.0f} {r['decode']:>13.1f} "
              f"{r['e2e']:>10.1f} {r['aggregate']:>16.1f}")
    by = {(r["n_threads"], r["streams"]): r for r in rows}
    for streams in (1, 2, 3):
        ratio = by[(1, streams)]["aggregate"] / by[(2, streams)]["aggregate"]
        print(f"{streams} stream(s): aggregate n_threads=1 / n_threads=2 = {ratio:.2f}x")
    print(f"load_avg={os.getloadavg()[0]:.2f}; total {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
