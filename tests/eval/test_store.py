"""An eval's runs in the store: recorded like any run (history, stats), tagged with the eval
and its grades, listed, and read back into the same figures without the suite file."""

from __future__ import annotations

import sqlite3

import pytest

from loco_tui.eval import load_eval, summarise
from loco_tui.store import Store, StoreError
from tests.eval.support import (
    judge_picking,
    picks_a_right_one_except_on_two,
    registry_for,
    run_eval,
    script,
)


async def recorded_eval(server_url: str, store: Store, strategies: str = "single:coder,"
                        "ensemble:trio"):
    return await run_eval(registry_for(server_url), strategies, store=store)


async def test_an_eval_is_recorded_tagged_and_read_back_the_same(ollama_server, store):
    server = ollama_server(script(judge_picking(picks_a_right_one_except_on_two)))
    result, runner = await recorded_eval(server.url, store)
    assert runner.history_error is None

    (listed,) = await store.evals()
    assert (listed.id, listed.suite, listed.runs) == (runner.eval_id, "answers", 8)
    assert listed.finished_at is not None and listed.finished_at >= listed.started_at

    runs = await store.eval_runs(runner.eval_id)
    assert [r.tag["result"]["case"] for r in runs] == ["q1", "q1", "q2", "q2", "q3", "q3",
                                                        "q4", "q4"]
    assert {r.tag["eval"] for r in runs} == {runner.eval_id}
    assert runs[0].tag["plan"] == {"strategies": ["single:coder", "ensemble:trio"],
                                   "cases": 4, "repeat": 1}

    stored = await load_eval(store, runner.eval_id[:12])
    assert stored.results == result.results
    assert (stored.strategies, stored.cases, stored.n_cases, stored.repeat) == (
        result.strategies, result.cases, 4, 1)
    assert not stored.partial
    live, again = summarise(result), summarise(stored)
    assert [s.to_dict() for s in again.strategies] == [s.to_dict() for s in live.strategies]
    assert [c.to_dict() for c in again.comparisons] == [c.to_dict() for c in live.comparisons]


async def test_the_history_and_stats_count_an_eval_as_one_session(ollama_server, store):
    server = ollama_server(script(judge_picking(picks_a_right_one_except_on_two)))
    _, runner = await recorded_eval(server.url, store)

    (session,) = await store.sessions()
    assert session.id == runner.eval_id
    assert session.title == "eval answers: single:coder, ensemble:trio"
    assert session.turns == 8
    runs = await store.runs_of(session.id)
    assert all(r.eval_tag is not None for r in runs)
    assert {r.target for r in runs} == {"coder", "trio"}
    calls = {(s.model, s.role): s.calls for s in await store.stats()}
    # solo answered every single:coder case; each ensemble case called three members and
    # the judge.
    assert calls[("solo", "coder")] == 4
    assert calls[("arbiter", "judge")] == 4
    assert sum(n for (model, _), n in calls.items() if model in ("alpha", "beta", "gamma")) \
        == 12


async def test_eval_ids_resolve_by_prefix_and_bad_tags_are_ignored(ollama_server, store,
                                                                   db_path):
    server = ollama_server(script(judge_picking(picks_a_right_one_except_on_two)))
    _, first = await recorded_eval(server.url, store, "single:coder")
    _, second = await recorded_eval(server.url, store, "single:coder")
    assert [e.id for e in await store.evals()] == [second.eval_id, first.eval_id]

    with pytest.raises(StoreError, match="more than one eval"):
        await store.eval_runs("eval-")
    with pytest.raises(StoreError, match="no eval nope"):
        await store.eval_runs("nope")
    with pytest.raises(StoreError, match="names its eval"):
        await store.tag_eval_run("whatever", {"suite": "x"})
    with pytest.raises(StoreError, match="no recorded run missing-run"):
        await store.tag_eval_run("missing-run", {"eval": "e"})

    # Another program's tags (not JSON, not an object) never break the listing.
    conn = sqlite3.connect(db_path)
    with conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM runs ORDER BY num LIMIT 2")]
        conn.execute("UPDATE runs SET eval_tag = 'gsm8k#12' WHERE id = ?", (ids[0],))
        conn.execute("UPDATE runs SET eval_tag = '[1, 2]' WHERE id = ?", (ids[1],))
    conn.close()
    listed = {e.id: e.runs for e in await store.evals()}
    assert listed == {first.eval_id: 2, second.eval_id: 4}
    assert len(await store.eval_runs(first.eval_id)) == 2


async def test_a_tag_quoting_a_broken_reply_is_stored_whole(ollama_server, store):
    server = ollama_server(script(judge_picking(picks_a_right_one_except_on_two)))
    _, runner = await recorded_eval(server.url, store, "single:coder")
    run_id = (await store.eval_runs(runner.eval_id))[0].run_id
    tag = {"eval": runner.eval_id, "result": {"detail": "got '\ud800\x9b', expected 'é'"}}
    await store.tag_eval_run(run_id, tag)
    (first, *_rest) = await store.eval_runs(runner.eval_id)
    assert first.tag == tag


async def test_a_store_error_while_tagging_never_fails_the_eval(ollama_server, store):
    server = ollama_server(script(judge_picking(picks_a_right_one_except_on_two)))
    await store.aclose()  # the connection is gone: recording and tagging fail
    result, runner = await run_eval(registry_for(server.url), "single:coder", store=store)
    assert [r.outcome for r in result.results] == ["right", "right", "wrong", "right"]
    assert runner.history_error is not None
