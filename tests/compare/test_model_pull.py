"""Pulling an Ollama model for the picker: progress step by step, the model installed at the
end, an unknown name a categorised failure, and a pull closed early stops on the server."""

from __future__ import annotations

import asyncio

import pytest

from loco_tui.events import FailureCategory
from loco_tui.providers.base import ProviderError
from loco_tui.providers.ollama import OllamaProvider
from loco_tui.testing.script import Reply, Script


async def test_a_pull_reports_progress_and_installs_the_model(ollama_server):
    script = Script().add("llama3.2:3b", Reply.text("hi"))
    script.pullable["qwen2.5:0.5b"] = Reply.text("pulled and answering")
    server = ollama_server(script)
    provider = OllamaProvider("local", server.url)
    try:
        assert "qwen2.5:0.5b" not in {m.name for m in await provider.list_models()}
        steps = [step async for step in provider.pull("qwen2.5:0.5b")]
        fractions = [s.fraction for s in steps if s.fraction is not None]
        assert fractions == [0.0, 0.25, 0.5, 1.0]
        assert steps[0].status == "pulling manifest" and steps[-1].done
        assert all(not s.done for s in steps[:-1])
        assert "qwen2.5:0.5b" in {m.name for m in await provider.list_models()}
        chunks = [c async for c in provider.stream_chat(
            "qwen2.5:0.5b", [{"role": "user", "content": "hello"}])]
        assert "".join(c.text for c in chunks) == "pulled and answering"
    finally:
        await provider.aclose()


async def test_an_unknown_model_fails_to_pull_with_a_category(ollama_server):
    server = ollama_server(Script().add("llama3.2:3b", Reply.text("hi")))
    provider = OllamaProvider("local", server.url)
    try:
        with pytest.raises(ProviderError) as caught:
            async for _ in provider.pull("no-such-model"):
                pass
        assert caught.value.category is FailureCategory.MODEL_MISSING
        assert "does not exist" in caught.value.message
    finally:
        await provider.aclose()


async def test_a_pull_closed_early_stops_and_installs_nothing(ollama_server):
    script = Script()
    script.pullable["big:70b"] = Reply.text("never")
    server = ollama_server(script, pull_step_s=0.2)
    provider = OllamaProvider("local", server.url)
    try:
        async for step in provider.pull("big:70b"):
            if step.fraction is not None:
                break  # the user pressed Esc on the progress bar
        assert await asyncio.to_thread(server.wait_for_no_connections, 3.0)
        await asyncio.sleep(1.2)  # longer than the rest of the pull would have taken
        assert "big:70b" not in server.script.replies
    finally:
        await provider.aclose()
