"""Which of my models is best: Bradley-Terry ratings from head-to-head outcomes, with 95%
confidence intervals, judge and human verdicts on separate boards, how often the judge agrees
with the person, and how reliable each judge model is.

**Outcomes.** Only head-to-head results count. In a verdict that picks one member, the pick
beats every other member compared (the losers among themselves: no outcome); a tie (a
person's ``=``) is half a win each way between every two members; a position-inconsistent
judge (``debias``: each order picked another member) makes its two picks tie, each ahead of
the rest. A judge's synthesis, a person's "all bad" (``0``) and a judge's fallback choice say
nothing about who is better than whom: no outcome (the human board still counts "all bad"
per model). Two members on the same player (one model with two personas, players by model)
give no outcome either.

**Model** (``bradley_terry.py``). P(i beats j) = 1 / (1 + exp(θj - θi)), fitted by maximum
likelihood (Newton's method), ties as half a win. Every player also has one virtual game
against an anchor of strength 0 that it ties (a weak prior): a model that won all its few
games gets a finite, shrunk rating instead of infinity, and players that never met are still
on one scale. The prior is worth one game, so it fades as games accumulate.

**Ratings** are on the Elo scale people read: 1000 + 400·log10(e)·(θ - mean θ), so 1000 is
the average player and 400 points are 10:1 odds.

**Intervals** are ±1.96 standard errors of each rating (relative to the mean), the wider of
two estimates: the model's own (inverse Fisher information) and the cluster-robust one
(sandwich, clustered by verdict: the outcomes of one judgement are not independent: a pick
among three is two correlated wins). Clustering by judgement is what a bootstrap over runs
measures (tests/compare checks the two agree); in closed form it takes milliseconds where
resampling 100,000 runs hundreds of times in pure Python would take seconds. The wider of
the two keeps a small board honest: the robust estimate alone is too narrow for a model that
has only ever won.

**Too few games** is said, not hidden: a player with fewer than ``min_games`` outcomes is
listed with its rating marked provisional and how many more games it needs; it still takes
part in the fit. Unknown figures are None.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from loco_tui.store.bradley_terry import Outcomes, Player, fit_bradley_terry, pairs_of
from loco_tui.store.db import Database

Board = Literal["judge", "human"]
Players = Literal["model", "model_persona"]

DEFAULT_MIN_GAMES = 10
ELO_SCALE = 400 / math.log(10)
ELO_BASE = 1000.0
Z95 = 1.959963984540054

METHOD = ("Bradley-Terry (maximum likelihood, ties as half a win, a one-game prior toward "
          "the average); 95% intervals from the wider of the Fisher and the cluster-robust "
          "(by verdict) standard errors")


# -- what comes out ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Standing:
    """One player's line on a board."""

    model: str
    persona: str | None
    rating: float | None
    ci_low: float | None
    ci_high: float | None
    games: int
    wins: int
    losses: int
    ties: int
    # Human board: runs where the person rated every proposal bad, this one included.
    all_bad: int
    # Fewer than ``min_games`` outcomes: the rating is shown, marked, with the games needed.
    provisional: bool
    needs: int
    # 1 for the best rated player; None for a provisional one.
    rank: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class BoardResult:
    by: Board
    standings: tuple[Standing, ...]
    # Verdicts that gave at least one head-to-head outcome, and the outcomes.
    verdicts: int
    games: int

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "verdicts": self.verdicts, "games": self.games,
                "standings": [s.to_dict() for s in self.standings]}


@dataclass(frozen=True, slots=True)
class Agreement:
    """On proposals that both the judge and the person picked from: how often the judge
    picked what the person picked."""

    compared: int
    agreed: int
    rate: float | None
    # Proposals the judge picked from where the person voted a tie or "all bad".
    person_tie: int
    person_all_bad: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class JudgeAudit:
    """How one judge model did: readable verdicts, how they were read, its position
    consistency when debiased, and its agreement with the person."""

    model: str | None
    verdicts: int
    readable: int
    via_schema: int
    logprob_confidence: int
    position_checked: int
    position_inconsistent: int
    inconsistency_rate: float | None
    agreement: Agreement

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["agreement"] = self.agreement.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class Leaderboard:
    judge: BoardResult
    human: BoardResult
    agreement: Agreement
    judges: tuple[JudgeAudit, ...]
    players: Players
    min_games: int
    role: str | None = None
    since: float | None = None
    method: str = METHOD

    def to_dict(self) -> dict[str, Any]:
        return {"players": self.players, "min_games": self.min_games, "role": self.role,
                "since": self.since, "method": self.method, "judge": self.judge.to_dict(),
                "human": self.human.to_dict(), "agreement": self.agreement.to_dict(),
                "judges": [j.to_dict() for j in self.judges]}


