"""Runs end to end through real HTTP: fake Ollama on loopback, the real provider, the
orchestrator and the controller, asserting on the event stream."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from loco_tui.controller import Controller
from loco_tui.events import (
    Delta,
    Event,
    FailureCategory,
    JudgeStarted,
    MemberFailed,
    MemberFinished,
    MemberStarted,
    Route,
    RunFinished,
    RunStarted,
    Verdict,
)
from loco_tui.orchestrator import RunRequest
from loco_tui.testing.script import Fault, Reply
from tests.common import ENSEMBLE, registry_for, trio_script


async def collect(controller: Controller, request: RunRequest, seed: int = 7) -> tuple[str, list[Event]]:
    events: list[Event] = []
    controller.subscribe(events.append)
    status = await controller.run(request, seed=seed)
    return status, events


async def test_ensemble_of_three_and_judge_emits_documented_events_in_order(ollama_server):
    server = ollama_server(trio_script())
    controller = Controller(registry_for(server.url, ENSEMBLE))
    status, events = await collect(controller, RunRequest("dedupe a list", ensemble="trio"))
    await controller.aclose()

    assert status == "ok"
    types = [e.type for e in events]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert isinstance(events[-1], RunFinished) and events[-1].status == "ok"
    started = [e for e in events if isinstance(e, MemberStarted)]
    assert [(e.member, e.model, e.persona) for e in started if e.member != "judge"] == [
        ("m1", "alpha", "skeptic"), ("m2", "beta", None), ("m3", "gamma", None)]
    # Every member streams before it finishes, and all finish before the judge starts.
    for member in ("m1", "m2", "m3"):
        i_start = next(i for i, e in enumerate(events) if isinstance(e, MemberStarted) and e.member == member)
        i_delta = next(i for i, e in enumerate(events) if isinstance(e, Delta) and e.member == member)
        i_done = next(i for i, e in enumerate(events) if isinstance(e, MemberFinished) and e.member == member)
        assert i_start < i_delta < i_done < types.index("judge_started")
    judge = next(e for e in events if isinstance(e, JudgeStarted))
    assert sorted(judge.labels) == ["A", "B", "C"] and sorted(judge.labels.values()) == ["m1", "m2", "m3"]
    assert types.index("judge_started") < types.index("verdict") < types.index("run_finished")
    verdict = next(e for e in events if isinstance(e, Verdict))
    # The judge said B; the winner is whichever member was shown as B.
    assert verdict.label == "B" and verdict.winner == judge.labels["B"]
    assert verdict.mode == "pick" and verdict.confidence == pytest.approx(0.8)
    finished = {e.member: e for e in events if isinstance(e, MemberFinished)}
    assert finished["m1"].text == "Alpha says use a set."
    assert finished["m1"].stats.tokens_out > 0 and finished["m1"].stats.ttft_s is not None
    # Timestamps are monotonic and every event carries the run id.
    assert all(a.t <= b.t for a, b in itertools.pairwise(events))
    assert len({e.run_id for e in events}) == 1
    # The judge saw the proposals, fenced, under labels and not under model names.
    judge_body = server.bodies("/api/chat")[-1]
    shown = judge_body["messages"][-1]["content"]
    assert "Alpha says use a set." in shown and "alpha:7b" not in shown and "m1" not in shown


async def test_members_stream_in_parallel_not_one_after_another(ollama_server):
    slow = dict(first_token_delay_s=0.3, piece_delay_s=0.05)
    script = trio_script(
        alpha=Reply.text("one two three four five six", **slow),
        beta=Reply.text("one two three four five six", **slow),
        gamma=Reply.text("one two three four five six", **slow),
    )
    server = ollama_server(script)
    controller = Controller(registry_for(server.url, ENSEMBLE))
    t0 = time.monotonic()
    status, events = await collect(controller, RunRequest("go", ensemble="trio"))
    wall = time.monotonic() - t0
    await controller.aclose()
    assert status == "ok"
    member_s = max(e.stats.duration_s for e in events if isinstance(e, MemberFinished) and e.member != "judge")
    # One member takes ~0.6 s; three in sequence would take ~1.8 s.
    assert member_s >= 0.5
    assert wall < 2 * member_s, (wall, member_s)
    # Deltas of different members interleave while they stream.
    order = [e.member for e in events if isinstance(e, Delta) and e.member != "judge"]
    firsts = [order.index(m) for m in ("m1", "m2", "m3")]
    lasts = [len(order) - 1 - order[::-1].index(m) for m in ("m1", "m2", "m3")]
    assert max(firsts) < min(lasts)


@pytest.mark.parametrize(
    ("reply", "category"),
    [
        (Reply(fault=Fault.MODEL_MISSING), FailureCategory.MODEL_MISSING),
        (Reply(pieces=("half", " a", " thought"), fault=Fault.DROP, fault_after=2), FailureCategory.DROPPED),
        (Reply(fault=Fault.HTTP_500), FailureCategory.HTTP_ERROR),
    ],
    ids=["model-missing", "dropped-mid-stream", "http-500"],
)
async def test_a_failing_member_fails_alone_and_the_judge_still_decides(ollama_server, reply, category):
    server = ollama_server(trio_script(beta=reply))
    controller = Controller(registry_for(server.url, ENSEMBLE))
    status, events = await collect(controller, RunRequest("go", ensemble="trio"))
    await controller.aclose()

    failed = [e for e in events if isinstance(e, MemberFailed)]
    assert [(e.member, e.model, e.category) for e in failed] == [("m2", "beta", category)]
    assert {e.member for e in events if isinstance(e, MemberFinished)} == {"m1", "m3", "judge"}
    judge = next(e for e in events if isinstance(e, JudgeStarted))
    assert sorted(judge.labels.values()) == ["m1", "m3"] and sorted(judge.labels) == ["A", "B"]
    verdict = next(e for e in events if isinstance(e, Verdict))
    assert verdict.winner == judge.labels["B"]
    assert status == "partial"


async def test_a_role_falls_back_along_its_chain_and_says_why(ollama_server):
    server = ollama_server(trio_script(alpha=Reply(fault=Fault.MODEL_MISSING)))
    controller = Controller(registry_for(server.url, ENSEMBLE))
    status, events = await collect(controller, RunRequest("fix this", role="coder"))
    await controller.aclose()
    assert status == "ok"
    routes = [e for e in events if isinstance(e, Route)]
    assert routes[0].model == "alpha" and routes[0].reason == "role requested"
    assert routes[1].model == "beta" and routes[1].category == FailureCategory.MODEL_MISSING
    assert "fallback" in routes[1].reason
    starts = [(e.model, e.attempt) for e in events if isinstance(e, MemberStarted)]
    assert starts == [("alpha", 1), ("beta", 2)]
    assert not any(isinstance(e, MemberFailed) for e in events)
    done = next(e for e in events if isinstance(e, MemberFinished))
    assert done.model == "beta" and done.text == "Beta says sort first then scan."


async def test_judge_failure_falls_back_to_a_visible_low_confidence_verdict(ollama_server):
    server = ollama_server(trio_script(arbiter=Reply(fault=Fault.HTTP_500)))
    controller = Controller(registry_for(server.url, ENSEMBLE))
    status, events = await collect(controller, RunRequest("go", ensemble="trio"))
    await controller.aclose()
    verdict = next(e for e in events if isinstance(e, Verdict))
    assert verdict.confidence == 0.0 and verdict.winner in {"m1", "m2", "m3"}
    assert verdict.parsed_by == "judge_failed" and "judge failed" in verdict.reason
    assert status == "partial"


async def test_an_unreadable_verdict_is_shown_with_low_confidence(ollama_server):
    server = ollama_server(trio_script(arbiter=Reply.text("They are all lovely in their own way.")))
    controller = Controller(registry_for(server.url, ENSEMBLE))
    status, events = await collect(controller, RunRequest("go", ensemble="trio"))
    await controller.aclose()
    verdict = next(e for e in events if isinstance(e, Verdict))
    assert verdict.label is None and verdict.confidence <= 0.1 and verdict.winner in {"m1", "m2", "m3"}
    assert status == "partial"


async def test_when_every_member_fails_the_run_fails(ollama_server):
    dead = Reply(fault=Fault.MODEL_MISSING)
    server = ollama_server(trio_script(alpha=dead, beta=dead, gamma=dead))
    controller = Controller(registry_for(server.url, ENSEMBLE))
    status, events = await collect(controller, RunRequest("go", ensemble="trio"))
    await controller.aclose()
    assert status == "failed"
    assert not any(isinstance(e, JudgeStarted) for e in events)
    assert events[-1].status == "failed"


async def test_cancel_ends_every_stream_and_task(ollama_server):
    stalled = Reply(pieces=tuple(f" w{i}" for i in range(200)), piece_delay_s=0.05)
    server = ollama_server(trio_script(alpha=stalled, beta=stalled, gamma=stalled))
    controller = Controller(registry_for(server.url, ENSEMBLE))
    events: list[Event] = []
    controller.subscribe(events.append)
    before = asyncio.all_tasks()
    run_id = controller.start(RunRequest("go", ensemble="trio"))
    while sum(isinstance(e, Delta) for e in events) < 6:
        await asyncio.sleep(0.01)
    await controller.cancel(run_id)
    assert await asyncio.to_thread(server.wait_for_no_connections, 3.0)
    await asyncio.sleep(0)
    leftover = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert leftover == []
    assert events[-1].type == "run_finished" and events[-1].status == "cancelled"
    cancelled = [e for e in events if isinstance(e, MemberFailed)]
    assert {e.member for e in cancelled} == {"m1", "m2", "m3"}
    assert {e.category for e in cancelled} == {FailureCategory.CANCELLED}
    await controller.aclose()


async def test_rules_route_a_prompt_to_the_matching_role(ollama_server):
    body = ENSEMBLE + """
