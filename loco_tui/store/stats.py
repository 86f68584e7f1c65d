"""Per (model, role) figures over the stored history: the local leaderboard.

- ``calls``: every finished attempt; ``success_rate`` = ok / (ok + failed), since a call
  cancelled by the user or cut by a crash says nothing about the model.
- Latency figures are over successful calls: median and p90 of the duration (p90 by linear
  interpolation between the closest ranks), median time to first token, median tokens/s.
  None when no call reported the figure.
- Wins, losses and ties come from verdicts, judge and human kept apart. A pick: the
  winner's (model, role) wins, every other compared member that produced a proposal loses.
  A synthesis picks nobody: it is a tie for every member compared, and so is a person's tie
  vote (``=``); a person's "all bad" (``0``) is a loss for every member compared. A judge
  verdict that is a fallback (the judge failed, or its verdict was unreadable, or only one
  proposal was left) judged nothing and is not counted. A person's new vote replaces their
  last on the same proposals, so every stored human verdict counts. (The head-to-head
  leaderboard, with ratings, is ``leaderboard.py``.)
"""

from __future__ import annotations

import json
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
    failures: dict[str, int] = field(default_factory=dict)
    durations: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    tallies: dict[str, list[int]] = field(
        default_factory=lambda: {"judge": [0, 0, 0], "human": [0, 0, 0]})


_RESULT_INDEX = {"win": 0, "loss": 1, "tie": 2}


async def compute_stats(db: Database, since: float | None = None,
                        role: str | None = None) -> list[ModelStats]:
    """Figures per (model, role), busiest first. ``since``: runs started at or after this
    Unix time; ``role``: calls made in that role only.

    Everything is counted by SQLite from covering indexes; only the figures whose medians
    are needed come back, one JSON array per (model, role).
    """
    acc: dict[Key, _Acc] = defaultdict(_Acc)
    where, params = _filters("c.run_id", "c.role", since, role)
    for model, call_role, outcome, category, count in await db.fetchall(
        "SELECT c.model, c.role, c.outcome, c.category, count(*) FROM calls c "
        f"WHERE c.outcome IS NOT NULL {where} GROUP BY 1, 2, 3, 4", params):
        a = acc[(model, call_role)]
        a.calls += count
        if outcome == "ok":
            a.ok += count
        elif outcome == "failed":
            a.failed += count
            key = category or "unknown"
            a.failures[key] = a.failures.get(key, 0) + count
    for model, call_role, durations, ttfts, rates in await db.fetchall(
        "SELECT c.model, c.role, json_group_array(c.duration_s), json_group_array(c.ttft_s), "
        "json_group_array(c.tokens_per_s) FROM calls c "
        f"WHERE c.outcome = 'ok' {where} GROUP BY 1, 2", params):
        a = acc[(model, call_role)]
        a.durations = _known(durations)
        a.ttfts = _known(ttfts)
        a.rates = _known(rates)
    where, params = _filters("v.run_id", "m.role", since, role)
    for model, call_role, by, result, count in await db.fetchall(
        "SELECT m.model, m.role, v.by, m.result, count(*) "
        "FROM verdict_members m JOIN verdicts v ON v.id = m.verdict_id "
        "WHERE ((v.by = 'judge' AND (v.mode = 'synthesize' OR v.label IS NOT NULL)) "
        "   OR v.by = 'human') "
        f"{where} GROUP BY 1, 2, 3, 4", params):
        acc[(model, call_role)].tallies[by][_RESULT_INDEX[result]] += count
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


def _known(values: str) -> list[float]:
    return [float(v) for v in json.loads(values) if v is not None]


def _filters(run_column: str, role_column: str, since: float | None,
             role: str | None) -> tuple[str, tuple[object, ...]]:
    clauses: list[str] = []
    params: list[object] = []
    if since is not None:
        clauses.append(f"AND {run_column} IN (SELECT id FROM runs WHERE started_at >= ?)")
        params.append(since)
    if role is not None:
        clauses.append(f"AND {role_column} = ?")
        params.append(role)
    return " ".join(clauses), tuple(params)
