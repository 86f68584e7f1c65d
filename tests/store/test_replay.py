"""Replay: every shape of run (a session whose thread was trimmed, a workflow of phases)
comes back as exactly the events recorded, and `play` re-emits them at their pace."""

from __future__ import annotations

import time

from loco_tui.events import Event, PhaseStarted, ThreadTrimmed, Verdict
from loco_tui.orchestrator import RunRequest
from loco_tui.store import play
from loco_tui.testing.script import Reply
from tests.common import registry_for
from tests.store.common import REGISTRY, follow_up, record, script


async def test_a_session_with_a_trimmed_thread_replays_exactly(ollama_server, store):
    server = ollama_server(script())
    registry = registry_for(server.url, REGISTRY)
    turns = [await follow_up(store, registry, "tell me everything", None, role="small")]
    sid = turns[0].events[0].session
    for prompt in ("and more", "and even more"):
        turns.append(await follow_up(store, registry, prompt, sid, role="small"))
    trimmed = [e for t in turns for e in t.events if isinstance(e, ThreadTrimmed)]
    assert trimmed and trimmed[-1].dropped >= 1
    for recorded in turns:
        assert await store.events(recorded.run_id) == recorded.events


async def test_a_workflow_replays_exactly_and_its_phase_members_are_recorded(ollama_server,
                                                                           store):
    server = ollama_server(script())
    recorded = await record(store, registry_for(server.url, REGISTRY),
                            RunRequest("add a feature", workflow="feature"))
    assert [e.phase for e in recorded.events if isinstance(e, PhaseStarted)] == ["plan",
                                                                                "build"]
    assert await store.events(recorded.run_id) == recorded.events
    detail = await store.run(recorded.run_id)
    assert {c.member for c in detail.calls} == {"plan/m1", "plan/m2", "plan/m3", "plan/judge",
                                                "build/coder"}
    verdict = next(e for e in recorded.events if isinstance(e, Verdict))
    (stored,) = detail.verdicts
    assert stored.winner == verdict.winner and stored.winner.startswith("plan/m")
    assert sorted(stored.candidates) == ["plan/m1", "plan/m2", "plan/m3"]
    # The phase members count on the leaderboard like any ensemble member.
    tallies = {s.model: s.judge for s in await store.stats() if s.role is None}
    assert sum(t.wins for t in tallies.values()) == 1
    assert sum(t.losses for t in tallies.values()) == 2
    # A person's choice inside a phase is kept, but the run's answer is the last phase's.
    await store.record_human_verdict(recorded.run_id, "plan/m3")
    after = await store.run(recorded.run_id)
    assert after.run.answer == detail.run.answer
    assert after.human_verdict is not None
    assert sorted(after.human_verdict.candidates) == ["plan/m1", "plan/m2", "plan/m3"]


async def test_play_re_emits_the_events_in_order_at_their_pace(ollama_server, store):
    server = ollama_server(script(alpha=Reply(pieces=tuple(f" w{i}" for i in range(30)),
                                              piece_delay_s=0.01)))
    recorded = await record(store, registry_for(server.url, REGISTRY),
                            RunRequest("go", role="coder"))
    events = await store.events(recorded.run_id)
    at_once: list[Event] = []
    await play(events, at_once.append, speed=0)
    assert at_once == recorded.events

    paced: list[tuple[float, Event]] = []
    t0 = time.monotonic()
    await play(events, lambda e: paced.append((time.monotonic() - t0, e)), speed=2)
    assert [e for _, e in paced] == recorded.events
    # Nothing comes out before its time (at twice the original speed).
    assert all(at >= e.t / 2 - 0.005 for at, e in paced)
    assert paced[-1][0] >= recorded.events[-1].t / 2 - 0.005
