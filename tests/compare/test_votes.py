"""A person's votes of every kind (a pick, a tie, all bad) are stored beside the judge's
verdict, replace their last vote, and show in stats, exports and `loco show`; a database of
schema 2 migrates its verdicts forward."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from loco_tui.orchestrator import RunRequest
from loco_tui.store import Store, StoreError, Tally
from loco_tui.store.schema import migrate
from loco_tui.testing.script import Reply
from tests.common import loco, loco_env
from tests.compare.support import TRIO, one_server, run, trio

JUDGE = Reply.text('{"winner": "B", "mode": "pick", "confidence": 0.8, "reason": "clear"}')
MODEL = {"m1": "alpha", "m2": "beta", "m3": "gamma"}


async def recorded_run(ollama_server, store: Store, ensemble: str = "trio") -> str:
    server = ollama_server(trio(JUDGE))
    events = await run(one_server(server.url, TRIO), RunRequest("dedupe", ensemble=ensemble),
                       store=store)
    return events[0].run_id


async def test_a_pick_a_tie_and_all_bad_are_stored_and_each_replaces_the_last(
        ollama_server, store):
    run_id = await recorded_run(ollama_server, store)
    judge_answer = (await store.run(run_id)).run.answer

    picked = await store.vote(run_id, "pick", "m3")
    assert (picked.kind, picked.winner, sorted(picked.candidates)) == (
        "pick", "m3", ["m1", "m2", "m3"])
    detail = await store.run(run_id)
    assert detail.run.answer_from == "m3" and detail.run.answer != judge_answer
    assert [v.by for v in detail.verdicts] == ["judge", "human"]

    tie = await store.vote(run_id, "tie")
    assert (tie.kind, tie.winner) == ("tie", None)
    detail = await store.run(run_id)
    assert [(v.by, v.kind) for v in detail.verdicts] == [("judge", "pick"), ("human", "tie")]
    figures = {s.model: s.human for s in await store.stats()}
    assert figures == {"alpha": Tally(0, 0, 1), "beta": Tally(0, 0, 1),
                       "gamma": Tally(0, 0, 1), "arbiter": Tally()}

    await store.vote(run_id, "all_bad")
    detail = await store.run(run_id)
    human = detail.human_verdict
    assert human is not None and (human.kind, human.winner) == ("all_bad", None)
    assert len([v for v in detail.verdicts if v.by == "human"]) == 1
    # "All bad" is a loss for every member in stats, and no game on the leaderboard.
    figures = {s.model: s.human for s in await store.stats()}
    assert figures["alpha"] == figures["beta"] == figures["gamma"] == Tally(0, 1, 0)
    board = await store.leaderboard()
    assert board.human.games == 0
    assert {s.model: (s.all_bad, s.games, s.provisional) for s in board.human.standings} == {
        m: (1, 0, True) for m in MODEL.values()}
    # The judge's verdict stays as it was.
    assert detail.judge_verdict is not None and detail.judge_verdict.kind == "pick"


async def test_votes_show_in_the_export_and_on_the_command_line(ollama_server, tmp_path: Path):
    async with await Store.open(tmp_path / "loco.db") as store:
        run_id = await recorded_run(ollama_server, store)
        await store.vote(run_id, "tie")
        markdown = await store.export_markdown(run_id)
    assert "**Your vote**: a tie." in markdown
    assert "**Verdict**: judge `arbiter` picked" in markdown
    shown = loco("show", run_id, env=loco_env(LOCO_HOME=str(tmp_path)))
    assert shown.returncode == 0, shown.stderr
    assert "your vote a tie" in shown.stdout
    assert "via text" in shown.stdout  # the fake server answered in prose


async def test_a_vote_needs_proposals_to_compare(ollama_server, store):
    server = ollama_server(trio(JUDGE))
    body = TRIO.replace('judge = "arbiter"', 'judge = "arbiter"\nsolo = "alpha"')
    events = await run(one_server(server.url, body), RunRequest("go", role="solo"),
                       store=store)
    with pytest.raises(StoreError, match="no proposals"):
        await store.vote(events[0].run_id, "tie")
    with pytest.raises(StoreError, match="no finished proposal"):
        await store.vote(events[0].run_id, "pick", "m7")


async def test_a_workflow_phase_is_voted_on_by_its_members(ollama_server, store):
    body = TRIO + ('[workflows.flow]\nphases = [{ name = "plan", type = "ensemble", '
                   'ensemble = "trio" }]\n')
    server = ollama_server(trio(JUDGE))
    events = await run(one_server(server.url, body), RunRequest("go", workflow="flow"),
                       store=store)
    run_id = events[0].run_id
    answer = (await store.run(run_id)).run.answer
    tie = await store.vote(run_id, "tie", phase="plan")
    assert sorted(tie.candidates) == ["plan/m1", "plan/m2", "plan/m3"]
    await store.vote(run_id, "pick", "plan/m1")
    detail = await store.run(run_id)
    assert [v.kind for v in detail.verdicts if v.by == "human"] == ["pick"]
    assert detail.run.answer == answer  # a phase's pick leaves the workflow's answer alone


async def test_schema_2_verdicts_migrate_forward(ollama_server, tmp_path: Path):
    source = tmp_path / "source.db"
    async with await Store.open(source) as store:
        run_id = await recorded_run(ollama_server, store)
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old, isolation_level=None)
    migrate(conn, 0, target=2)
    conn.execute("ATTACH DATABASE ? AS src", (str(source),))
    for table in ("sessions", "runs", "calls", "events", "parse_results"):
        conn.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
    conn.execute("INSERT INTO verdicts (run_id, by, winner, label, mode, confidence, reason, "
                 "parsed_by, candidates, created_at) SELECT run_id, by, winner, label, mode, "
                 "confidence, reason, parsed_by, candidates, created_at FROM src.verdicts")
    conn.execute("INSERT INTO verdict_members (verdict_id, member, model, role, result) "
                 "SELECT verdict_id, member, model, role, result FROM src.verdict_members")
    # Schema 2 kept every vote; its stats counted the last.
    for member in ("m1", "m3"):
        cursor = conn.execute(
            "INSERT INTO verdicts (run_id, by, winner, mode, reason, parsed_by, candidates, "
            "created_at) VALUES (?, 'human', ?, 'pick', '', 'human', ?, 0)",
            (run_id, member, json.dumps(list(MODEL))))
        for m, model in MODEL.items():
            conn.execute("INSERT INTO verdict_members VALUES (?, ?, ?, NULL, ?)",
                         (cursor.lastrowid, m, model, "win" if m == member else "loss"))
    conn.execute("DETACH DATABASE src")
    conn.close()

    async with await Store.open(old) as store:
        detail = await store.run(run_id)
        figures = {s.model: s.human for s in await store.stats()}
        board = await store.leaderboard()
    # The outcomes are backfilled: the leaderboard reads the old verdicts too.
    assert {s.model: (s.wins, s.losses) for s in board.human.standings} == {
        "gamma": (2, 0), "alpha": (0, 1), "beta": (0, 1)}
    assert board.judge.verdicts == 1 and board.judge.games == 2
    assert [(v.by, v.kind, v.winner) for v in detail.verdicts][1:] == [("human", "pick", "m3")]
    judged = detail.judge_verdict
    assert judged is not None and (judged.kind, judged.judge_model) == ("pick", "arbiter")
    assert figures["gamma"] == Tally(1, 0, 0) and figures["alpha"] == Tally(0, 1, 0)
    with sqlite3.connect(old) as check:
        members = check.execute("SELECT count(*) FROM verdict_members").fetchone()[0]
    assert members == 6  # the judge's three and the last vote's three
