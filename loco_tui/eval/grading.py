"""From one run's events to a graded ``CaseResult``.

The run's answer (``run_finished.answer``: the routed reply, the picked proposal, the
synthesis, the last phase's output) is what the case's checker grades. For an ensemble each
member's own proposal is graded too, which is what the oracle, judge accuracy and synthesis
rescue figures are made of. The judge's passes are not proposals: their members are the
ones ``judge_started`` names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from loco_tui.eval.checkers import Check
from loco_tui.eval.results import CANCELLED, CaseResult, MemberGrade, VerdictNote
from loco_tui.eval.stats import mean_pairwise_jaccard
from loco_tui.events import (
    Event,
    JudgeStarted,
    MemberFailed,
    MemberFinished,
    MemberStarted,
    RunFinished,
    Verdict,
)

RUN_FAILED = "run_failed"


@dataclass
class _Member:
    persona: str | None = None
    model: str | None = None
    text: str | None = None
    cut: bool = False
    category: str | None = None


@dataclass
class RunCapture:
    """What one run said, read from its events (deltas are not needed: ``member_finished``
    carries each member's whole text)."""

    run_id: str
    status: str | None = None
    answer: str | None = None
    answer_from: str | None = None
    message: str | None = None
    duration_s: float | None = None
    members: dict[str, _Member] = field(default_factory=dict)
    judges: set[str] = field(default_factory=set)
    verdict: Verdict | None = None
    tokens_in: int | None = 0
    tokens_out: int | None = 0
    last_failure: str | None = None

    @classmethod
    def of(cls, run_id: str, events: Iterable[Event]) -> RunCapture:
        capture = cls(run_id)
        for event in events:
            capture.add(event)
        if capture.tokens_out == 0 and not any(
                m.text is not None for m in capture.members.values()):
            capture.tokens_in = capture.tokens_out = None  # nothing finished: unknown
        return capture

    def add(self, event: Event) -> None:
        match event:
            case MemberStarted():
                member = self.members.setdefault(event.member, _Member())
                member.persona, member.model = event.persona, event.model
            case MemberFinished():
                member = self.members.setdefault(event.member, _Member(model=event.model))
                member.text, member.cut, member.category = event.text, event.cut, None
                stats = event.stats
                if self.tokens_in is not None:
                    self.tokens_in = (None if stats.tokens_in is None
                                      else self.tokens_in + stats.tokens_in)
                if self.tokens_out is not None:
                    self.tokens_out += stats.tokens_out
            case MemberFailed():
                member = self.members.setdefault(event.member, _Member(model=event.model))
                member.text, member.category = None, str(event.category)
                self.last_failure = str(event.category)
            case JudgeStarted():
                self.judges.add(event.member)
            case Verdict():
                self.verdict = event
            case RunFinished():
                self.status, self.answer = event.status, event.answer
                self.answer_from, self.message = event.answer_from, event.message
                self.duration_s = event.t
            case _:
                pass

    def proposals(self) -> dict[str, _Member]:
        """The members that are not a judge's pass, in the order they started."""
        return {m: v for m, v in self.members.items() if m not in self.judges}


def grade_run(capture: RunCapture, check: Check, *, strategy: str, case: str,
              repeat: int, ensemble: bool) -> CaseResult:
    """Grade the run's answer (and, for an ensemble, each member's proposal)."""
    members: tuple[MemberGrade, ...] = ()
    verdict: VerdictNote | None = None
    similarity: float | None = None
    if ensemble:
        proposals = capture.proposals()
        members = tuple(
            MemberGrade(member, p.persona, p.model,
                        None if p.text is None else check.grade(p.text).right)
            for member, p in proposals.items())
        similarity = mean_pairwise_jaccard(
            [p.text for p in proposals.values() if p.text is not None])
        verdict = _note(capture.verdict)

    def result(outcome: str, detail: str) -> CaseResult:
        return CaseResult(strategy, case, repeat, capture.run_id, outcome, detail,
                          capture.duration_s, capture.tokens_in, capture.tokens_out,
                          members, verdict, similarity)

    if capture.status == "cancelled" or capture.status is None:
        return result(CANCELLED, capture.message or "cancelled")
    if capture.answer is None:
        return result(capture.last_failure or RUN_FAILED, capture.message or "no answer")
    grade = check.grade(capture.answer)
    author = capture.members.get(capture.answer_from or "")
    if not grade.right and author is not None and author.cut:
        return result("cut", grade.detail)
    return result(grade.kind, grade.detail)


def _note(verdict: Verdict | None) -> VerdictNote | None:
    if verdict is None:
        return None
    judged = verdict.mode == "synthesize" or verdict.label is not None
    return VerdictNote(verdict.mode, verdict.winner, judged,
                       single_survivor=verdict.parsed_by == "single_survivor",
                       position_consistent=verdict.position_consistent)
