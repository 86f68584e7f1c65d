"""A debiased judge runs twice, the second time with the proposals in reverse order: a judge
that always picks label A is flagged position-inconsistent (and counted against its model),
a judge that follows the content is not."""

from __future__ import annotations

import re
from typing import Any

import pytest

from loco_tui.events import Delta, MemberFinished, RunFinished
from loco_tui.orchestrator import RunRequest
from loco_tui.orchestrator.judge import reversed_labels
from loco_tui.store import Store
from loco_tui.testing.script import Reply
from tests.compare.support import TRIO, judge_passes, one_server, run, trio, verdict_of

ALWAYS_A = Reply.text("x", constrained=Reply.verdict("A", {"A": 0.8, "B": 0.1, "C": 0.1}))


def follows_gamma(model: str, messages: list[dict[str, Any]]) -> Reply:
    """A judge that reads: it picks whichever label Gamma's proposal is shown under."""
    brief = messages[-1]["content"]
    label = re.search(r'label="([A-Z])">\nGamma', brief)
    assert label is not None
    odds = {other: 0.05 for other in "ABC"} | {label.group(1): 0.9}
    return Reply.text("x", constrained=Reply.verdict(label.group(1), odds))


def test_the_reversed_pass_shows_every_member_elsewhere():
    assert reversed_labels({"A": "m2", "B": "m1"}) == {"A": "m1", "B": "m2"}
    assert reversed_labels({"A": "m1", "B": "m2", "C": "m3", "D": "m4"}) == {
        "A": "m4", "B": "m3", "C": "m2", "D": "m1"}
    # Reversed, the middle of three would stay put: it swaps with the first instead.
    assert reversed_labels({"A": "m2", "B": "m3", "C": "m1"}) == {"A": "m3", "B": "m1",
                                                                  "C": "m2"}
    for n in range(2, 8):
        labels = {chr(65 + i): f"m{i}" for i in range(n)}
        moved = reversed_labels(labels)
        assert sorted(moved.values()) == sorted(labels.values())
        assert all(moved[label] != member for label, member in labels.items())


async def test_a_judge_that_always_picks_the_middle_label_is_flagged_too(ollama_server):
    middle = Reply.text("x", constrained=Reply.verdict("B", {"A": 0.2, "B": 0.6, "C": 0.2}))
    server = ollama_server(trio(middle))
    events = await run(one_server(server.url, TRIO), RunRequest("go", ensemble="checked"))
    assert verdict_of(events).position_consistent is False


async def test_a_judge_that_always_picks_label_a_is_flagged_inconsistent(ollama_server,
                                                                         db_path):
    server = ollama_server(trio(ALWAYS_A))
    async with await Store.open(db_path) as store:
        events = await run(one_server(server.url, TRIO), RunRequest("go", ensemble="checked"),
                           store=store)
        board = await store.leaderboard()
        detail = await store.run(events[0].run_id)

    first, second = judge_passes(events)
    assert (first.order, second.order) == ("shuffled", "reversed")
    assert (first.member, second.member) == ("judge", "reversed-judge")
    assert second.labels == reversed_labels(first.labels)
    verdict = verdict_of(events)
    assert verdict.position_consistent is False
    assert verdict.winner == first.labels["A"] and verdict.label == "A"
    assert verdict.reversed_winner == second.labels["A"] != verdict.winner
    assert verdict.reversed_label == "A"
    # A disagreement lowers the confidence: half of what the first pass measured.
    assert verdict.confidence == pytest.approx(0.4) and verdict.confidence_source == "logprob"
    assert "position inconsistency" in verdict.reason
    # Both passes streamed, each in its own member, and the run still has its answer.
    assert {e.member for e in events if isinstance(e, MemberFinished)} >= {
        "judge", "reversed-judge"}
    assert any(isinstance(e, Delta) and e.member == "reversed-judge" for e in events)
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.status == "ok"
    assert finished.answer_from == verdict.winner

    # Stored, and counted against the judge's model.
    stored = detail.judge_verdict
    assert stored is not None and stored.position_consistent is False
    assert stored.reversed_winner == verdict.reversed_winner and stored.judge_model == "arbiter"
    (audit,) = board.judges
    assert (audit.model, audit.position_checked, audit.position_inconsistent) == (
        "arbiter", 1, 1)
    assert audit.inconsistency_rate == 1.0
    # On the judge's board the two picks tie, each ahead of the third member.
    picks = {verdict.winner, verdict.reversed_winner}
    model_of = {"m1": "alpha", "m2": "beta", "m3": "gamma"}
    lines = {s.model: s for s in board.judge.standings}
    (third,) = {"m1", "m2", "m3"} - picks
    assert lines[model_of[third]].losses == 2 and lines[model_of[third]].wins == 0
    for member in picks:
        assert (lines[model_of[member]].wins, lines[model_of[member]].ties) == (1, 1)


async def test_a_judge_that_follows_the_content_is_consistent(ollama_server, db_path):
    server = ollama_server(trio(Reply.text("unused")))
    server.script.add("arbiter", follows_gamma)
    async with await Store.open(db_path) as store:
        events = await run(one_server(server.url, TRIO), RunRequest("go", ensemble="checked"),
                           store=store)
        board = await store.leaderboard()
    first, second = judge_passes(events)
    assert second.labels == reversed_labels(first.labels) != first.labels
    verdict = verdict_of(events)
    assert verdict.position_consistent is True
    assert verdict.winner == verdict.reversed_winner == "m3"
    assert verdict.confidence == pytest.approx(0.9)
    (audit,) = board.judges
    assert (audit.position_checked, audit.position_inconsistent) == (1, 0)


async def test_without_debias_the_judge_runs_once(ollama_server):
    server = ollama_server(trio(ALWAYS_A))
    events = await run(one_server(server.url, TRIO), RunRequest("go", ensemble="trio"))
    assert len(judge_passes(events)) == 1
    assert verdict_of(events).position_consistent is None


async def test_an_unreadable_reversed_pass_leaves_consistency_unknown(ollama_server):
    answers = iter([ALWAYS_A, Reply.text("I cannot decide.")])
    server = ollama_server(trio(Reply.text("unused")))
    server.script.add("arbiter", lambda model, messages: next(answers))
    events = await run(one_server(server.url, TRIO), RunRequest("go", ensemble="checked"))
    verdict = verdict_of(events)
    assert verdict.position_consistent is None and verdict.reversed_winner is None
    assert verdict.confidence == pytest.approx(0.8)
    assert "could not be read" in verdict.reason
