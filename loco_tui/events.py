"""The event vocabulary every part of Loco speaks.

A run is a stream of these events. The orchestrator produces them; the UI, the store and
headless output consume them; a stored run replays through the same types. Each event
serialises to one JSON object with ``type``, ``run_id`` and ``t`` (seconds since the run
started, from a monotonic clock).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class FailureCategory(StrEnum):
    """Why a model call failed. Callers branch on these, never on message text."""

    UNREACHABLE = "unreachable"
    MODEL_MISSING = "model_missing"
    HTTP_ERROR = "http_error"
    TIMEOUT_FIRST_TOKEN = "timeout_first_token"
    STALLED = "stalled"
    DROPPED = "dropped"
    CONTEXT_OVERFLOW = "context_overflow"
    RATE_LIMITED = "rate_limited"
    CANCELLED = "cancelled"
    BAD_OUTPUT = "bad_output"
    # The reply ended without a word (empty or whitespace only): worth a fallback.
    EMPTY = "empty"
    # The whole call outlived the registry's `total_s`, however busy the stream looked.
    TIMEOUT_TOTAL = "timeout_total"


class CallStats(BaseModel):
    """What one model call cost. Server-reported counts win over client estimates.

    Unknown figures are None, never 0: a server that reports no usage leaves ``tokens_in``
    unknown. ``tokens_per_s`` is the generation rate (first token to last, prompt reading
    excluded); ``gen_s`` is that same interval, so ``tokens_out / gen_s`` is the rate shown.
    """

    model_config = ConfigDict(extra="forbid")

    tokens_in: int | None = None
    tokens_out: int = 0
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    duration_s: float = 0.0
    gen_s: float | None = None


class BaseEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str
    t: float = 0.0

    def to_json(self) -> str:
        # Nulls stay: consumers rely on keys such as verdict.winner being present when null.
        return self.model_dump_json()


class RunStarted(BaseEvent):
    type: Literal["run_started"] = "run_started"
    prompt: str
    mode: Literal["role", "ensemble", "workflow"]
    target: str
    # The conversation this run is a turn of (None: a one-off run), and the turn's index.
    session: str | None = None
    turn: int | None = None
    # A blind comparison (the ensemble's `blind` flag): the UI hides model names and
    # personas, and the judge's pick, until the person votes. The events still carry them.
    blind: bool = False


class Route(BaseEvent):
    """Which role/model serves a request, and why (rule, default, fallback, ...)."""

    type: Literal["route"] = "route"
    role: str | None = None
    model: str
    reason: str
    member: str | None = None
    category: FailureCategory | None = None


class MemberStarted(BaseEvent):
    type: Literal["member_started"] = "member_started"
    member: str
    model: str
    persona: str | None = None
    role: str | None = None
    attempt: int = 1
    provider: str | None = None
    # Estimated size of what the model must read before its first token (the thread, the
    # proposals a judge compares): panes say "reading 1,240 tokens" instead of looking stuck.
    prompt_tokens: int | None = None


class MemberQueued(BaseEvent):
    """A member waits for a free slot of its provider (``max_parallel`` in the registry):
    ``ahead`` calls start before it. Sent again whenever the queue moves; ``member_started``
    follows when it runs."""

    type: Literal["member_queued"] = "member_queued"
    member: str
    model: str
    provider: str
    ahead: int
    # The provider's limit and how many of its calls run now.
    limit: int
    running: int


class ThreadTrimmed(BaseEvent):
    """A member's view of the conversation was cut to fit its model's context budget:
    the oldest ``dropped`` turns were left out (never the system prompt or this prompt)."""

    type: Literal["thread_trimmed"] = "thread_trimmed"
    member: str
    model: str
    budget_tokens: int
    kept: int
    dropped: int


class Delta(BaseEvent):
    type: Literal["delta"] = "delta"
    member: str
    text: str
    # Reasoning ("thinking") tokens are kept apart from the answer.
    channel: Literal["answer", "thinking"] = "answer"


class Parse(BaseEvent):
    """One parser event for a member's output: format, call, repair, classification."""

    type: Literal["parse"] = "parse"
    member: str
    kind: str
    detail: dict[str, Any] = Field(default_factory=dict)


