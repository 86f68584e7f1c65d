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

**Model.** P(i beats j) = 1 / (1 + exp(θj - θi)), fitted by maximum likelihood (Newton's
method), ties as half a win. Every player also has one virtual game against an anchor of
strength 0 that it ties (a weak prior): a model that won all its few games gets a finite,
shrunk rating instead of infinity, and players that never met are still on one scale. The
prior is worth one game, so it fades as games accumulate.

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
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from loco_tui.store.db import Database

Board = Literal["judge", "human"]
Players = Literal["model", "model_persona"]
# (model, persona); persona None when players are models.
Player = tuple[str, str | None]

DEFAULT_MIN_GAMES = 10
PRIOR_GAMES = 1.0
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


# -- outcomes --------------------------------------------------------------------------------
@dataclass
class Outcomes:
    """Head-to-head outcomes grouped by judgement: each distinct pattern of pairwise results
    (``(i, j, score of i)``, score 1, 0.5 or 0) with how many judgements had it."""

    players: list[Player] = field(default_factory=list)
    patterns: list[tuple[tuple[tuple[int, int, float], ...], int]] = field(default_factory=list)
    _index: dict[Player, int] = field(default_factory=dict)

    def player(self, key: Player) -> int:
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.players)
            self.players.append(key)
        return found

    def add(self, pairs: Sequence[tuple[Player, Player, float]], count: int = 1) -> None:
        """One judgement's outcomes (``count`` times): (a, b, a's score)."""
        self.patterns.append((tuple((self.player(a), self.player(b), score)
                                    for a, b, score in pairs), count))


def pairs_of(members: Iterable[tuple[Player, str]]) -> list[tuple[Player, Player, float]]:
    """The head-to-head outcomes of one verdict from its members' results (win, loss, tie):
    win beats loss, two wins or two ties tie, two losses say nothing (see module docs)."""
    listed = list(members)
    out: list[tuple[Player, Player, float]] = []
    for n, (a, ra) in enumerate(listed):
        for b, rb in listed[n + 1:]:
            if a == b:
                continue  # one player against itself: no information
            if ra == rb:
                if ra in ("win", "tie"):
                    out.append((a, b, 0.5))
            elif ra == "win" and rb == "loss":
                out.append((a, b, 1.0))
            elif ra == "loss" and rb == "win":
                out.append((a, b, 0.0))
    return out


# -- the fit ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fit:
    theta: list[float]  # centred on the players' mean
    se: list[float | None]  # of each theta relative to the mean


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _totals(outcomes: Outcomes) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int],
                                                                            float]]:
    """(games, i's score) per unordered pair (i < j)."""
    games: dict[tuple[int, int], float] = defaultdict(float)
    scores: dict[tuple[int, int], float] = defaultdict(float)
    for pattern, count in outcomes.patterns:
        for i, j, s in pattern:
            if i > j:
                i, j, s = j, i, 1.0 - s
            games[(i, j)] += count
            scores[(i, j)] += count * s
    return games, scores


def fit_bradley_terry(outcomes: Outcomes, prior: float = PRIOR_GAMES) -> Fit:
    """Maximum-likelihood strengths (Newton's method, step-halving) with the anchor prior,
    and their standard errors (see the module docs)."""
    k = len(outcomes.players)
    if k == 0:
        return Fit([], [])
    games, scores = _totals(outcomes)
    theta = [0.0] * k

    def loglik(t: list[float]) -> float:
        total = 0.0
        for (i, j), n in games.items():
            d = t[i] - t[j]
            s = scores[(i, j)]
            total += s * _log_sigmoid(d) + (n - s) * _log_sigmoid(-d)
        return total + sum(prior * 0.5 * (_log_sigmoid(x) + _log_sigmoid(-x)) for x in t)

    current = loglik(theta)
    for _ in range(100):
        grad, hess = _gradient_hessian(theta, games, scores, prior)
        step = _solve(hess, grad)  # hess is the negative Hessian: theta + step goes uphill
        scale = 1.0
        while True:
            trial = [t + scale * d for t, d in zip(theta, step, strict=True)]
            value = loglik(trial)
            if value >= current - 1e-12 or scale < 1e-6:
                break
            scale /= 2
        theta, current = trial, value
        if max(abs(scale * d) for d in step) < 1e-12:
            break
    _, info = _gradient_hessian(theta, games, scores, prior)
    covariance = _inverse(info)
    robust = _sandwich(theta, outcomes, covariance)
    mean = sum(theta) / k
    se: list[float | None] = []
    for i in range(k):
        variance = max(_contrast_variance(covariance, i), _contrast_variance(robust, i))
        se.append(math.sqrt(variance) if variance > 0 else None)
    return Fit([t - mean for t in theta], se)


