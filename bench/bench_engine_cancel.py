"""How fast Esc stops the embedded engine in the middle of a long prompt evaluation.

    .venv/bin/python bench/bench_engine_cancel.py [--quick] [--repeats 7]
        [--before path/to/older/embedded.py]

For n_batch 64 (the members' provider) and 512 (the judge's): a prompt of ~900 tokens is
evaluated on one thread, and the call is cancelled part-way through (at 20-70% of the time
the evaluation takes). Measured: the cancel latency, from ``task.cancel()`` to the worker
thread's end (the instance back in the pool), median and worst over the repeats; as a ratio,
against the time one batch takes to evaluate in the same process (what an abort seen only
between batches waits for, at worst). ``--before FILE`` also measures an older
``embedded.py`` (e.g. ``git show REV:loco_tui/providers/embedded.py > /tmp/old.py``) in the
same process, for a before/after ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from loco_tui.providers import embedded

_calls = 0


def _prompt() -> list[dict[str, str]]:
    """A long prompt that differs from the last one at its first word: llama-cpp-python
    keeps the previous prompt's evaluation and would reuse a shared prefix."""
    global _calls
    _calls += 1
    return [{"role": "user", "content": f"{_calls} " + " ".join(f"item{i}" for i in range(300))}]


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("embedded_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def _evaluate(provider: Any) -> tuple[float, int]:
    """Seconds to evaluate the prompt and sample one token; the prompt's token count."""
    t0 = time.perf_counter()
    tokens = 0
    async for chunk in provider.stream_chat("smollm2", _prompt(), options={"num_predict": 1}):
        if chunk.done and chunk.stats is not None:
            tokens = chunk.stats.tokens_in or 0
    return time.perf_counter() - t0, tokens


async def _cancel_once(provider: Any, after_s: float) -> float:
    """Cancel a call ``after_s`` into its prompt evaluation; seconds until its worker ended."""
    async def consume() -> None:
        async for _ in provider.stream_chat("smollm2", _prompt(), options={"num_predict": 64}):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(after_s)
    assert not task.done(), "the prompt was evaluated before the cancel: use a longer one"
    t0 = time.perf_counter()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return time.perf_counter() - t0


async def _measure(module: ModuleType, n_batch: int, repeats: int) -> dict[str, float]:
    provider = module.EmbeddedProvider("bench", n_threads=1, n_batch=n_batch, n_ctx=2048)
    try:
        await _evaluate(provider)  # loads the instance; not timed
        evaluations = [await _evaluate(provider) for _ in range(2)]
        seconds = statistics.median(e[0] for e in evaluations)
        tokens = evaluations[0][1]
        batch_s = seconds * min(n_batch, tokens) / tokens
        latencies = []
        for i in range(repeats):
            fraction = 0.2 + 0.5 * i / max(repeats - 1, 1)
            latencies.append(await _cancel_once(provider, seconds * fraction))
            # The interrupted instance answers normally afterwards (and is warm again).
            await _evaluate(provider)
        return {"prompt_tokens": tokens, "eval_s": seconds, "batch_s": batch_s,
                "median_s": statistics.median(latencies), "worst_s": max(latencies)}
    finally:
        await provider.aclose()


async def _main(args: argparse.Namespace) -> None:
    modules = [("now", embedded)]
    if args.before:
        modules.insert(0, ("before", _load(Path(args.before))))
    repeats = 3 if args.quick else args.repeats
    batches = (64,) if args.quick else (64, 512)
    print(f"{'version':8} {'n_batch':>7} {'tokens':>6} {'eval':>7} {'1 batch':>8} "
          f"{'cancel p50':>11} {'worst':>8} {'p50/batch':>10}")
    results: dict[tuple[str, int], dict[str, float]] = {}
    for n_batch in batches:
        for name, module in modules:
            r = await _measure(module, n_batch, repeats)
            results[(name, n_batch)] = r
            print(f"{name:8} {n_batch:>7} {r['prompt_tokens']:>6.0f} {r['eval_s']:>6.2f}s "
                  f"{r['batch_s'] * 1000:>6.0f}ms {r['median_s'] * 1000:>9.1f}ms "
                  f"{r['worst_s'] * 1000:>6.1f}ms {r['median_s'] / r['batch_s']:>10.3f}")
    if args.before:
        for n_batch in batches:
            ratio = results[("now", n_batch)]["median_s"] / results[("before", n_batch)]["median_s"]
            print(f"n_batch {n_batch}: cancel latency now / before = {ratio:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="n_batch 64 only, 3 repeats")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--before", help="an older embedded.py to measure alongside")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
