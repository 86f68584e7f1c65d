"""One member's call: stream a reply from the first model of its chain that works.

A member is one voice in a run (an ensemble proposer, a routed role, the judge). Its chain
is tried in order; a failure on one model is announced with a ``route`` event (reason
``fallback``) and the next model starts over, visibly, in the same pane. Only when the whole
chain fails does the member fail; the run goes on without it. An empty reply is a failure
too (category ``empty``): it falls back like any other, instead of passing for an answer.

A structured member (the judge) asks for a reply constrained to a JSON schema; a server that
refuses the schema (HTTP 400/422) is asked once more without it, on the same model, and the
``route`` event that says so is the trace's record of it. A provider with a ``max_parallel``
limit makes a member wait for a slot first, announced with ``member_queued``.

A member offered tools (``MemberSpec.tools``) gets them natively or described in its system
prompt (``tools.py``), said by a ``tools_offered`` parse event; a server that refuses them
natively is asked once more with them described, announced like the schema's retry. The
parser knows the tools (it types XML values by their schemas and reads weak dialects only
for their names) and previews each call as it forms: ``call_delta`` parse events, which are
not part of the parser's trace. Once the reply is whole, every call, the server's included,
is checked against the tools: one ``schema_check`` parse event per call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from loco_tui.events import (
    CallStats,
    Delta,
    FailureCategory,
    MemberFailed,
    MemberFinished,
    MemberQueued,
    MemberStarted,
    Parse,
    Route,
    ThreadTrimmed,
)
from loco_tui.orchestrator.context import RunContext
from loco_tui.orchestrator.thread import Conversation, answer_reserve, estimate_tokens
from loco_tui.orchestrator.tools import CallCheck, ToolSet, Via, refused_tools, tools_via
from loco_tui.parser import ParseEvent, StreamParser, ToolCall
from loco_tui.providers.base import ProviderError, Structured, Timeouts, TokenLogprob
from loco_tui.providers.pool import ModelTarget

# Without a thread there is nothing to trim, so no budget is looked up: first turns never
# wait on a server's answer about its context size.
Budget = Callable[[ModelTarget], Awaitable[int]]


class TextFilter(Protocol):
    """Rewrites a streamed text for display (the raw text still goes to the parser)."""

    def feed(self, text: str) -> str: ...

    def flush(self) -> str: ...


@dataclass
class MemberSpec:
    member: str  # run-unique id ("m1", "judge", a role name)
    chain: list[ModelTarget]
    conversation: Conversation
    persona: str | None = None
    role: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # persona/call overrides
    # Makes a fresh display filter per attempt (the judge hides its brief's fence markers).
    display: Callable[[], TextFilter] | None = None
    # Ask for a reply constrained to this schema (and token log probabilities), sending
    # ``structured_conversation`` instead of ``conversation`` while it is asked for.
    structured: Structured | None = None
    structured_conversation: Conversation | None = None
    # The tools offered to this member (None: none).
    tools: ToolSet | None = None


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
    finish_reason: str | None = None
    # Whether the reply was asked for under the member's schema, and the token log
    # probabilities the server sent (empty when none).
    structured: bool = False
    logprobs: list[TokenLogprob] = field(default_factory=list)
    # The server refused the structured request before answering (HTTP 400/422).
    refused: bool = False
    # How the tools reached the model (None: no tools offered), whether the server refused
    # them natively before answering, and the schema check of every call made.
    tools_via: Via | None = None
    tools_refused: bool = False
    native_calls: list[ToolCall] = field(default_factory=list)
    checks: list[CallCheck] = field(default_factory=list)


def _parse_event(ctx: RunContext, member: str, event: ParseEvent) -> None:
    detail = dict(event.detail)
    if event.offset is not None:
        detail.setdefault("offset", event.offset)
    ctx.emit(Parse, member=member, kind=event.kind, detail=detail)


async def stream_member(
    ctx: RunContext,
    spec: MemberSpec,
    timeouts: Timeouts | None = None,
    budget: Budget | None = None,
) -> MemberOutcome:
    """Run ``spec`` to an outcome. Never raises, except CancelledError (after reporting it).

    ``budget`` gives a model's context size in tokens; a conversation with earlier turns is
    fitted to it (oldest turns dropped first, announced with ``thread_trimmed``)."""
    last: MemberOutcome | None = None
    attempt = 0

    def route(target: ModelTarget, reason: str, category: FailureCategory | None) -> None:
        """Say why the next attempt follows the last one."""
        ctx.emit(Route, role=spec.role, model=target.model_id, member=spec.member,
                 reason=reason, category=category)

    for target in spec.chain:
        if last is not None:
            route(target, f"fallback: {last.model} failed ({last.category})", last.category)
        attempt += 1
        via = await tools_via(spec.tools, target)
        last = await _attempt(ctx, spec, target, attempt, timeouts, budget, spec.structured,
                              via)
        if last.tools_refused:
            # A server (or model) that takes no tools in the request: the same model, with
            # the tools described in its system prompt instead.
            route(target, f"retry with the tools described in the prompt: {target.model_id} "
                  f"refused them in the request ({last.message})", last.category)
            attempt += 1
            last = await _attempt(ctx, spec, target, attempt, timeouts, budget,
                                  spec.structured, "prompt")
        if last.refused:
            # A server that cannot constrain its output: the same model, asked plainly.
            route(target, f"retry without the JSON schema: {target.model_id} refused it "
                  f"({last.message})", last.category)
            attempt += 1
            last = await _attempt(ctx, spec, target, attempt, timeouts, budget, None,
                                  last.tools_via)
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


async def _messages(
    ctx: RunContext, spec: MemberSpec, conv: Conversation, target: ModelTarget,
    options: dict[str, Any], budget: Budget | None, via: Via | None = None,
) -> list[Any]:
    system = [target.config.system, *conv.system] if target.config.system else conv.system
    if via == "prompt" and spec.tools is not None:
        system = [*system, spec.tools.prompt()]
    conv = Conversation(conv.prompt, system, conv.history)
    if not conv.history or budget is None:
        return conv.fitted(1 << 40, 0)[0]
    tokens = await budget(target)
    messages, dropped = conv.fitted(tokens, answer_reserve(options, tokens))
    if dropped:
        ctx.emit(
            ThreadTrimmed, member=spec.member, model=target.model_id, budget_tokens=tokens,
            kept=len(conv.history) - dropped, dropped=dropped,
        )
    return messages


async def _attempt(
    ctx: RunContext,
    spec: MemberSpec,
    target: ModelTarget,
    attempt: int,
    timeouts: Timeouts | None,
    budget: Budget | None,
    structured: Structured | None = None,
    via: Via | None = None,
) -> MemberOutcome:
    options = {**target.config.options, **spec.options}
    conversation = spec.conversation
    if structured is not None and spec.structured_conversation is not None:
        conversation = spec.structured_conversation
    messages = await _messages(ctx, spec, conversation, target, options, budget, via)
    slots = target.slots
    if slots is None or slots.limit is None:
        return await _call(ctx, spec, target, attempt, timeouts, structured, options, messages,
                           via)

    def queued(ahead: int) -> None:
        assert slots is not None
        ctx.emit(MemberQueued, member=spec.member, model=target.model_id,
                 provider=target.provider_id, ahead=ahead, limit=slots.limit or 0,
                 running=slots.running)

    started = False
    try:
        async with slots.slot(queued):
            started = True
            return await _call(ctx, spec, target, attempt, timeouts, structured, options,
                               messages, via)
    except asyncio.CancelledError:
        if not started:  # a call that streamed reported its own cancellation
            ctx.emit(MemberFailed, member=spec.member, model=target.model_id,
                     category=FailureCategory.CANCELLED,
                     message="the run was cancelled while the member was queued")
        raise


async def _call(
    ctx: RunContext,
    spec: MemberSpec,
    target: ModelTarget,
    attempt: int,
    timeouts: Timeouts | None,
    structured: Structured | None,
    options: dict[str, Any],
    messages: list[Any],
    via: Via | None = None,
) -> MemberOutcome:
    member = spec.member
    ctx.emit(
        MemberStarted,
        member=member,
        model=target.model_id,
        persona=spec.persona,
        role=spec.role,
        attempt=attempt,
        provider=target.provider_id,
        prompt_tokens=sum(estimate_tokens(m["content"]) for m in messages),
    )
    tools = spec.tools
    if tools is not None and via is not None:
        ctx.emit(Parse, member=member, kind="tools_offered",
                 detail={"names": tools.names, "via": via})
    shown = spec.display() if spec.display is not None else None
    displayed: list[str] = []  # what the sinks saw, when a filter rewrote it
    parser = StreamParser(tools=tools.schemas() if tools is not None else None, previews=True)
    pieces: list[str] = []
    traced = 0  # trace events forwarded while streaming (previews are not in the trace)
    native: list[ToolCall] = []
    stats: CallStats | None = None
    finish: str | None = None
    logprobs: list[TokenLogprob] = []
    # Only a structured call, or one with native tools, passes those keywords: providers
    # written before them still work.
    extra: dict[str, Any] = {"structured": structured} if structured is not None else {}
    if via == "native" and tools is not None:
        extra["tools"] = tools.wire()
    try:
        stream = target.provider.stream_chat(
            target.server_model, messages, options=options, timeouts=timeouts, **extra
        )
        async for chunk in stream:
            if chunk.logprobs:
                logprobs.extend(chunk.logprobs)
            if chunk.thinking:
                ctx.emit(Delta, member=member, text=chunk.thinking, channel="thinking")
            if chunk.text:
                pieces.append(chunk.text)
                text = chunk.text
                if shown is not None:
                    text = shown.feed(text)
                    displayed.append(text)
                if text:
                    ctx.emit(Delta, member=member, text=text)
                for event in parser.feed(chunk.text):
                    if event.kind != "call_delta":
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
                                     "arguments": call.get("arguments"),
                                     "index": len(native) - 1, "native": True})
            if chunk.done:
                stats = chunk.stats
                finish = chunk.done_reason
    except ProviderError as exc:
        refused = exc.refused_request and not pieces
        # The provider knows a refusal of tools when it sees one (see refuses_tools): it
        # says so by taking them natively no longer.
        tools_refused = via == "native" and not pieces and await refused_tools(target)
        return MemberOutcome(
            member, target.model_id, spec.persona, ok=False,
            text="".join(pieces), category=exc.category, message=exc.message,
            structured=structured is not None,
            refused=structured is not None and refused and not tools_refused,
            tools_via=via, tools_refused=tools_refused,
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
    except Exception as exc:  # noqa: BLE001 - a provider bug must fail this member, not the run
        return MemberOutcome(
            member, target.model_id, spec.persona, ok=False, text="".join(pieces),
            category=FailureCategory.BAD_OUTPUT, message=f"{type(exc).__name__}: {exc}",
        )
    if shown is not None:
        rest = shown.flush()
        displayed.append(rest)
        if rest:
            ctx.emit(Delta, member=member, text=rest)
    text = "".join(pieces)
    result = parser.finish()
    # The trace repeats what feed() returned; send only what finish() added (held-back
    # calls, repairs, the classification).
    for event in result.trace[traced:]:
        _parse_event(ctx, member, event)
    checks = tools.check(native, result.tool_calls) if tools is not None else []
    for check in checks:
        ctx.emit(Parse, member=member, kind="schema_check", detail=check.detail())
    calls = native + list(result.tool_calls)
    if not text.strip() and not calls:
        cut = " (cut at the token limit before any answer)" if finish == "length" else ""
        return MemberOutcome(
            member, target.model_id, spec.persona, ok=False, text=text,
            category=FailureCategory.EMPTY, message=f"the reply was empty{cut}",
        )
    stats = stats or CallStats(tokens_out=len(pieces))
    ctx.emit(
        MemberFinished, member=member, model=target.model_id, stats=stats,
        text="".join(displayed) if shown is not None else text, finish_reason=finish,
    )
    return MemberOutcome(
        member, target.model_id, spec.persona, ok=True, text=text, tool_calls=calls,
        stats=stats, finished_at=time.monotonic(), finish_reason=finish,
        structured=structured is not None, logprobs=logprobs,
        tools_via=via, native_calls=native, checks=checks,
    )
