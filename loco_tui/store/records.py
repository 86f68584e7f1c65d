"""What the read side returns: plain frozen values, one per stored concept.

Times are Unix seconds (floats); ``to_dict()`` gives the JSON shape used by ``--json``
output and exports (times as ISO 8601 strings in UTC). Unknown figures are None.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

RunStatus = Literal["running", "ok", "partial", "failed", "cancelled", "interrupted"]
CallOutcome = Literal["ok", "failed", "cancelled", "interrupted"]


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One line of the history list."""

    id: str
    title: str | None
    first_prompt: str | None
    # Registry model ids that answered in this session, sorted.
    models: tuple[str, ...]
    created_at: float
    updated_at: float
    # The status of the newest turn.
    last_status: RunStatus | None
    turns: int

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["models"] = list(self.models)
        out["created_at"] = iso(self.created_at)
        out["updated_at"] = iso(self.updated_at)
        return out


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run (a turn of its session)."""

    id: str
    session_id: str
    turn: int
    prompt: str
    mode: str
    target: str
    status: RunStatus
    started_at: float
    finished_at: float | None
    duration_s: float | None
    # The answer a follow-up sees: the run's own, or the proposal a person chose.
    answer: str | None
    answer_from: str | None
    message: str | None
    eval_tag: str | None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = iso(self.started_at)
        out["finished_at"] = iso(self.finished_at)
        return out


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One attempt of one member on one model (a fallback is a second attempt)."""

    member: str
    attempt: int
    role: str | None
    model: str
    provider: str | None
    persona: str | None
    tokens_in: int | None
    tokens_out: int | None
    ttft_s: float | None
    tokens_per_s: float | None
    gen_s: float | None
    duration_s: float | None
    # None while the call streams.
    outcome: CallOutcome | None
    category: str | None
    message: str | None
    finish_reason: str | None
    text: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


VerdictKind = Literal["pick", "tie", "all_bad", "synthesis"]
# What a verdict meant for one member compared: (model, persona, role, result).
MemberResult = tuple[str, str | None, str | None, str]


def outcome_json(results: list[MemberResult]) -> str:
    """A verdict's ``outcome`` column: its members' results as one sorted JSON array
    (sorted as SQLite orders them, NULL first, so equal outcomes are equal strings)."""
    def key(r: MemberResult) -> tuple[object, ...]:
        model, persona, role, result = r
        return (model, persona is not None, persona or "", role is not None, role or "",
                result)

    return json.dumps([list(r) for r in sorted(results, key=key)], ensure_ascii=False,
                      separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    by: Literal["judge", "human"]
    winner: str | None
    label: str | None
    mode: Literal["pick", "synthesize"]
    confidence: float | None
    reason: str
    parsed_by: str | None
    # The members that were compared.
    candidates: tuple[str, ...]
    created_at: float
    # A pick of ``winner``; a person's tie of all candidates (``=``) or "all bad" (``0``,
    # no winner); a judge's synthesis.
    kind: VerdictKind = "pick"
    # The judge's: read from a schema-constrained reply or from text; confidence from
    # token probabilities or as stated; the model that judged; and with debias, whether the
    # reversed pass agreed (None: not checked) and what it picked.
    via: str | None = None
    confidence_source: str | None = None
    judge_model: str | None = None
    position_consistent: bool | None = None
    reversed_winner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["candidates"] = list(self.candidates)
        out["created_at"] = iso(self.created_at)
        return out


@dataclass(frozen=True, slots=True)
class ParseRecord:
    """How the parser read one call's reply: its kind and the tool calls found."""

    member: str
    attempt: int
    kind: str | None
    reason: str | None
    tool_calls: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["tool_calls"] = list(self.tool_calls)
        return out


@dataclass(frozen=True, slots=True)
class RunDetail:
    run: RunRecord
    calls: tuple[CallRecord, ...]
    verdicts: tuple[VerdictRecord, ...]
    parses: tuple[ParseRecord, ...]

    @property
    def final_calls(self) -> dict[str, CallRecord]:
        """Member -> its last attempt."""
        out: dict[str, CallRecord] = {}
        for call in self.calls:
            if call.member not in out or call.attempt > out[call.member].attempt:
                out[call.member] = call
        return out

    @property
    def judge_verdict(self) -> VerdictRecord | None:
        """The last verdict of the run's own judge (a workflow may judge in several phases)."""
        judged = [v for v in self.verdicts if v.by == "judge"]
        return judged[-1] if judged else None

    @property
    def human_verdict(self) -> VerdictRecord | None:
        chosen = [v for v in self.verdicts if v.by == "human"]
        return chosen[-1] if chosen else None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.run.to_dict(),
            "calls": [c.to_dict() for c in self.calls],
            "verdicts": [v.to_dict() for v in self.verdicts],
            "parse_results": [p.to_dict() for p in self.parses],
        }


@dataclass(frozen=True, slots=True)
class Tally:
    """Wins, losses and ties from verdicts (a synthesis is a tie for every proposer)."""

    wins: int = 0
    losses: int = 0
    ties: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ModelStats:
    """What one (model, role) did over the stored history."""

    model: str
    role: str | None
    # Every finished attempt (ok, failed, cancelled, interrupted).
    calls: int
    ok: int
    failed: int
    # ok / (ok + failed): a cancelled or interrupted call says nothing about the model.
    success_rate: float | None
    failures: dict[str, int] = field(default_factory=dict)
    # Over successful calls.
    median_s: float | None = None
    p90_s: float | None = None
    median_ttft_s: float | None = None
    median_tokens_per_s: float | None = None
    judge: Tally = Tally()
    human: Tally = Tally()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["failures"] = dict(self.failures)
        return out