class MemberFinished(BaseEvent):
    type: Literal["member_finished"] = "member_finished"
    member: str
    model: str
    stats: CallStats
    text: str = ""
    # Why generation stopped, as the server said: "stop", "length" (cut by the token
    # limit), "tool_calls", ... None when the server did not say.
    finish_reason: str | None = None

    @property
    def cut(self) -> bool:
        """The reply was cut by the token limit: complete-looking text that is not."""
        return self.finish_reason == "length"


class MemberFailed(BaseEvent):
    type: Literal["member_failed"] = "member_failed"
    member: str
    model: str
    category: FailureCategory
    message: str


class JudgeStarted(BaseEvent):
    """The judge begins; ``labels`` records the shuffled label -> member permutation.

    With ``debias`` the judge runs twice: a second ``judge_started`` (``order`` "reversed",
    member ``reversed-judge``, or ``<phase>/reversed-judge``) shows the proposals in the
    reverse order of the first pass, each under a new label."""

    type: Literal["judge_started"] = "judge_started"
    member: str = "judge"
    model: str
    labels: dict[str, str]
    order: Literal["shuffled", "reversed"] = "shuffled"


class Verdict(BaseEvent):
    type: Literal["verdict"] = "verdict"
    winner: str | None
    label: str | None
    mode: Literal["pick", "synthesize"]
    # What the judge said of its own certainty (None: it did not say); 0.0 for a fallback
    # choice made because the judge failed or could not be read.
    confidence: float | None
    reason: str
    # Which parse path read the verdict ("json", "winner_line", "fallback", ...).
    parsed_by: str = ""
    # How the judge was asked: "schema", its answer constrained to a JSON schema that admits
    # only the labels it was shown (and the reply was that JSON); "text", free text read by
    # the layered parser. None when no judge answered (a fallback choice).
    via: Literal["schema", "text"] | None = None
    # Where ``confidence`` comes from: "logprob", the probability the judge's model put on
    # the label it chose (among the labels it was shown); "stated", what the judge wrote;
    # None when it is unknown or a fallback's 0.0.
    confidence_source: Literal["logprob", "stated"] | None = None
    # The registry id of the model that judged (after any fallback of the judge's chain).
    judge_model: str | None = None
    # Debiased judging (the ensemble's `debias`): whether the pass with the proposals in
    # reverse order picked the same member. False lowers ``confidence``; None: not checked
    # (no debias, a synthesis, or a pass that could not be read).
    position_consistent: bool | None = None
    # What the reversed pass picked (member and label), when it ran and could be read.
    reversed_winner: str | None = None
    reversed_label: str | None = None


class PhaseStarted(BaseEvent):
    type: Literal["phase_started"] = "phase_started"
    phase: str
    phase_type: str


class PhaseFinished(BaseEvent):
    type: Literal["phase_finished"] = "phase_finished"
    phase: str
    status: Literal["ok", "partial", "failed", "cancelled"]


class RunFinished(BaseEvent):
    type: Literal["run_finished"] = "run_finished"
    status: Literal["ok", "partial", "failed", "cancelled"]
    message: str | None = None
    # The turn's answer, what a follow-up sees: the routed reply, the picked proposal, the
    # judge's synthesis or the last phase's output. None for a failed or cancelled run.
    answer: str | None = None
    # Who wrote it: a member id ("m2", "coder", "plan/m1"), or "judge" for a synthesis.
    answer_from: str | None = None


Event = Annotated[
    RunStarted
    | Route
    | MemberQueued
    | MemberStarted
    | ThreadTrimmed
    | Delta
    | Parse
    | MemberFinished
    | MemberFailed
    | JudgeStarted
    | Verdict
    | PhaseStarted
    | PhaseFinished
    | RunFinished,
    Field(discriminator="type"),
]

_event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def event_from_json(line: str | bytes) -> Event:
    """Read back one JSONL line written by ``BaseEvent.to_json``."""
    return _event_adapter.validate_python(json.loads(line))


def event_from_dict(data: dict[str, Any]) -> Event:
    return _event_adapter.validate_python(data)