def _log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def _gradient_hessian(
    theta: list[float], games: dict[tuple[int, int], float],
    scores: dict[tuple[int, int], float], prior: float,
) -> tuple[list[float], list[list[float]]]:
    """The log-likelihood's gradient and its negative Hessian (the information matrix)."""
    k = len(theta)
    grad = [prior * (0.5 - _sigmoid(t)) for t in theta]
    info = [[0.0] * k for _ in range(k)]
    for i, t in enumerate(theta):
        p = _sigmoid(t)
        info[i][i] = prior * p * (1 - p)
    for (i, j), n in games.items():
        p = _sigmoid(theta[i] - theta[j])
        residual = scores[(i, j)] - n * p
        grad[i] += residual
        grad[j] -= residual
        w = n * p * (1 - p)
        info[i][i] += w
        info[j][j] += w
        info[i][j] -= w
        info[j][i] -= w
    return grad, info


def _sandwich(theta: list[float], outcomes: Outcomes,
              bread: list[list[float]]) -> list[list[float]]:
    """Cluster-robust covariance: bread · (Σ over judgements of score·scoreᵀ) · bread, with
    the small-sample factor G/(G-1) for G judgements."""
    k = len(theta)
    meat = [[0.0] * k for _ in range(k)]
    clusters = 0
    for pattern, count in outcomes.patterns:
        score = [0.0] * k
        for i, j, s in pattern:
            r = s - _sigmoid(theta[i] - theta[j])
            score[i] += r
            score[j] -= r
        touched = [i for i in range(k) if score[i] != 0.0]
        for a in touched:
            for b in touched:
                meat[a][b] += count * score[a] * score[b]
        clusters += count
    if clusters > 1:
        factor = clusters / (clusters - 1)
        meat = [[v * factor for v in row] for row in meat]
    half = _matmul(bread, meat)
    return _matmul(half, bread)


def _contrast_variance(cov: list[list[float]], i: int) -> float:
    """Var(θi - mean θ) from the covariance of θ."""
    k = len(cov)
    c = [-1.0 / k] * k
    c[i] += 1.0
    return sum(c[a] * cov[a][b] * c[b] for a in range(k) for b in range(k))


def _matmul(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    columns = list(zip(*b, strict=True))
    return [[sum(x * y for x, y in zip(row, col, strict=True)) for col in columns] for row in a]


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """x with matrix·x = vector (Gaussian elimination with partial pivoting)."""
    n = len(vector)
    a = [[*row, vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        head = a[col][col]
        if head == 0.0:
            continue
        for r in range(col + 1, n):
            f = a[r][col] / head
            if f:
                row, top = a[r], a[col]
                for c in range(col, n + 1):
                    row[c] -= f * top[c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        total = a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))
        x[r] = total / a[r][r] if a[r][r] else 0.0
    return x


def _inverse(matrix: list[list[float]]) -> list[list[float]]:
    n = len(matrix)
    columns = [_solve(matrix, [1.0 if r == c else 0.0 for r in range(n)]) for c in range(n)]
    return [[columns[c][r] for c in range(n)] for r in range(n)]


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