# -- reading the store -----------------------------------------------------------------------
def _since(column: str, since: float | None) -> tuple[str, tuple[Any, ...]]:
    if since is None:
        return "", ()
    return f" AND {column} IN (SELECT id FROM runs WHERE started_at >= ?)", (since,)


async def _patterns(db: Database, by: Board, kinds: tuple[str, ...],
                    since: float | None) -> list[tuple[str, str, int]]:
    """(outcome, kind, count) of a board's verdicts, grouped in SQL from an index: a hundred
    thousand verdicts come back as a few hundred rows. A judge's verdict counts when it was
    read (a fallback choice has no label)."""
    where, params = _since("run_id", since)
    readable = " AND label IS NOT NULL" if by == "judge" else ""
    marks = ", ".join("?" * len(kinds))
    rows = await db.fetchall(
        f"SELECT outcome, kind, count(*) FROM verdicts WHERE by = ? AND kind IN ({marks})"
        f"{readable}{where} GROUP BY outcome, kind", (by, *kinds, *params))
    return [(outcome, kind, count) for outcome, kind, count in rows]


def _members(outcome: str, players: Players, role: str | None) -> list[tuple[Player, str]]:
    """The (player, result) of the members in a verdict's outcome, in ``role`` only."""
    return [((model, persona if players == "model_persona" else None), result)
            for model, persona, member_role, result in json.loads(outcome)
            if role is None or member_role == role]


async def _outcomes(db: Database, by: Board, players: Players, role: str | None,
                    since: float | None) -> tuple[Outcomes, int, dict[Player, int]]:
    """The board's head-to-head outcomes, how many verdicts gave at least one, and (human
    board) the "all bad" votes per player."""
    kinds = ("pick", "tie", "all_bad") if by == "human" else ("pick",)
    outcomes = Outcomes()
    counted = 0
    all_bad: dict[Player, int] = defaultdict(int)
    for outcome, kind, count in await _patterns(db, by, kinds, since):
        members = _members(outcome, players, role)
        if kind == "all_bad":
            for player, _ in members:
                all_bad[player] += count
            continue
        pairs = pairs_of(members)
        if pairs:
            outcomes.add(pairs, count)
            counted += count
    return outcomes, counted, dict(all_bad)


def standings(outcomes: Outcomes, min_games: int,
              all_bad: dict[Player, int] | None = None) -> tuple[Standing, ...]:
    """The board's lines: rated players best first, then the provisional ones."""
    fit = fit_bradley_terry(outcomes)
    tally: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for pattern, count in outcomes.patterns:
        for i, j, s in pattern:
            for who, score in ((i, s), (j, 1.0 - s)):
                tally[who][0 if score == 1.0 else 1 if score == 0.0 else 2] += count
    lines = []
    bad = dict(all_bad or {})
    for index, (model, persona) in enumerate(outcomes.players):
        wins, losses, ties = tally[index]
        games = wins + losses + ties
        rating = ELO_BASE + ELO_SCALE * fit.theta[index]
        se = fit.se[index]
        half = None if se is None else Z95 * ELO_SCALE * se
        lines.append(Standing(
            model=model, persona=persona, rating=round(rating, 1),
            ci_low=None if half is None else round(rating - half, 1),
            ci_high=None if half is None else round(rating + half, 1),
            games=games, wins=wins, losses=losses, ties=ties,
            all_bad=bad.pop((model, persona), 0), provisional=games < min_games,
            needs=max(min_games - games, 0), rank=None))
    # A model a person only ever rated "all bad" played no game, but is still listed.
    for (model, persona), n in bad.items():
        lines.append(Standing(model, persona, None, None, None, 0, 0, 0, 0, n, True, min_games,
                              None))
    lines.sort(key=lambda s: (s.provisional, -(s.rating or 0.0), s.model, s.persona or ""))
    ranked = []
    for n, line in enumerate(lines, start=1):
        ranked.append(line if line.provisional else _with_rank(line, n))
    return tuple(ranked)


def _with_rank(line: Standing, rank: int) -> Standing:
    values = line.to_dict()
    values["rank"] = rank
    return Standing(**values)