[routing]
default_role = "judge"
[[routing.rules]]
when = ["traceback", "/\\\\bbug\\\\b/"]
role = "coder"
"""
    server = ollama_server(trio_script())
    controller = Controller(registry_for(server.url, body))
    _, events = await collect(controller, RunRequest("I hit a bug in parsing"))
    route = next(e for e in events if isinstance(e, Route))
    assert route.role == "coder" and "rule matched" in route.reason
    _, events = await collect(controller, RunRequest("hello there"))
    route = [e for e in events if isinstance(e, Route)][-1]
    assert route.role == "judge" and route.reason.startswith("default role")
    await controller.aclose()


async def test_an_unknown_target_fails_the_run_with_a_message(ollama_server):
    server = ollama_server(trio_script())
    controller = Controller(registry_for(server.url, ENSEMBLE))
    status, events = await collect(controller, RunRequest("go", ensemble="nope"))
    await controller.aclose()
    assert status == "failed"
    assert isinstance(events[0], RunStarted)
    assert "unknown ensemble 'nope'" in (events[-1].message or "")


def test_events_round_trip_through_json_with_nulls_kept():
    from loco_tui.events import event_from_json

    verdict = Verdict(run_id="r", t=1.5, winner=None, label=None, mode="synthesize",
                      confidence=0.4, reason="merged", parsed_by="json")
    line = verdict.to_json()
    data = __import__("json").loads(line)
    assert data["winner"] is None and data["label"] is None and data["type"] == "verdict"
    assert event_from_json(line) == verdict


WORKFLOW = ENSEMBLE + """
[workflows.feature]
phases = [
  { name = "plan", type = "ensemble", ensemble = "trio", context = "fresh" },
  { name = "build", type = "routed", context = "distilled" },
  { name = "audit", type = "single", role = "judge", context = "scoped" },
]
"""


async def test_a_workflow_runs_its_phases_in_order_and_passes_context(ollama_server):
    server = ollama_server(trio_script())
    controller = Controller(registry_for(server.url, WORKFLOW))
    status, events = await collect(controller, RunRequest("add caching", workflow="feature"))
    await controller.aclose()
    assert status == "ok"
    phases = [(e.type, e.phase) for e in events if e.type in ("phase_started", "phase_finished")]
    assert phases == [("phase_started", "plan"), ("phase_finished", "plan"),
                      ("phase_started", "build"), ("phase_finished", "build"),
                      ("phase_started", "audit"), ("phase_finished", "audit")]
    members = {e.member for e in events if isinstance(e, MemberStarted)}
    assert {"plan/m1", "plan/m2", "plan/m3", "plan/judge", "build/routed", "audit/judge"} <= members
    winner_text = {"m1": "Alpha says use a set.", "m2": "Beta says sort first then scan.",
                   "m3": "Gamma says a dict keeps order."}
    verdict = next(e for e in events if isinstance(e, Verdict))
    planned = winner_text[verdict.winner.split("/")[1]]
    chats = [b["messages"][-1]["content"] for b in server.bodies("/api/chat")]
    # build (distilled) sees the task and the plan's winner; audit (scoped) sees only build's output.
    build_prompt = next(c for c in chats if c.startswith("add caching\n\nOutcome of the plan phase"))
    assert planned in build_prompt
    audit_prompt = chats[-1]
    assert audit_prompt.startswith("Task for the audit phase") and "add caching" not in audit_prompt


async def test_a_synthesized_verdict_has_no_winner(ollama_server):
    merged = ("Use a dict to keep order and a set for speed.\n"
              '{"winner": null, "mode": "synthesize", "confidence": 0.6, "reason": "each had part"}')
    server = ollama_server(trio_script(arbiter=Reply.text(merged)))
    controller = Controller(registry_for(server.url, ENSEMBLE))
    status, events = await collect(controller, RunRequest("go", ensemble="trio"))
    await controller.aclose()
    verdict = next(e for e in events if isinstance(e, Verdict))
    assert verdict.mode == "synthesize" and verdict.winner is None and verdict.label is None
    assert verdict.confidence == pytest.approx(0.6) and status == "ok"


async def test_a_sequential_ensemble_shows_later_members_the_earlier_proposals(ollama_server):
    body = ENSEMBLE.replace('judge = "judge"\n', 'judge = "judge"\nmode = "sequential"\n')
    server = ollama_server(trio_script())
    controller = Controller(registry_for(server.url, body))
    status, events = await collect(controller, RunRequest("go", ensemble="trio"))
    await controller.aclose()
    assert status == "ok"
    finished = [e.member for e in events if isinstance(e, MemberFinished)]
    assert finished[:3] == ["m1", "m2", "m3"]  # one after another
    prompts = {b["model"]: b["messages"][-1]["content"] for b in server.bodies("/api/chat")}
    assert "Alpha says use a set." in prompts["beta:3b"]
    assert "Alpha says use a set." in prompts["gamma:1b"] and "Beta says" in prompts["gamma:1b"]
    assert "Earlier proposal" not in prompts["alpha:7b"]


@pytest.mark.parametrize(
    ("fault", "category"),
    [(Fault.DROP, FailureCategory.DROPPED), (Fault.STALL, FailureCategory.STALLED)],
    ids=["dropped", "stalled"],
)
async def test_a_stream_that_breaks_mid_way_falls_back_to_the_next_model(ollama_server, fault, category):
    broken = Reply(pieces=("Alpha", " starts", " then", " breaks"), fault=fault, fault_after=2)
    server = ollama_server(trio_script(alpha=broken))
    controller = Controller(registry_for(server.url, ENSEMBLE))
    status, events = await collect(controller, RunRequest("fix this", role="coder"))
    await controller.aclose()
    assert status == "ok"
    streamed = "".join(e.text for e in events if isinstance(e, Delta))
    assert streamed.startswith("Alpha starts")  # the partial answer was shown, then replaced
    fallback = [e for e in events if isinstance(e, Route)][1]
    assert fallback.category == category and fallback.model == "beta"
    done = next(e for e in events if isinstance(e, MemberFinished))
    assert done.model == "beta" and done.text == "Beta says sort first then scan."


async def test_model_routing_asks_the_orchestrator_model_and_says_so(ollama_server):
    body = ENSEMBLE.replace(
        'judge = "arbiter"\n', 'judge = "arbiter"\norchestrator = "gamma"\nwriter = "beta"\n'
    ) + """
[routing]
strategy = "hybrid"
default_role = "judge"
[[routing.rules]]
when = ["traceback"]
role = "coder"
"""
    script = trio_script(gamma=Reply.text("The best fit is coder."))
    server = ollama_server(script)
    controller = Controller(registry_for(server.url, body))
    _, events = await collect(controller, RunRequest("make my loop faster"))
    route = next(e for e in events if isinstance(e, Route))
    assert route.role == "coder" and route.reason == "orchestrator model gamma chose it"
    asked_prompt = server.bodies("/api/chat")[0]["messages"][-1]["content"]
    assert "- coder" in asked_prompt and "- writer" in asked_prompt
    # A rule that matches wins without asking the model (hybrid = rules first).
    asked = len(server.bodies("/api/chat"))
    _, events = await collect(controller, RunRequest("here is a traceback"))
    route = [e for e in events if isinstance(e, Route)][-1]
    assert route.reason == "rule matched 'traceback'"
    assert len(server.bodies("/api/chat")) == asked + 1  # only the routed call itself
    await controller.aclose()
