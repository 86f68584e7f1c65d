"""The read side of history: sessions rebuilt as turns, listing and search, a person's
choice of answer, rename, delete (cascading, search kept in sync) and ids by prefix."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from loco_tui.controller import Controller
from loco_tui.events import MemberFinished, RunFinished
from loco_tui.orchestrator import RunRequest
from loco_tui.store import Store, StoreError
from loco_tui.testing.script import Fault, Reply
from tests.common import registry_for
from tests.store.common import REGISTRY, Recorded, follow_up, script


def finished(recorded: Recorded) -> RunFinished:
    last = recorded.events[-1]
    assert isinstance(last, RunFinished)
    return last


def texts(recorded: Recorded) -> dict[str, str]:
    return {e.member: e.text for e in recorded.events if isinstance(e, MemberFinished)}


async def fts_in_sync(store: Store) -> None:
    # FTS5 compares its index with the runs table and raises when they disagree.
    async with store.db.transaction() as conn:
        await conn.execute("INSERT INTO runs_fts (runs_fts) VALUES ('integrity-check')")


@pytest.fixture
def registry(ollama_server):
    server = ollama_server(script(
        gamma=Reply.text("Gamma says a dict keeps insertion order, unlike a set.")))
    return registry_for(server.url, REGISTRY)


async def test_a_session_reads_back_as_its_turns(registry, store):
    one = await follow_up(store, registry, "dedupe a list", None, ensemble="trio")
    sid = one.events[0].session
    two = await follow_up(store, registry, "now make it shorter", sid, role="coder")
    three = await follow_up(store, registry, "and keep the order", sid, ensemble="trio")

    session = await store.session(sid)
    assert session.id == sid and session.title == "dedupe a list"
    assert [t.run_id for t in session.turns] == [one.run_id, two.run_id, three.run_id]
    assert [t.prompt for t in session.turns] == [
        "dedupe a list", "now make it shorter", "and keep the order"]
    for turn, recorded in zip(session.turns, (one, two, three), strict=True):
        assert turn.answer is not None
        assert (turn.answer, turn.answer_from) == (finished(recorded).answer,
                                                   finished(recorded).answer_from)
    # Ensemble turns keep every member's proposal; the routed turn has none to keep.
    assert session.turns[0].proposals == {m: t for m, t in texts(one).items() if m != "judge"}
    assert set(session.turns[0].proposals) == {"m1", "m2", "m3"}
    assert session.turns[1].proposals == {}
    assert [t.turn for t in await store.runs_of(sid)] == [0, 1, 2]
    assert await store.last_session_id() == sid


async def test_a_failed_turn_is_kept_but_has_no_answer(ollama_server, store):
    broken = Reply(fault=Fault.HTTP_500)
    server = ollama_server(script(alpha=broken, beta=broken, gamma=broken))
    registry = registry_for(server.url, REGISTRY)
    failed = await follow_up(store, registry, "go", None, ensemble="trio")
    session = await store.session(failed.events[0].session)
    assert finished(failed).status == "failed"
    (turn,) = session.turns
    assert turn.answer is None and not turn.in_thread and session.thread == []


async def test_a_person_choosing_another_answer_is_what_the_next_turn_sees(registry, store):
    one = await follow_up(store, registry, "dedupe a list", None, ensemble="trio")
    sid = one.events[0].session
    judge_pick = finished(one).answer_from
    chosen = next(m for m in ("m1", "m2", "m3") if m != judge_pick)
    verdict = await store.record_human_verdict(one.run_id[:12], chosen)
    assert (verdict.by, verdict.winner, verdict.mode) == ("human", chosen, "pick")
    assert sorted(verdict.candidates) == ["m1", "m2", "m3"]

    detail = await store.run(one.run_id)
    assert (detail.run.answer, detail.run.answer_from) == (texts(one)[chosen], chosen)
    assert [v.by for v in detail.verdicts] == ["judge", "human"]
    assert detail.judge_verdict is not None and detail.judge_verdict.winner == judge_pick
    (turn,) = (await store.session(sid)).turns
    assert (turn.answer, turn.answer_from) == (texts(one)[chosen], chosen)

    # Search follows the new answer.
    await fts_in_sync(store)
    if chosen == "m3":
        assert [s.id for s in await store.sessions(search="insertion")] == [sid]

    with pytest.raises(StoreError, match="no finished proposal by 'm9'"):
        await store.record_human_verdict(one.run_id, "m9")


async def test_sessions_are_listed_newest_first_with_their_figures(registry, store):
    first = await follow_up(store, registry, "dedupe a list", None, ensemble="trio")
    second = await follow_up(store, registry, "explain sets", None, role="coder")
    await follow_up(store, registry, "shorter", first.events[0].session, role="coder")

    listed = await store.sessions()
    assert [s.id for s in listed] == [first.events[0].session, second.events[0].session]
    top = listed[0]
    assert (top.title, top.first_prompt, top.turns, top.last_status) == (
        "dedupe a list", "dedupe a list", 2, "ok")
    assert top.models == ("alpha", "arbiter", "beta", "gamma")
    assert listed[1].models == ("alpha",)
    assert top.created_at < top.updated_at
    assert [s.id for s in await store.sessions(limit=1, offset=1)] == [second.events[0].session]


async def test_search_finds_prompts_and_answers_and_is_safe_against_query_syntax(registry,
                                                                                store):
    one = await follow_up(store, registry, "dedupe a list of emails", None, ensemble="trio")
    two = await follow_up(store, registry, "explain python sets", None, role="coder")
    sid1, sid2 = one.events[0].session, two.events[0].session
    assert [s.id for s in await store.sessions(search="emails")] == [sid1]
    assert [s.id for s in await store.sessions(search="EMAILS dedupe")] == [sid1]
    assert [s.id for s in await store.sessions(search="emai")] == [sid1]  # as one types
    assert [s.id for s in await store.sessions(search="python")] == [sid2]
    # An answer's words count too (the routed reply is alpha's).
    assert {s.id for s in await store.sessions(search="alpha says")} == {sid1, sid2}
    assert await store.sessions(search="emails python") == []
    for hostile in ('"', 'emails"', "NEAR(emails", "prompt:emails", "emails AND (", "*",
                    "-emails", "^emails", "{prompt answer}: x", "'); DROP TABLE runs; --"):
        found = await store.sessions(search=hostile)
        assert all(s.id in (sid1, sid2) for s in found), hostile
    # Operators and quotes are plain characters: only the words count.
    assert [s.id for s in await store.sessions(search='("emails"*')] == [sid1]
    assert [s.id for s in await store.sessions(search="prompt:emails")] == []  # 'prompt' too
    assert await store.sessions(search="!!!") == []
    assert len(await store.sessions(search="   ")) == 2  # no words: no filter


async def test_deleting_a_session_removes_everything_of_it(registry, store, db_path):
    doomed = await follow_up(store, registry, "dedupe a list of emails", None, ensemble="trio")
    await follow_up(store, registry, "shorter please", doomed.events[0].session, role="coder")
    kept = await follow_up(store, registry, "explain sets", None, role="coder")
    await store.record_human_verdict(doomed.run_id, "m2")

    await store.delete_session(doomed.events[0].session)
    with sqlite3.connect(db_path) as conn:
        for table in ("runs", "calls", "events", "verdicts", "parse_results"):
            remaining = conn.execute(
                f"SELECT count(*) FROM {table} WHERE {'id' if table == 'runs' else 'run_id'} "
                "<> ?", (kept.run_id,)).fetchone()[0]
            assert remaining == 0, table
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
    await fts_in_sync(store)
    assert await store.sessions(search="emails") == []
    assert [s.id for s in await store.sessions()] == [kept.events[0].session]
    assert await store.events(kept.run_id) == kept.events
    with pytest.raises(StoreError, match="no session"):
        await store.session(doomed.events[0].session)


async def test_a_renamed_session_keeps_its_title(registry, store):
    one = await follow_up(store, registry, "dedupe a list", None, ensemble="trio")
    sid = one.events[0].session
    await store.rename_session(sid, "Email dedupe")
    await follow_up(store, registry, "another turn", sid, role="coder")
    assert (await store.session(sid)).title == "Email dedupe"
    assert (await store.sessions())[0].title == "Email dedupe"


async def test_ids_are_accepted_by_unambiguous_prefix(registry, store):
    one = await follow_up(store, registry, "dedupe a list", None, role="coder")
    two = await follow_up(store, registry, "explain sets", None, role="coder")
    sid = one.events[0].session
    assert await store.resolve(sid[:-2]) == ("session", sid)
    assert await store.resolve(one.run_id) == ("run", one.run_id)
    assert (await store.run(one.run_id[:-3])).run.id == one.run_id
    common = 0
    while one.run_id[common] == two.run_id[common]:
        common += 1
    with pytest.raises(StoreError, match="names more than one"):
        await store.resolve(one.run_id[:common])
    with pytest.raises(StoreError, match="no session or run with id 'nope'"):
        await store.resolve("nope")
    with pytest.raises(StoreError, match="no run with id"):
        await store.run(sid)  # a session id is not a run id


async def test_a_run_still_streaming_in_a_live_process_is_not_marked_interrupted(
        ollama_server, store, db_path):
    server = ollama_server(script(alpha=Reply(pieces=tuple(f" w{i}" for i in range(200)),
                                              piece_delay_s=0.01)))
    controller = Controller(registry_for(server.url, REGISTRY), store=store)
    run_id = controller.start(RunRequest("go", role="coder"))
    await asyncio.sleep(0.8)
    await controller.flush_history()
    async with await Store.open(db_path) as second:  # e.g. `loco history` meanwhile
        assert (await second.run(run_id)).run.status == "running"
    await controller.wait(run_id)
    await controller.aclose()
    assert (await store.run(run_id)).run.status == "ok"
