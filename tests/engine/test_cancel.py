"""Esc stops the embedded engine at once, even in the middle of evaluating a long prompt
(the real SmolLM2 model, no mocks).

The prompt is evaluated as one batch (n_batch larger than the prompt): an abort seen only
between batches would wait for the whole evaluation to end. The bound is relative to that
evaluation's own time measured in the same test (a loaded machine slows both alike)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from loco_tui.providers.embedded import EmbeddedProvider

pytestmark = pytest.mark.embedded

_count = 0


def _long_prompt() -> list[dict[str, str]]:
    # A new first word each time: llama-cpp-python reuses the evaluation of a shared prefix.
    global _count
    _count += 1
    return [{"role": "user", "content": f"{_count} " + " ".join(f"w{i}" for i in range(120))}]


async def _evaluate(provider: EmbeddedProvider) -> float:
    t0 = time.perf_counter()
    async for _ in provider.stream_chat("smollm2", _long_prompt(), options={"num_predict": 1}):
        pass
    return time.perf_counter() - t0


async def test_cancel_stops_a_long_prompt_evaluation_within_the_batch():
    provider = EmbeddedProvider("cancel", n_ctx=2048, n_batch=2048, n_threads=1)
    try:
        await _evaluate(provider)  # loads the model; not measured
        evaluation = await _evaluate(provider)
        produced: list[str] = []

        async def consume() -> None:
            async for chunk in provider.stream_chat("smollm2", _long_prompt(),
                                                    options={"num_predict": 32}):
                produced.append(chunk.text)

        task = asyncio.create_task(consume())
        await asyncio.sleep(evaluation * 0.3)  # well inside the one batch
        assert not task.done()
        t0 = time.perf_counter()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        latency = time.perf_counter() - t0
        # Stopped inside the batch: no token came out, and it took a small part of what
        # the batch's remaining 70% would have (milliseconds, against seconds).
        assert not any(produced)
        assert latency < evaluation * 0.2, (latency, evaluation)
        assert provider.instances("smollm2") == (1, 0)  # the instance is back in the pool
        # The interrupted instance answers the next call normally.
        reply = [c.text async for c in provider.stream_chat(
            "smollm2", [{"role": "user", "content": "Name a color."}],
            options={"temperature": 0, "num_predict": 8})]
        assert "".join(reply).strip()
    finally:
        await provider.aclose()
