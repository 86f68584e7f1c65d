"""The judge of an ensemble: one pass, or two with the order reversed, and the verdict.

A pass shows the judge the proposals under neutral labels (``judge.build_brief``), asks for
an answer constrained to the verdict's JSON schema where the provider can (``Structured``),
and reads the verdict: which label won, the confidence (the probability the judge's model put
on that label when the server returned token probabilities, else what the judge stated), and
how it was read (``via`` "schema" or "text", ``parsed_by``).

With ``debias`` a second pass shows the proposals in the reverse order, each under a new
label. Both passes picking the same member is a consistent verdict (confidence: the mean of
the two); different picks are a position inconsistency: the first pass still gives the run
its answer (the second only checks it) with half its confidence, and the verdict says what
the reversed pass picked, so the store can count the inconsistency against the judge's model
and the leaderboard can score the two picks as a tie. A reversed pass that fails or cannot
be read leaves consistency unknown.

When the judge fails, copies the brief's example or cannot be read, the verdict is a visible
fallback (the first proposal to finish, confidence 0) and the run is ``partial``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from loco_tui.events import JudgeStarted, Verdict
from loco_tui.orchestrator.context import RunContext
from loco_tui.orchestrator.judge import (
    Brief,
    FenceFilter,
    build_brief,
    copies_example,
    reversed_labels,
)
from loco_tui.orchestrator.member import Budget, MemberOutcome, MemberSpec, stream_member
from loco_tui.orchestrator.thread import Exchange
from loco_tui.orchestrator.verdict_format import (
    label_confidence,
    matches_schema,
    top_logprobs_for,
    verdict_schema,
)
from loco_tui.parser import VerdictParse, parse_verdict
from loco_tui.providers.base import Structured
from loco_tui.providers.pool import ModelTarget
from loco_tui.registry.schema import EnsembleConfig

Via = Literal["schema", "text"]
Source = Literal["logprob", "stated"]


@dataclass(frozen=True)
class Judgement:
    """What the judge decided, for the run: the answer and who wrote it (a member, or the
    judge for a synthesis); ``fallback`` when the judge decided nothing."""

    answer: str
    answer_from: str
    fallback: bool = False


@dataclass(frozen=True)
class _Pass:
    """One pass of the judge, read."""

    labels: dict[str, str]
    outcome: MemberOutcome
    verdict: VerdictParse | None = None
    via: Via | None = None
    confidence: float | None = None
    source: Source | None = None
    copied: bool = False

    @property
    def winner(self) -> str | None:
        """The member picked (None: a synthesis, or no readable pick)."""
        if self.verdict is None or self.verdict.mode != "pick" or self.copied:
            return None
        label = self.verdict.label
        return self.labels.get(label) if label is not None else None


async def judge_ensemble(
    ctx: RunContext,
    chain: list[ModelTarget],
    ens: EnsembleConfig,
    prompt: str,
    survivors: list[MemberOutcome],
    budget: Budget,
    prefix: str = "",
    history: Sequence[Exchange] = (),
    notes: Mapping[str, str] | None = None,
) -> Judgement:
    """Judge ``survivors`` (two or more proposals) and emit the ``verdict``. ``notes``:
    what Loco found of a proposal (member id -> text), shown after its fence."""
    assert ens.judge is not None
    proposals = {o.member: o.text for o in survivors}
    by_member = {o.member: o for o in survivors}
    first = _pass_brief(prompt, proposals, ens, ctx, history, None, notes)
    one = await _judge_pass(ctx, chain, ens, first, budget, f"{prefix}judge", "shuffled")
    # Fallback choice when the judge fails or is unreadable: the first proposal to finish.
    earliest = min(survivors, key=lambda o: o.finished_at)
    unreadable = _unreadable(one, earliest.member)
    if unreadable is not None:
        ctx.emit(Verdict, winner=earliest.member, label=None, mode="pick", confidence=0.0,
                 reason=unreadable[1], parsed_by=unreadable[0], judge_model=one.outcome.model,
                 via=one.via)
        return Judgement(earliest.text, earliest.member, fallback=True)
    assert one.verdict is not None
    if one.verdict.mode == "synthesize":
        ctx.emit(Verdict, winner=None, label=None, mode="synthesize",
                 confidence=one.confidence, reason=one.verdict.reason,
                 parsed_by=one.verdict.parsed_by, via=one.via, confidence_source=one.source,
                 judge_model=one.outcome.model)
        return Judgement(one.verdict.synthesis or one.outcome.text, one.outcome.member)
    winner = one.winner
    assert winner is not None
    two: _Pass | None = None
    if ens.debias:
        second = _pass_brief(prompt, proposals, ens, ctx, history,
                             reversed_labels(first.labels), notes)
        two = await _judge_pass(ctx, chain, ens, second, budget, f"{prefix}reversed-judge",
                                "reversed")
    fields = _combined(one, two)
    ctx.emit(Verdict, mode="pick", parsed_by=one.verdict.parsed_by, via=one.via,
             judge_model=one.outcome.model, **fields)
    chosen = fields["winner"]
    assert isinstance(chosen, str)
    return Judgement(by_member[chosen].text, chosen)


def _pass_brief(prompt: str, proposals: dict[str, str], ens: EnsembleConfig, ctx: RunContext,
                history: Sequence[Exchange], labels: dict[str, str] | None,
                notes: Mapping[str, str] | None) -> Brief:
    return build_brief(prompt, proposals, ens.verdict, ctx.rng, history=history, labels=labels,
                       notes=notes)


async def _judge_pass(
    ctx: RunContext,
    chain: list[ModelTarget],
    ens: EnsembleConfig,
    brief: Brief,
    budget: Budget,
    member: str,
    order: Literal["shuffled", "reversed"],
) -> _Pass:
    assert ens.judge is not None
    labels = brief.labels
    schema = verdict_schema(list(labels), ens.verdict)
    structured = None
    if schema is not None and brief.structured is not None:
        structured = Structured(schema, "verdict", top_logprobs_for(list(labels)))
    ctx.emit(JudgeStarted, member=member, model=chain[0].model_id, labels=labels, order=order)
    judged = await stream_member(
        ctx,
        MemberSpec(member=member, chain=chain, conversation=brief.conversation, role=ens.judge,
                   display=FenceFilter, structured=structured,
                   structured_conversation=brief.structured),
        budget=budget,
    )
    if not judged.ok:
        return _Pass(labels, judged)
    via: Via = "schema" if (schema is not None and judged.structured
                            and matches_schema(judged.text.strip(), schema)) else "text"
    verdict = parse_verdict(judged.text, list(labels))
    copied = copies_example(judged.text)
    confidence = verdict.stated_confidence
    source: Source | None = "stated" if confidence is not None else None
    if verdict.mode == "pick" and verdict.label in labels and judged.logprobs:
        measured = label_confidence(judged.logprobs, list(labels), verdict.label)
        if measured is not None:
            confidence, source = round(measured, 4), "logprob"
    return _Pass(labels, judged, verdict, via, confidence, source, copied)


def _unreadable(one: _Pass, fallback: str) -> tuple[str, str] | None:
    """(parsed_by, reason) of a pass that decided nothing, else None."""
    if not one.outcome.ok:
        return ("judge_failed", f"judge failed ({one.outcome.category}); fell back to the "
                f"first finished proposal, {fallback}")
    if one.copied:
        return ("copied_example", "the judge copied the example verdict from its instructions "
                f"instead of deciding; fell back to the first finished proposal, {fallback}")
    verdict = one.verdict
    assert verdict is not None
    if verdict.mode == "pick" and one.winner is None:
        return (verdict.parsed_by or "none", "the judge's verdict could not be read; fell "
                f"back to the first finished proposal, {fallback}")
    return None


def _combined(one: _Pass, two: _Pass | None) -> dict[str, object]:
    """The verdict's fields from the first pass and, when debiased, the reversed one."""
    assert one.verdict is not None and one.winner is not None
    fields: dict[str, object] = {
        "winner": one.winner, "label": one.verdict.label, "confidence": one.confidence,
        "confidence_source": one.source, "reason": one.verdict.reason,
    }
    if two is None:
        return fields
    if two.winner is None:
        what = "failed" if not two.outcome.ok else "could not be read"
        fields["reason"] = f"{one.verdict.reason} (the pass with the order reversed {what})"
        return fields
    assert two.verdict is not None
    fields.update(reversed_winner=two.winner, reversed_label=two.verdict.label)
    if two.winner == one.winner:
        known = [c for c in (one.confidence, two.confidence) if c is not None]
        fields.update(position_consistent=True,
                      confidence=round(sum(known) / len(known), 4) if known else None,
                      confidence_source=one.source or two.source)
        return fields
    # The judge followed the order, not the content. The first pass still gives the run
    # its answer (the second only checks it), with half the confidence.
    halved = None if one.confidence is None else round(one.confidence / 2, 4)
    fields.update(
        position_consistent=False, confidence=halved,
        reason=f"{one.verdict.reason} (position inconsistency: with the proposals in the "
        f"reverse order the judge picked {two.winner}; confidence halved)",
    )
    return fields
