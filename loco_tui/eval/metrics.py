"""The figures of an eval, per strategy and between strategies.

Per strategy, over its finished cases (a cancelled case counts nowhere; a run that failed
counts as not right: the user got no answer):

- accuracy, with its 95% Wilson interval;
- median and p90 latency (seconds, over runs that gave an answer);
- mean tokens in and out per case (every call of the run, the judge's too);
- outcomes that were not right, by category (``wrong``, ``missing``, ``cut``, a failure).

For an ensemble, from its members' own proposals, graded like answers:

- oracle accuracy: at least one member was right (the best a perfect judge could do);
- judge accuracy: among cases where a member was right and the judge picked, how often
  it picked a right one (a fallback choice after a failed or unreadable judge counts: it is
  the answer the user got; a lone survivor does not: nothing was judged);
- synthesis kept / rescue: among synthesised cases, right when a member was right / right
  when no member was;
- judge position consistency (debiased runs): the reversed pass picked the same member;
  below one half the judge is flagged as following the order, not the content (a judge that
  always picks label A is never consistent; one choosing at random among three is about a
  third of the time);
- proposal similarity: mean pairwise token Jaccard, and the members it is worth.

Between every two strategies, on the (case, repeat) pairs both finished: McNemar's exact
test on the discordant pairs says whether a difference in accuracy is more than noise.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from loco_tui.eval.results import RIGHT, CaseResult, EvalResult
from loco_tui.eval.stats import effective_members, mcnemar_exact, median, percentile, wilson

# Below this share of consistent verdicts a judge is following position, not content.
CONSISTENCY_FLOOR = 0.5
SIGNIFICANCE = 0.05


@dataclass(frozen=True, slots=True)
class Rate:
    """``k`` of ``n``, with the 95% Wilson interval."""

    k: int
    n: int

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.k, self.n)

    def to_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {"k": self.k, "n": self.n, "value": self.value,
                "low": None if interval is None else interval[0],
                "high": None if interval is None else interval[1]}


def rate(flags: list[bool]) -> Rate:
    return Rate(sum(flags), len(flags))


@dataclass(frozen=True, slots=True)
class MemberAccuracy:
    member: str
    persona: str | None
    model: str | None
    accuracy: Rate

    @property
    def name(self) -> str:
        return f"{self.member} ({self.persona})" if self.persona else self.member

    def to_dict(self) -> dict[str, Any]:
        return {"member": self.member, "persona": self.persona, "model": self.model,
                "accuracy": self.accuracy.to_dict()}


@dataclass(frozen=True, slots=True)
class EnsembleMetrics:
    oracle: Rate
    judge_accuracy: Rate
    judge_fallbacks: int
    # What the verdicts were: "pick" (the judge picked), "synthesis", "fallback" (the judge
    # failed or could not be read: the first finished proposal), "lone" (one survivor).
    verdicts: dict[str, int]
    synthesis_kept: Rate
    synthesis_rescue: Rate
    position_consistency: Rate
    similarity: float | None
    effective_members: float | None
    members: tuple[MemberAccuracy, ...]

    @property
    def position_inconsistent(self) -> bool:
        """Flagged: the debiased judge mostly changed its pick when the order changed."""
        value = self.position_consistency.value
        return value is not None and value < CONSISTENCY_FLOOR

    @property
    def best_member(self) -> MemberAccuracy | None:
        rated = [m for m in self.members if m.accuracy.n]
        return max(rated, key=lambda m: m.accuracy.value or 0.0) if rated else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "oracle": self.oracle.to_dict(), "judge_accuracy": self.judge_accuracy.to_dict(),
            "judge_fallbacks": self.judge_fallbacks, "verdicts": dict(self.verdicts),
            "synthesis_kept": self.synthesis_kept.to_dict(),
            "synthesis_rescue": self.synthesis_rescue.to_dict(),
            "position_consistency": self.position_consistency.to_dict(),
            "position_inconsistent": self.position_inconsistent,
            "similarity": self.similarity, "effective_members": self.effective_members,
            "members": [m.to_dict() for m in self.members],
        }


@dataclass(frozen=True, slots=True)
class StrategySummary:
    strategy: str
    accuracy: Rate
    median_s: float | None
    p90_s: float | None
    tokens_in: float | None
    tokens_out: float | None
    # Outcomes that were not right, by category, most frequent first.
    misses: dict[str, int] = field(default_factory=dict)
    cancelled: int = 0
    ensemble: EnsembleMetrics | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy, "accuracy": self.accuracy.to_dict(),
            "median_s": self.median_s, "p90_s": self.p90_s,
            "tokens_in_per_case": self.tokens_in, "tokens_out_per_case": self.tokens_out,
            "misses": dict(self.misses), "cancelled": self.cancelled,
            "ensemble": None if self.ensemble is None else self.ensemble.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Strategy ``a`` against ``b`` on the cases both finished."""

    a: str
    b: str
    pairs: int
    both: int
    only_a: int
    only_b: int
    neither: int
    p_value: float

    @property
    def significant(self) -> bool:
        return self.only_a + self.only_b > 0 and self.p_value < SIGNIFICANCE

    @property
    def better(self) -> str | None:
        """The strategy that was right more often, when that is more than noise."""
        if not self.significant:
            return None
        return self.a if self.only_a > self.only_b else self.b

    @property
    def conclusion(self) -> str:
        if self.pairs == 0:
            return "no case finished by both"
        if self.only_a + self.only_b == 0:
            return "same cases right: no difference seen"
        if self.better is not None:
            return f"{self.better} is better: more than noise (p = {self.p_value:.3f})"
        return f"difference within noise (p = {self.p_value:.2f})"

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "pairs": self.pairs, "both": self.both,
                "only_a": self.only_a, "only_b": self.only_b, "neither": self.neither,
                "p_value": self.p_value, "significant": self.significant,
                "better": self.better, "conclusion": self.conclusion}


