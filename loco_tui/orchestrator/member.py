"""One member's call: stream a reply from the first model of its chain that works.

A member is one voice in a run (an ensemble proposer, a routed role, the judge). Its chain
is tried in order; a failure on one model is announced with a ``route`` event (reason
``fallback``) and the next model starts over, visibly, in the same pane. Only when the whole
chain fails does the member fail; the run goes on without it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from loco_tui.events import (
    CallStats,
    Delta,
    FailureCategory,
    MemberFailed,
    MemberFinished,
    MemberStarted,
    Parse,
    Route,
)
from loco_tui.orchestrator.context import RunContext
from loco_tui.parser import ParseEvent, StreamParser, ToolCall
from loco_tui.providers.base import ChatMessage, ProviderError, Timeouts
from loco_tui.providers.pool import ModelTarget


@dataclass
class MemberSpec:
    member: str  # run-unique id ("m1", "judge", a role name)
    chain: list[ModelTarget]
    messages: list[ChatMessage]
    persona: str | None = None
    role: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # persona/call overrides


@dataclass
class MemberOutcome:
    member: str
    model: str | None  # the model that answered (or failed last)
    persona: str | None
    ok: bool
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    stats: CallStats | None = None
    category: FailureCategory | None = None
    message: str = ""
    finished_at: float = 0.0


def _parse_event(ctx: RunContext, member: str, event: ParseEvent) -> None:
    detail = dict(event.detail)
    if event.offset is not None:
        detail.setdefault("offset", event.offset)
    ctx.emit(Parse, member=member, kind=event.kind, detail=detail)


async def stream_member(
    ctx: RunContext, spec: MemberSpec, timeouts: Timeouts | None = None
) -> MemberOutcome:
    """Run ``spec`` to an outcome. Never raises, except CancelledError (after reporting it)."""
    last: MemberOutcome | None = None
    for attempt, target in enumerate(spec.chain, start=1):
        if attempt > 1 and last is not None:
            ctx.emit(
                Route,
                role=spec.role,
                model=target.model_id,
                member=spec.member,
                reason=f"fallback: {last.model} failed ({last.category})",
                category=last.category,
            )
        last = await _attempt(ctx, spec, target, attempt, timeouts)
        if last.ok:
            return last
    if last is None:
        last = MemberOutcome(
            spec.member, None, spec.persona, ok=False,
            category=FailureCategory.MODEL_MISSING, message="no model configured for this member",
        )
    ctx.emit(
        MemberFailed,
        member=spec.member,
        model=last.model or "?",
        category=last.category or FailureCategory.BAD_OUTPUT,
        message=last.message,
    )
    return last


async def _attempt(
    ctx: RunContext, spec: MemberSpec, target: ModelTarget, attempt: int, timeouts: Timeouts | None
) -> MemberOutcome:
    ctx.emit(
        MemberStarted,
        member=spec.member,
        model=target.model_id,
        persona=spec.persona,
        role=spec.role,
        attempt=attempt,
    )
    options = {**target.config.options, **spec.options}
    messages = spec.messages
    if target.config.system:
        messages = [{"role": "system", "content": target.config.system}, *messages]
    parser = StreamParser()
    pieces: list[str] = []
    traced = 0
    native: list[ToolCall] = []
    stats: CallStats | None = None
    member = spec.member
    try:
        stream = target.provider.stream_chat(
            target.server_model, messages, options=options, timeouts=timeouts
        )
        async for chunk in stream:
            if chunk.thinking:
                ctx.emit(Delta, member=member, text=chunk.thinking, channel="thinking")
            if chunk.text:
                pieces.append(chunk.text)
                ctx.emit(Delta, member=member, text=chunk.text)
                for event in parser.feed(chunk.text):
                    traced += 1
                    _parse_event(ctx, member, event)
            if chunk.tool_calls:
                # Calls the server parsed itself (Ollama/OpenAI tool fields) skip the text
                # parser but still go to the trace and the outcome.
                for call in chunk.tool_calls:
                    native.append(ToolCall(str(call.get("name", "")),
                                           dict(call.get("arguments") or {}), format="native"))
                    ctx.emit(Parse, member=member, kind="call",
                             detail={"format": "native", "name": call.get("name"),
                                     "arguments": call.get("arguments")})
            if chunk.done:
                stats = chunk.stats
    except ProviderError as exc:
        return MemberOutcome(
            member, target.model_id, spec.persona, ok=False,
            text="".join(pieces), category=exc.category, message=exc.message,
        )
    except asyncio.CancelledError:
        ctx.emit(
            MemberFailed,
            member=member,
            model=target.model_id,
            category=FailureCategory.CANCELLED,
            message="the run was cancelled",
        )
        raise
    except Exception as exc:  # a provider bug must fail this member, not the whole run
        return MemberOutcome(
            member, target.model_id, spec.persona, ok=False, text="".join(pieces),
            category=FailureCategory.BAD_OUTPUT, message=f"{type(exc).__name__}: {exc}",
        )
    text = "".join(pieces)
    result = parser.finish()
    # The trace repeats what feed() returned; send only what finish() added (held-back
    # calls, repairs, the classification).
    for event in result.trace[traced:]:
        _parse_event(ctx, member, event)
    stats = stats or CallStats(tokens_out=len(pieces))
    ctx.emit(MemberFinished, member=member, model=target.model_id, stats=stats, text=text)
    return MemberOutcome(
        member, target.model_id, spec.persona, ok=True, text=text,
        tool_calls=native + list(result.tool_calls), stats=stats, finished_at=time.monotonic(),
    )
