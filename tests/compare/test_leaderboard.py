"""The leaderboard: Bradley-Terry ratings equal a straightforward iterative (Zermelo/MM)
fit to 1e-6, intervals agree with a bootstrap over runs, agreement is counted right, too few
games is said, and `loco stats --leaderboard` shows it all at a glance."""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from pathlib import Path

import pytest

from loco_tui.store import Store
from loco_tui.store.bradley_terry import (
    PRIOR_GAMES,
    Outcomes,
    Player,
    fit_bradley_terry,
    pairs_of,
)
from loco_tui.store.leaderboard import standings
from tests.common import loco, loco_env
from tests.compare.support import write_verdicts

STRENGTH = {"alpha": 1.2, "beta": 0.4, "gamma": 0.0, "delta": -0.9, "eps": 0.3}


# -- a reference written out the long way ----------------------------------------------------
def zermelo(outcomes: Outcomes, prior: float = PRIOR_GAMES) -> list[float]:
    """Hunter's MM iteration (Zermelo's), with the same prior: every player ties `prior`
    games against an anchor of strength 1 that never moves. Centred log-strengths."""
    k = len(outcomes.players)
    games: dict[tuple[int, int], float] = defaultdict(float)
    won = [0.5 * prior] * k
    for pattern, count in outcomes.patterns:
        for i, j, s in pattern:
            games[(i, j)] += count
            games[(j, i)] += count
            won[i] += count * s
            won[j] += count * (1 - s)
    pi = [1.0] * k
    for _ in range(100_000):
        new = []
        for i in range(k):
            denominator = prior / (pi[i] + 1.0) + sum(
                n / (pi[i] + pi[j]) for (a, j), n in games.items() if a == i)
            new.append(won[i] / denominator)
        change = max(abs(math.log(a / b)) for a, b in zip(new, pi, strict=True))
        pi = new
        if change < 1e-14:
            break
    logs = [math.log(p) for p in pi]
    mean = sum(logs) / k
    return [x - mean for x in logs]


def simulated(seed: int, verdicts: int) -> list[list[tuple[Player, str]]]:
    """Seeded verdicts: two or three members drawn from STRENGTH, a pick by Bradley-Terry
    odds (Plackett-Luce for three), now and then a tie."""
    rng = random.Random(seed)
    out = []
    for _ in range(verdicts):
        members = rng.sample(sorted(STRENGTH), rng.choice((2, 3)))
        if rng.random() < 0.1:
            out.append([((m, None), "tie") for m in members])
            continue
        weights = [math.exp(STRENGTH[m]) for m in members]
        winner = rng.choices(members, weights)[0]
        out.append([((m, None), "win" if m == winner else "loss") for m in members])
    return out


def outcomes_of(verdicts: list[list[tuple[Player, str]]]) -> Outcomes:
    out = Outcomes()
    for members in verdicts:
        out.add(pairs_of(members))
    return out


def test_bradley_terry_equals_the_iterative_reference_within_1e_6():
    for seed, size in ((1, 40), (2, 300), (3, 2000)):
        outcomes = outcomes_of(simulated(seed, size))
        fit = fit_bradley_terry(outcomes)
        reference = zermelo(outcomes)
        assert max(abs(a - b) for a, b in zip(fit.theta, reference, strict=True)) < 1e-6
    # A different prior is the same model: still equal.
    outcomes = outcomes_of(simulated(4, 200))
    assert max(abs(a - b) for a, b in zip(
        fit_bradley_terry(outcomes, prior=0.1).theta, zermelo(outcomes, prior=0.1),
        strict=True)) < 1e-6


def test_the_strongest_model_comes_out_on_top_of_a_large_sample():
    lines = standings(outcomes_of(simulated(5, 3000)), min_games=10)
    assert [s.model for s in lines] == sorted(STRENGTH, key=lambda m: -STRENGTH[m])
    assert [s.rank for s in lines] == [1, 2, 3, 4, 5]
    for s in lines:
        assert s.ci_low is not None and s.ci_high is not None
        assert s.ci_low < s.rating < s.ci_high  # type: ignore[operator]


def test_pairwise_outcomes_follow_the_verdict():
    a, b, c = ("a", None), ("b", None), ("c", None)
    assert pairs_of([(a, "win"), (b, "loss"), (c, "loss")]) == [(a, b, 1.0), (a, c, 1.0)]
    assert pairs_of([(a, "loss"), (b, "win")]) == [(a, b, 0.0)]
    assert pairs_of([(a, "tie"), (b, "tie"), (c, "tie")]) == [
        (a, b, 0.5), (a, c, 0.5), (b, c, 0.5)]
    # A position-inconsistent judge's two picks tie, each ahead of the rest.
    assert pairs_of([(a, "win"), (b, "win"), (c, "loss")]) == [
        (a, b, 0.5), (a, c, 1.0), (b, c, 1.0)]
    # "All bad", and one model against itself, say nothing.
    assert pairs_of([(a, "loss"), (b, "loss")]) == []
    assert pairs_of([(a, "win"), (a, "loss")]) == []