@dataclass(frozen=True, slots=True)
class EvalSummary:
    result: EvalResult
    strategies: tuple[StrategySummary, ...]
    comparisons: tuple[PairedComparison, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(),
                "summary": [s.to_dict() for s in self.strategies],
                "comparisons": [c.to_dict() for c in self.comparisons]}


def summarise(result: EvalResult, ensembles: frozenset[str] | None = None) -> EvalSummary:
    """Every figure of ``result``. ``ensembles``: the strategies to give ensemble figures
    (default: those whose cases carry member grades)."""
    summaries = []
    for strategy in result.strategies:
        cases = result.of(strategy)
        is_ensemble = (strategy in ensembles if ensembles is not None
                       else any(c.members for c in cases))
        summaries.append(summarise_strategy(strategy, cases, ensemble=is_ensemble))
    comparisons = tuple(compare(result.of(a), result.of(b), a, b)
                        for a, b in combinations(result.strategies, 2))
    return EvalSummary(result, tuple(summaries), comparisons)


def summarise_strategy(strategy: str, cases: list[CaseResult], *,
                       ensemble: bool = False) -> StrategySummary:
    finished = [c for c in cases if c.finished]
    latencies = [c.latency_s for c in finished if c.answered and c.latency_s is not None]
    misses = Counter(c.outcome for c in finished if c.outcome != RIGHT)
    return StrategySummary(
        strategy=strategy,
        accuracy=rate([c.right for c in finished]),
        median_s=median(latencies),
        p90_s=percentile(latencies, 0.9),
        tokens_in=_mean([c.tokens_in for c in finished]),
        tokens_out=_mean([c.tokens_out for c in finished]),
        misses=dict(sorted(misses.items(), key=lambda kv: (-kv[1], kv[0]))),
        cancelled=len(cases) - len(finished),
        ensemble=ensemble_metrics(finished) if ensemble else None,
    )


def ensemble_metrics(cases: list[CaseResult]) -> EnsembleMetrics:
    """The ensemble figures over finished cases (see the module docstring)."""
    some_right = [any(m.right for m in c.members) for c in cases]
    picks = [c for c, any_right in zip(cases, some_right, strict=True)
             if any_right and c.verdict is not None and c.verdict.mode == "pick"
             and not c.verdict.single_survivor]
    synthesised = [(c, any_right) for c, any_right in zip(cases, some_right, strict=True)
                   if c.verdict is not None and c.verdict.mode == "synthesize"]
    checked = [c.verdict.position_consistent for c in cases
               if c.verdict is not None and c.verdict.position_consistent is not None]
    similar = [c for c in cases if c.similarity is not None]
    similarity = (sum(c.similarity for c in similar if c.similarity is not None) / len(similar)
                  if similar else None)
    worth = [effective_members(sum(m.right is not None for m in c.members), c.similarity)
             for c in similar if c.similarity is not None]
    return EnsembleMetrics(
        oracle=rate(some_right),
        judge_accuracy=rate([c.right for c in picks]),
        judge_fallbacks=sum(1 for c in cases if c.verdict is not None and c.verdict.fallback),
        verdicts=_verdict_kinds(cases),
        synthesis_kept=rate([c.right for c, any_right in synthesised if any_right]),
        synthesis_rescue=rate([c.right for c, any_right in synthesised
                               if not any_right and any(m.right is not None
                                                        for m in c.members)]),
        position_consistency=rate([bool(flag) for flag in checked]),
        similarity=similarity,
        effective_members=sum(worth) / len(worth) if worth else None,
        members=_member_accuracy(cases),
    )


def _verdict_kinds(cases: list[CaseResult]) -> dict[str, int]:
    kinds: Counter[str] = Counter()
    for case in cases:
        v = case.verdict
        if v is None:
            continue
        kinds["lone" if v.single_survivor else "fallback" if v.fallback
              else "synthesis" if v.mode == "synthesize" else "pick"] += 1
    order = ("pick", "synthesis", "fallback", "lone")
    return {kind: kinds[kind] for kind in order if kinds[kind]}


def _member_accuracy(cases: list[CaseResult]) -> tuple[MemberAccuracy, ...]:
    """Each member's own accuracy; a member that failed was not right."""
    seen: dict[str, tuple[str | None, str | None, list[bool]]] = {}
    for case in cases:
        for m in case.members:
            seen.setdefault(m.member, (m.persona, m.model, []))[2].append(bool(m.right))
    return tuple(MemberAccuracy(member, persona, model, rate(flags))
                 for member, (persona, model, flags) in seen.items())


def compare(a_cases: list[CaseResult], b_cases: list[CaseResult], a: str,
            b: str) -> PairedComparison:
    """McNemar's exact test of ``a`` against ``b`` over the cases both finished."""
    a_right = {c.key: c.right for c in a_cases if c.finished}
    b_right = {c.key: c.right for c in b_cases if c.finished}
    keys = [k for k in a_right if k in b_right]
    both = sum(1 for k in keys if a_right[k] and b_right[k])
    only_a = sum(1 for k in keys if a_right[k] and not b_right[k])
    only_b = sum(1 for k in keys if b_right[k] and not a_right[k])
    return PairedComparison(a, b, len(keys), both, only_a, only_b,
                            len(keys) - both - only_a - only_b, mcnemar_exact(only_a, only_b))


def _mean(values: list[int | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None
