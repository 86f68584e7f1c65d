"""What an eval found: one ``CaseResult`` per (case, strategy, repeat), and the whole
``EvalResult``. Plain frozen values with a JSON shape (``to_dict``/``from_dict``): the same
shape is stored in each run's ``eval_tag`` and printed by ``loco eval --json``.

A case's ``outcome`` is one word:

- ``right``, ``wrong``, ``missing``: the answer's grade (``missing``: nothing of the
  expected form, such as no number at all);
- ``cut``: not right, and the answer stopped at the model's token limit;
- a ``FailureCategory`` (``timeout_first_token``, ``empty``, ...) or ``run_failed``: the
  run produced no answer;
- ``cancelled``: the eval was stopped during this case; it counts nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

RIGHT = "right"
CANCELLED = "cancelled"
# Outcomes with an answer that was graded.
GRADED = frozenset({"right", "wrong", "missing", "cut"})


@dataclass(frozen=True, slots=True)
class MemberGrade:
    """One ensemble member's own proposal, graded as if it were the answer."""

    member: str
    persona: str | None
    model: str | None
    # None: the member produced no proposal (it failed).
    right: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {"member": self.member, "persona": self.persona, "model": self.model,
                "right": self.right}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemberGrade:
        return cls(str(data["member"]), _opt_str(data.get("persona")),
                   _opt_str(data.get("model")), _opt_bool(data.get("right")))


@dataclass(frozen=True, slots=True)
class VerdictNote:
    """What the judge of an ensemble did, as far as the metrics care."""

    mode: Literal["pick", "synthesize"]
    winner: str | None
    # The judge decided (a labelled pick, or a synthesis); False for a fallback choice
    # (judge failed or unreadable) and for a lone survivor (nothing to judge).
    judged: bool
    single_survivor: bool = False
    # Debiased: whether the reversed pass picked the same member (None: not checked).
    position_consistent: bool | None = None

    @property
    def fallback(self) -> bool:
        return not self.judged and not self.single_survivor

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "winner": self.winner, "judged": self.judged,
                "single_survivor": self.single_survivor,
                "position_consistent": self.position_consistent}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VerdictNote:
        mode: Literal["pick", "synthesize"] = (
            "synthesize" if data.get("mode") == "synthesize" else "pick")
        return cls(mode, _opt_str(data.get("winner")), bool(data.get("judged")),
                   bool(data.get("single_survivor")),
                   _opt_bool(data.get("position_consistent")))


@dataclass(frozen=True, slots=True)
class CaseResult:
    strategy: str
    case: str
    repeat: int
    run_id: str | None
    outcome: str
    detail: str = ""
    # Seconds from the run's start to its end; tokens summed over every call of the run
    # (members and judge). None when unknown.
    latency_s: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    members: tuple[MemberGrade, ...] = ()
    verdict: VerdictNote | None = None
    # Mean pairwise token Jaccard of the members' proposals (None: fewer than two).
    similarity: float | None = None

    @property
    def right(self) -> bool:
        return self.outcome == RIGHT

    @property
    def finished(self) -> bool:
        """The case ran to the end (cancelled cases count nowhere)."""
        return self.outcome != CANCELLED

    @property
    def answered(self) -> bool:
        return self.outcome in GRADED

    @property
    def key(self) -> tuple[str, int]:
        """What pairs this result with another strategy's on the same question."""
        return (self.case, self.repeat)

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy, "case": self.case, "repeat": self.repeat,
            "run_id": self.run_id, "outcome": self.outcome, "detail": self.detail,
            "latency_s": self.latency_s, "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out, "members": [m.to_dict() for m in self.members],
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "similarity": self.similarity,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        verdict = data.get("verdict")
        return cls(
            strategy=str(data["strategy"]), case=str(data["case"]),
            repeat=int(data.get("repeat", 0)), run_id=_opt_str(data.get("run_id")),
            outcome=str(data["outcome"]), detail=str(data.get("detail") or ""),
            latency_s=_opt_float(data.get("latency_s")),
            tokens_in=_opt_int(data.get("tokens_in")),
            tokens_out=_opt_int(data.get("tokens_out")),
            members=tuple(MemberGrade.from_dict(m) for m in data.get("members") or ()),
            verdict=VerdictNote.from_dict(verdict) if isinstance(verdict, dict) else None,
            similarity=_opt_float(data.get("similarity")),
        )


@dataclass(frozen=True, slots=True)
class EvalResult:
    """One eval: its plan and every case result so far, in the order they ran."""

    eval_id: str
    suite: str
    strategies: tuple[str, ...]
    # The suite's case ids in order (a stored eval knows those that ran), and how many
    # cases the suite has.
    cases: tuple[str, ...]
    n_cases: int
    repeat: int
    started_at: float
    finished_at: float | None
    results: tuple[CaseResult, ...] = ()
    suite_path: str | None = None
    # Stopped before every planned case ran (Ctrl+C): the figures cover what finished.
    stopped: bool = False
    # Extra facts for the report's header (the registry used, the seed, ...).
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def planned(self) -> int:
        return len(self.strategies) * self.n_cases * self.repeat

    @property
    def done(self) -> int:
        return sum(1 for r in self.results if r.finished)

    @property
    def partial(self) -> bool:
        return self.stopped or self.done < self.planned

    def of(self, strategy: str) -> list[CaseResult]:
        return [r for r in self.results if r.strategy == strategy]

    def to_dict(self) -> dict[str, Any]:
        return {
            "eval_id": self.eval_id, "suite": self.suite, "suite_path": self.suite_path,
            "strategies": list(self.strategies), "cases": list(self.cases),
            "n_cases": self.n_cases, "repeat": self.repeat, "started_at": self.started_at,
            "finished_at": self.finished_at, "planned": self.planned, "done": self.done,
            "partial": self.partial, "stopped": self.stopped, "notes": dict(self.notes),
            "results": [r.to_dict() for r in self.results],
        }


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