def test_the_intervals_agree_with_a_bootstrap_over_runs():
    verdicts = simulated(6, 400)
    fit = fit_bradley_terry(outcomes_of(verdicts))
    rng = random.Random(7)
    players = outcomes_of(verdicts).players
    draws: dict[Player, list[float]] = defaultdict(list)
    for _ in range(300):
        sample = [verdicts[rng.randrange(len(verdicts))] for _ in verdicts]
        again = outcomes_of(sample)
        # The fit itself is checked against the reference above; here only its spread.
        for player, theta in zip(again.players, fit_bradley_terry(again).theta, strict=True):
            draws[player].append(theta)
    for player, se in zip(players, fit.se, strict=True):
        values = draws[player]
        mean = sum(values) / len(values)
        spread = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        assert se is not None and 0.8 < se / spread < 1.25, (player, se, spread)


def test_a_model_that_only_won_a_few_games_is_finite_and_provisional():
    verdicts = [[(("lucky", None), "win"), (("other", None), "loss")]] * 3
    (top, bottom) = standings(outcomes_of(verdicts), min_games=10)
    assert top.model == "lucky" and top.rating is not None and math.isfinite(top.rating)
    assert bottom.rating is not None and top.rating - bottom.rating < 1000  # shrunk
    assert (top.games, top.wins, top.provisional, top.needs, top.rank) == (3, 3, True, 7, None)
    assert top.ci_low is not None and top.ci_high is not None
    assert top.ci_high - top.ci_low > 400  # three games prove little: a wide interval


# -- from the store ----------------------------------------------------------------------------
def judge_pick(run: str, winner: str, members: dict[str, str], **extra: object) -> dict:
    return {"run": run, "by": "judge", "kind": "pick", "judge_model": "arbiter",
            "members": [(m, model, None, None, "win" if m == winner else "loss")
                        for m, model in members.items()], **extra}


def human(run: str, kind: str, members: dict[str, str], winner: str | None = None) -> dict:
    result = {"pick": lambda m: "win" if m == winner else "loss", "tie": lambda m: "tie",
              "all_bad": lambda m: "loss"}[kind]
    return {"run": run, "by": "human", "kind": kind, "winner": winner,
            "members": [(m, model, None, None, result(m)) for m, model in members.items()]}


TRIO = {"m1": "alpha", "m2": "beta", "m3": "gamma"}


async def test_agreement_is_counted_on_proposals_both_judged(db_path: Path):
    other = {"judge_model": "small-judge"}
    rows = [
        judge_pick("r1", "m1", TRIO), human("r1", "pick", TRIO, "m1"),      # agree
        judge_pick("r2", "m2", TRIO), human("r2", "pick", TRIO, "m1"),      # disagree
        judge_pick("r3", "m3", TRIO), human("r3", "tie", TRIO),             # no winner for you
        judge_pick("r4", "m1", TRIO), human("r4", "all_bad", TRIO),         # no winner for you
        judge_pick("r5", "m2", TRIO, label=None), human("r5", "pick", TRIO, "m2"),  # fallback
        human("r6", "pick", TRIO, "m3"),                                     # no judge
        judge_pick("r7", "m3", TRIO),                                        # no vote
        judge_pick("r8", "m2", TRIO, **other), human("r8", "pick", TRIO, "m2"),  # agree
    ]
    async with await Store.open(db_path):
        pass
    write_verdicts(db_path, rows)
    async with await Store.open(db_path) as store:
        board = await store.leaderboard()
    a = board.agreement
    assert (a.compared, a.agreed, a.person_tie, a.person_all_bad) == (3, 2, 1, 1)
    assert a.rate == pytest.approx(2 / 3)
    audits = {j.model: j for j in board.judges}
    assert (audits["arbiter"].agreement.compared, audits["arbiter"].agreement.agreed) == (2, 1)
    assert (audits["small-judge"].agreement.compared,
            audits["small-judge"].agreement.agreed) == (1, 1)
    assert audits["arbiter"].verdicts == 6 and audits["arbiter"].readable == 5
    # Boards: the judge's readable picks, and the person's picks and tie ("all bad" apart).
    assert board.judge.verdicts == 6 and board.human.verdicts == 6
    lines = {s.model: s for s in board.human.standings}
    assert {m: s.all_bad for m, s in lines.items()} == {"alpha": 1, "beta": 1, "gamma": 1}
    # r1 and r2: alpha beat both others; r3: a tie with both; r5, r6, r8: one loss each.
    assert (lines["alpha"].wins, lines["alpha"].losses, lines["alpha"].ties) == (4, 3, 2)


