"""Per (model, role) figures over the stored history: the local leaderboard.

- ``calls``: every finished attempt; ``success_rate`` = ok / (ok + failed), since a call
  cancelled by the user or cut by a crash says nothing about the model.
- Latency figures are over successful calls: median and p90 of the duration (p90 by linear
  interpolation between the closest ranks), median time to first token, median tokens/s.
  None when no call reported the figure.
- Wins, losses and ties come from verdicts, judge and human kept apart. A pick: the
  winner's (model, role) wins, every other compared member that produced a proposal loses.
  A synthesis picks nobody: it is a tie for every member compared. A judge verdict that is
  a fallback (the judge failed, or its verdict was unreadable, or only one proposal was
  left) judged nothing and is not counted. Of several human verdicts on one run, the last
  one counts.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from loco_tui.store.db import Database
from loco_tui.store.records import ModelStats, Tally

Key = tuple[str, str | None]


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1), interpolating linearly between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass
class _Acc:
    calls: int = 0
    ok: int = 0
    failed: int = 0
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    durations: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    tallies: dict[str, list[int]] = field(
        default_factory=lambda: {"judge": [0, 0, 0], "human": [0, 0, 0]})


async def compute_stats(db: Database, since: float | None = None,
                        role: str | None = None) -> list[ModelStats]:
    """Figures per (model, role), busiest first. ``since``: runs started at or after this
    Unix time; ``role``: calls made in that role only."""
    where, params = _filters(since, role)
    acc: dict[Key, _Acc] = defaultdict(_Acc)
    rows = await db.fetchall(
        "SELECT c.model, c.role, c.outcome, c.category, c.duration_s, c.ttft_s, "
        "c.tokens_per_s FROM calls c JOIN runs r ON r.id = c.run_id "
        f"WHERE c.outcome IS NOT NULL {where}", params)
    for model, call_role, outcome, category, duration, ttft, rate in rows:
        a = acc[(model, call_role)]
        a.calls += 1
        if outcome == "ok":
            a.ok += 1
            if duration is not None:
                a.durations.append(duration)
            if ttft is not None:
                a.ttfts.append(ttft)
            if rate is not None:
                a.rates.append(rate)
        elif outcome == "failed":
            a.failed += 1
            a.failures[category or "unknown"] += 1
    for by, mode, winner, member, model, call_role in await db.fetchall(
        "SELECT v.by, v.mode, v.winner, j.value, c.model, c.role "
        "FROM verdicts v JOIN runs r ON r.id = v.run_id, json_each(v.candidates) j "
        "JOIN calls c ON c.run_id = v.run_id AND c.member = j.value AND c.outcome = 'ok' "
        "WHERE ((v.by = 'judge' AND (v.mode = 'synthesize' OR v.label IS NOT NULL)) "
        "   OR (v.by = 'human' AND v.id = (SELECT max(h.id) FROM verdicts h "
        "                                 WHERE h.run_id = v.run_id AND h.by = 'human'))) "
        f"{where}", params):
        tally = acc[(model, call_role)].tallies[by]
        if mode == "synthesize":
            tally[2] += 1
        elif member == winner:
            tally[0] += 1
        else:
            tally[1] += 1
    out = [
        ModelStats(
            model=model, role=call_role, calls=a.calls, ok=a.ok, failed=a.failed,
            success_rate=a.ok / (a.ok + a.failed) if a.ok + a.failed else None,
            failures=dict(sorted(a.failures.items(), key=lambda kv: (-kv[1], kv[0]))),
            median_s=_median(a.durations), p90_s=percentile(a.durations, 0.9),
            median_ttft_s=_median(a.ttfts), median_tokens_per_s=_median(a.rates),
            judge=Tally(*a.tallies["judge"]), human=Tally(*a.tallies["human"]),
        )
        for (model, call_role), a in acc.items()
    ]
    out.sort(key=lambda s: (-s.calls, s.model, s.role or ""))
    return out


def _filters(since: float | None, role: str | None) -> tuple[str, tuple[object, ...]]:
    clauses: list[str] = []
    params: list[object] = []
    if since is not None:
        clauses.append("AND r.started_at >= ?")
        params.append(since)
    if role is not None:
        clauses.append("AND c.role = ?")
        params.append(role)
    return " ".join(clauses), tuple(params)