async def _board(db: Database, by: Board, players: Players, role: str | None,
                 since: float | None, min_games: int) -> BoardResult:
    outcomes, verdicts, bad = await _outcomes(db, by, players, role, since)
    lines = standings(outcomes, min_games, bad)
    games = sum(count * len(pattern) for pattern, count in outcomes.patterns)
    return BoardResult(by, lines, verdicts, games)


def _prefix(member: str | None) -> str:
    if member is None:
        return ""
    return member.rsplit("/", 1)[0] + "/" if "/" in member else ""


async def _agreements(db: Database, since: float | None) -> dict[str | None, list[int]]:
    """Per judge model: [compared, agreed, person tie, person all bad] over proposals that
    both the judge and a person judged."""
    where, params = _since("h.run_id", since)
    # CROSS JOIN keeps the order: the few votes first, each run's judge verdicts by index.
    rows = await db.fetchall(
        "SELECT h.kind, h.winner, h.candidates, j.winner, j.candidates, j.judge_model "
        "FROM verdicts h CROSS JOIN verdicts j ON j.run_id = h.run_id AND j.by = 'judge' "
        "  AND j.kind = 'pick' AND j.label IS NOT NULL "
        f"WHERE h.by = 'human' {where}", params)
    out: dict[str | None, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for kind, human, human_shown, judge, judge_shown, model in rows:
        shown = json.loads(human_shown)
        if not shown or _prefix(shown[0]) != _prefix((json.loads(judge_shown) or [judge])[0]):
            continue  # another phase's proposals
        counts = out[model]
        if kind == "pick":
            counts[0] += 1
            counts[1] += human == judge
        elif kind == "tie":
            counts[2] += 1
        elif kind == "all_bad":
            counts[3] += 1
    return out


def _agreement(counts: Sequence[int]) -> Agreement:
    compared, agreed, tie, bad = counts
    return Agreement(compared, agreed, agreed / compared if compared else None, tie, bad)


async def _audits(db: Database, since: float | None,
                  agreements: dict[str | None, list[int]]) -> tuple[JudgeAudit, ...]:
    where, params = _since("run_id", since)
    rows = await db.fetchall(
        "SELECT judge_model, count(*), "
        "  sum(kind = 'synthesis' OR label IS NOT NULL), sum(via = 'schema'), "
        "  sum(confidence_source = 'logprob'), sum(position_consistent IS NOT NULL), "
        "  sum(position_consistent = 0) "
        "FROM verdicts WHERE by = 'judge' AND coalesce(parsed_by, '') <> 'single_survivor' "
        f"{where} GROUP BY judge_model ORDER BY count(*) DESC, judge_model", params)
    audits = []
    for model, verdicts, readable, schema, logprob, checked, inconsistent in rows:
        audits.append(JudgeAudit(
            model=model, verdicts=verdicts, readable=readable or 0, via_schema=schema or 0,
            logprob_confidence=logprob or 0, position_checked=checked or 0,
            position_inconsistent=inconsistent or 0,
            inconsistency_rate=(inconsistent or 0) / checked if checked else None,
            agreement=_agreement(agreements.get(model, [0, 0, 0, 0]))))
    return tuple(audits)


def empty_leaderboard(min_games: int = DEFAULT_MIN_GAMES, role: str | None = None,
                      since: float | None = None, players: Players = "model") -> Leaderboard:
    """The leaderboard of a history with no verdicts (or no history at all)."""
    return Leaderboard(judge=BoardResult("judge", (), 0, 0), human=BoardResult("human", (), 0, 0),
                       agreement=_agreement([0, 0, 0, 0]), judges=(), players=players,
                       min_games=min_games, role=role, since=since)


async def compute_leaderboard(db: Database, *, players: Players = "model",
                              role: str | None = None, since: float | None = None,
                              min_games: int = DEFAULT_MIN_GAMES) -> Leaderboard:
    """Both boards, the judge-human agreement and the judges' audit (see module docs).
    ``role``: only members that ran in that role; ``since``: runs started at or after this
    Unix time; ``players``: models, or (model, persona) pairs."""
    judge = await _board(db, "judge", players, role, since, min_games)
    human = await _board(db, "human", players, role, since, min_games)
    agreements = await _agreements(db, since)
    total = [sum(c[n] for c in agreements.values()) for n in range(4)]
    return Leaderboard(judge=judge, human=human, agreement=_agreement(total),
                       judges=await _audits(db, since, agreements), players=players,
                       min_games=min_games, role=role, since=since)