async def test_the_store_board_is_the_fit_of_its_outcomes(db_path: Path):
    verdicts = simulated(8, 500)
    rows = []
    for n, members in enumerate(verdicts):
        kind = "tie" if members[0][1] == "tie" else "pick"
        listed = [(f"m{i}", player[0], None, None, result)
                  for i, (player, result) in enumerate(members, start=1)]
        rows.append({"run": f"r{n}", "by": "human", "kind": kind, "members": listed})
    async with await Store.open(db_path):
        pass
    write_verdicts(db_path, rows)
    async with await Store.open(db_path) as store:
        board = await store.leaderboard(min_games=1)
    expected = {s.model: s for s in standings(outcomes_of(verdicts), min_games=1)}
    assert {s.model: (s.rating, s.ci_low, s.ci_high, s.wins, s.losses, s.ties)
            for s in board.human.standings} == {
        m: (s.rating, s.ci_low, s.ci_high, s.wins, s.losses, s.ties) for m, s in expected.items()}
    assert board.judge.standings == ()


async def test_players_by_persona_role_and_since(db_path: Path):
    rows = []
    for n in range(12):
        members = [("m1", "smol", "optimist", "coder", "win" if n % 3 else "loss"),
                   ("m2", "smol", "skeptic", "coder", "loss" if n % 3 else "win"),
                   ("m3", "qwen", None, "writer", "loss")]
        rows.append({"run": f"r{n}", "by": "judge", "kind": "pick", "members": members,
                     "winner": "m1" if n % 3 else "m2", "started_at": 1_000.0 + n})
    async with await Store.open(db_path):
        pass
    write_verdicts(db_path, rows)
    async with await Store.open(db_path) as store:
        by_model = await store.leaderboard()
        by_persona = await store.leaderboard(players="model_persona")
        coders = await store.leaderboard(players="model_persona", role="coder")
        late = await store.leaderboard(since=1_006.0)
    # One model under two personas: no game against itself.
    assert {(s.model, s.wins, s.losses) for s in by_model.judge.standings} == {
        ("smol", 12, 0), ("qwen", 0, 12)}
    assert {(s.model, s.persona, s.wins) for s in by_persona.judge.standings} == {
        ("smol", "optimist", 8 + 8), ("smol", "skeptic", 4 + 4), ("qwen", None, 0)}
    assert {(s.persona, s.wins, s.losses) for s in coders.judge.standings} == {
        ("optimist", 8, 4), ("skeptic", 4, 8)}
    assert {s.model: s.games for s in late.judge.standings} == {"smol": 6, "qwen": 6}


async def test_loco_stats_leaderboard_reads_at_a_glance(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    rows = [judge_pick(f"j{n}", "m1" if n % 4 else "m2", TRIO) for n in range(16)]
    rows += [human("j0", "pick", TRIO, "m2"), human("j1", "pick", TRIO, "m3")]
    hostile = {"m1": "alpha", "m2": "beta\x1b[31m", "m3": "gamma"}
    rows.append(judge_pick("x1", "m2", hostile))
    async with await Store.open(home / "loco.db"):
        pass
    write_verdicts(home / "loco.db", rows)
    env = loco_env(LOCO_HOME=str(home))

    shown = loco("stats", "--leaderboard", env=env)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "\x1b" not in out
    for text in ("Judge's verdicts", "Your votes", "95% CI", "W/L/T", "alpha",
                 "provisional: 8 more games", "Judge agrees with you: 50% (1 of 2 runs",
                 "arbiter", "Bradley-Terry"):
        assert text in out, text
    as_json = loco("stats", "--leaderboard", "--json", env=env)
    data = json.loads(as_json.stdout)
    assert data["agreement"] == {"compared": 2, "agreed": 1, "rate": 0.5, "person_tie": 0,
                                 "person_all_bad": 0}
    top = data["judge"]["standings"][0]
    # alpha: two games in each of its 12 wins, one against each of beta's 4, one lost to x1.
    assert top["model"] == "alpha" and top["rank"] == 1 and top["games"] == 29
    assert top["ci_low"] < top["rating"] < top["ci_high"]
    filtered = json.loads(loco("stats", "--leaderboard", "--json", "--since", "1d",
                               env=env).stdout)
    assert filtered["judge"]["standings"] == [] and filtered["since"] is not None
    assert loco("stats", "--min-games", "3", env=env).returncode == 2
    # No history yet: the same shape, empty.
    (tmp_path / "empty").mkdir()
    empty = json.loads(loco("stats", "--leaderboard", "--json",
                            env=loco_env(LOCO_HOME=str(tmp_path / "empty"))).stdout)
    assert empty["judge"]["standings"] == [] and empty["agreement"]["rate"] is None
