"""Bradley-Terry strengths with standard errors, from head-to-head outcomes grouped by
judgement, in pure Python (the leaderboard's model; see ``leaderboard.py`` for what counts as
an outcome and how the ratings are shown).

P(i beats j) = 1 / (1 + exp(θj - θi)), fitted by maximum likelihood with Newton's method
(step-halving keeps every step uphill), ties as half a win. Every player also has
``prior`` virtual games against an anchor of strength 0 that it ties: a player that won
all of its few games gets a finite, shrunk strength, and players that never met share one
scale. Standard errors of each θ relative to the players' mean are the wider of the model's
own (inverse Fisher information) and the cluster-robust one (sandwich, clustered by
judgement, with the small-sample factor G/(G-1)).

No numpy: the players of a local history are tens, so k×k solves in pure Python take
microseconds, and the install stays small.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# (model, persona); persona None when players are models.
Player = tuple[str, str | None]

PRIOR_GAMES = 1.0


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
    win beats loss, two wins or two ties tie, two losses say nothing (see leaderboard.py)."""
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
