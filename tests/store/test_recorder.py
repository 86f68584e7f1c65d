"""The recorder as the controller will use it: real runs over the fake Ollama, written in
batches, read back exactly, and switched off (not crashing) when the disk fills up."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

from loco_tui.controller import Controller
from loco_tui.events import Delta, Event, MemberFinished
from loco_tui.orchestrator import RunRequest
from loco_tui.store import Store
from loco_tui.testing.script import Fault, Reply
from tests.common import registry_for
from tests.store.common import REGISTRY, record, script

TOOL_REPLY = ('I will look it up.\n<tool_call>\n{"name": "search", "arguments": {"q": "dedupe"}}'
              "\n</tool_call>")


def words(n: int, prefix: str = "w") -> tuple[str, ...]:
    return tuple(f" {prefix}{i}" for i in range(n))


async def test_a_run_replays_as_exactly_the_same_event_sequence(ollama_server, store):
    # Interleaved members, thinking tokens, a member dropping mid-stream, a tool call, the
    # judge streaming: every kind of event a run makes.
    server = ollama_server(script(
        beta=Reply(pieces=("half", " a", " thought", " lost"), fault=Fault.DROP, fault_after=2,
                   piece_delay_s=0.01),
        gamma=Reply(pieces=words(30), thinking=("let me", " think"), piece_delay_s=0.003),
        alpha=Reply.text(TOOL_REPLY, piece_delay_s=0.002),
    ))
    recorded = await record(store, registry_for(server.url, REGISTRY),
                            RunRequest("dedupe a list", ensemble="trio"))
    kinds = {e.type for e in recorded.events}
    assert {"delta", "member_failed", "parse", "judge_started", "verdict"} <= kinds
    assert any(isinstance(e, Delta) and e.channel == "thinking" for e in recorded.events)

    replayed = await store.events(recorded.run_id)
    assert replayed == recorded.events
    assert [e.t for e in replayed] == [e.t for e in recorded.events]

    # Deltas are packed: far fewer rows than events.
    rows = await store.db.fetchall("SELECT type, count(*) FROM events GROUP BY type")
    counts = dict(rows)
    n_deltas = sum(isinstance(e, Delta) for e in recorded.events)
    assert counts["deltas"] < n_deltas / 4
    assert sum(counts.values()) == len(recorded.events) - n_deltas + counts["deltas"]


async def test_calls_hold_every_attempt_with_its_outcome_and_figures(ollama_server, store):
    server = ollama_server(script(
        alpha=Reply(fault=Fault.MODEL_MISSING),
        beta=Reply.text(TOOL_REPLY),
    ))
    registry = registry_for(server.url, REGISTRY)
    routed = await record(store, registry, RunRequest("fix the bug", role="coder"))
    detail = await store.run(routed.run_id)
    assert [(c.member, c.attempt, c.model, c.role, c.outcome, c.category)
            for c in detail.calls] == [
        ("coder", 1, "alpha", "coder", "failed", "model_missing"),
        ("coder", 2, "beta", "coder", "ok", None)]
    ok = detail.calls[1]
    finished = next(e for e in routed.events if isinstance(e, MemberFinished))
    assert (ok.tokens_in, ok.tokens_out, ok.ttft_s, ok.tokens_per_s, ok.gen_s, ok.duration_s,
            ok.finish_reason, ok.text) == (
        finished.stats.tokens_in, finished.stats.tokens_out, finished.stats.ttft_s,
        finished.stats.tokens_per_s, finished.stats.gen_s, finished.stats.duration_s,
        finished.finish_reason, finished.text)
    # A failed call has no figures: unknown, not zero.
    failed = detail.calls[0]
    assert (failed.tokens_in, failed.tokens_out, failed.ttft_s, failed.duration_s) == \
           (None, None, None, None)
    assert detail.run.status == "ok" and detail.run.answer == finished.text
    assert [(p.member, p.attempt, p.kind, [c["name"] for c in p.tool_calls])
            for p in detail.parses] == [("coder", 2, "tool_call", ["search"])]
    assert detail.parses[0].tool_calls[0]["arguments"] == {"q": "dedupe"}

    dropped = await record(store, registry, RunRequest("again", ensemble="trio"))
    detail = await store.run(dropped.run_id)
    m1 = next(c for c in detail.calls if c.member == "m1")
    assert (m1.outcome, m1.category) == ("failed", "model_missing")


async def test_a_member_cut_mid_stream_keeps_what_it_streamed(ollama_server, store):
    server = ollama_server(script(
        beta=Reply(pieces=("half", " a", " thought", " lost"), fault=Fault.DROP, fault_after=2)))
    recorded = await record(store, registry_for(server.url, REGISTRY),
                            RunRequest("go", ensemble="trio"))
    detail = await store.run(recorded.run_id)
    m2 = next(c for c in detail.calls if c.member == "m2")
    assert (m2.outcome, m2.category, m2.text) == ("failed", "dropped", "half a")
    assert detail.run.status == "partial"


async def test_writes_are_batched_not_one_transaction_per_event(ollama_server, store):
    slow = {"piece_delay_s": 0.01}
    server = ollama_server(script(alpha=Reply(pieces=words(60), **slow),
                                  beta=Reply(pieces=words(60), **slow),
                                  gamma=Reply(pieces=words(60), **slow)))
    statements: list[str] = []
    lock = threading.Lock()

    def trace(sql: str) -> None:  # runs on the connection's thread
        with lock:
            statements.append(sql.strip().split()[0].upper())

    await store.db.conn.set_trace_callback(trace)
    recorded = await record(store, registry_for(server.url, REGISTRY),
                            RunRequest("go", ensemble="trio"))
    await store.db.conn.set_trace_callback(None)
    commits = statements.count("COMMIT")
    duration = recorded.events[-1].t
    assert len(recorded.events) > 190
    # One transaction per interval (0.5 s) while streaming, one at run end.
    assert 1 <= commits <= duration / 0.5 + 2, (commits, duration)
    assert statements.count("BEGIN") == commits


async def test_streamed_text_reaches_the_disk_within_a_second(ollama_server, store, db_path):
    server = ollama_server(script(alpha=Reply(pieces=words(400), piece_delay_s=0.01)))
    controller = Controller(registry_for(server.url, REGISTRY))
    events: list[Event] = []
    controller.subscribe(events.append)
    recorder = store.recorder()
    controller.subscribe(recorder)
    run_id = controller.start(RunRequest("write at length", role="coder"))
    try:
        checked = 0
        while checked < 3:
            await asyncio.sleep(0.7)
            deltas = [e for e in events if isinstance(e, Delta)]
            if not deltas or deltas[-1].t < 1.2:
                continue
            now_t = deltas[-1].t
            # What another process reading the file sees right now.
            on_disk = await asyncio.to_thread(_text_on_disk, db_path, run_id)
            due = "".join(d.text for d in deltas if d.t <= now_t - 1.0)
            assert on_disk.startswith(due), (len(on_disk), len(due))
            checked += 1
    finally:
        await controller.cancel()
        await recorder.aclose()
        await controller.aclose()
    assert recorder.error is None


def _text_on_disk(path, run_id: str) -> str:
    import json

    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT body FROM events WHERE run_id = ? AND type = 'deltas' "
                            "ORDER BY seq", (run_id,)).fetchall()
    finally:
        conn.close()
    return "".join(item[2] for (body,) in rows for item in json.loads(body))


async def test_a_full_disk_switches_recording_off_and_keeps_what_was_saved(ollama_server, store,
                                                                       db_path):
    server = ollama_server(script())
    registry = registry_for(server.url, REGISTRY)
    first = await record(store, registry, RunRequest("first", ensemble="trio"))
    # SQLite's own page limit raises the same SQLITE_FULL a full disk does.
    (pages,) = (await store.db.fetchall("PRAGMA page_count"))[0]
    await store.db.conn.execute(f"PRAGMA max_page_count = {pages}")
    big = Reply(pieces=tuple(" " + "x" * 500 for _ in range(400)))
    server.script = script(alpha=big, beta=big, gamma=big)
    controller = Controller(registry)
    recorder = store.recorder()
    controller.subscribe(recorder)
    status = await controller.run(RunRequest("second", ensemble="trio"), seed=1)
    await recorder.flush()
    await recorder.aclose()
    await controller.aclose()
    assert status == "ok"  # the run itself never noticed
    assert recorder.error is not None and "disk is full" in str(recorder.error)
    assert not recorder.enabled
    recorder(first.events[0])  # a disabled recorder ignores events, never raises

    async with await Store.open(db_path) as reopened:
        assert await reopened.events(first.run_id) == first.events
        assert (await reopened.run(first.run_id)).run.status == "ok"


async def test_a_one_off_run_gets_a_session_of_its_own(ollama_server, store):
    server = ollama_server(script())
    recorded = await record(store, registry_for(server.url, REGISTRY),
                            RunRequest("  \n  what is a set?\nsecond line", role="coder"))
    (summary,) = await store.sessions()
    assert summary.id == "s" + recorded.run_id
    assert summary.title == "what is a set?"
    assert summary.turns == 1 and summary.last_status == "ok"


async def test_events_of_a_run_started_before_subscribing_are_ignored(ollama_server, db_path):
    server = ollama_server(script(alpha=Reply(pieces=words(50), piece_delay_s=0.005)))
    controller = Controller(registry_for(server.url, REGISTRY))
    async with await Store.open(db_path) as store:
        recorder = store.recorder()
        started = asyncio.Event()
        controller.subscribe(lambda e: started.set())
        run_id = controller.start(RunRequest("go", role="coder"))
        await started.wait()
        controller.subscribe(recorder)
        await controller.wait(run_id)
        await recorder.aclose()
        await controller.aclose()
        assert recorder.error is None
        assert await store.sessions() == []
