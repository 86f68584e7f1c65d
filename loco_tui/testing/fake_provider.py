"""An in-process provider that plays a Script without any I/O.

For measuring what Loco itself costs per token (orchestration, UI) with nothing else in the
way; everything that is about the wire is tested against the loopback fake servers instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from loco_tui.providers.base import (
    CallStats,
    ChatMessage,
    Chunk,
    FailureCategory,
    Health,
    ModelInfo,
    ProviderError,
    StatsClock,
    Structured,
    Timeouts,
    guard_stream,
)
from loco_tui.testing.script import Fault, Script, prompt_tokens


class ScriptedProvider:
    """Plays ``script``; a structured request (recorded in ``structured``) gets the reply's
    ``constrained`` version and, when it asks, the scripted token log probabilities."""

    def __init__(self, name: str, script: Script, timeouts: Timeouts | None = None) -> None:
        self.name = name
        self.script = script
        self.timeouts = timeouts or Timeouts()
        self.structured: list[Structured | None] = []

    def stream_chat(
        self,
        model: str,
        messages: list[ChatMessage],
        *,
        options: dict[str, Any] | None = None,
        timeouts: Timeouts | None = None,
        structured: Structured | None = None,
    ) -> AsyncIterator[Chunk]:
        self.structured.append(structured)
        return guard_stream(self._play(model, messages, structured), timeouts or self.timeouts)

    async def _play(self, model: str, messages: list[ChatMessage],
                    structured: Structured | None = None) -> AsyncIterator[Chunk]:
        reply = self.script.reply_for(model, list(messages))  # type: ignore[arg-type]
        if reply is None or reply.fault is Fault.MODEL_MISSING:
            raise ProviderError(FailureCategory.MODEL_MISSING, f"model '{model}' not found")
        if structured is not None:
            reply = reply.constrained or reply
        logprobs = structured is not None and structured.top_logprobs > 0
        clock = StatsClock()
        if reply.first_token_delay_s:
            await asyncio.sleep(reply.first_token_delay_s)
        for i, piece in enumerate(reply.pieces):
            if reply.fault is Fault.DROP and i == reply.fault_after:
                raise ProviderError(FailureCategory.DROPPED, "connection dropped mid-stream")
            if i and reply.piece_delay_s:
                await asyncio.sleep(reply.piece_delay_s)
            clock.saw_output()
            scripted = reply.logprob_of(i) if logprobs else None
            yield Chunk(text=piece, logprobs=[scripted] if scripted is not None else None)
        tokens_in = reply.tokens_in or prompt_tokens(list(messages))  # type: ignore[arg-type]
        stats: CallStats = clock.stats(tokens_in=tokens_in, tokens_out=len(reply.pieces))
        yield Chunk(done=True, stats=stats, done_reason="stop")

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(name=m) for m in self.script.models]

    async def health(self) -> Health:
        return Health(up=True, latency_s=0.0, models=await self.list_models())

    async def aclose(self) -> None:
        return None


def scripted_factory(script: Script) -> Callable[[str, Any], ScriptedProvider]:
    """A ProviderPool factory that serves every registry provider from ``script``."""

    def factory(provider_id: str, config: Any) -> ScriptedProvider:
        return ScriptedProvider(provider_id, script)

    return factory
