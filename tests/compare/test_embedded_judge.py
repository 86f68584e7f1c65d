"""The built-in registry's judge (SmolLM2-135M in-process) under the verdict's grammar: it
can only name a label it was shown, its verdict is read as JSON, and its confidence is the
probability it put on that label. Runs the real model (the `embedded` extra is installed
for the tests: nothing here skips)."""

from __future__ import annotations

import pytest

from loco_tui.controller import Controller
from loco_tui.events import Event, JudgeStarted, RunFinished, Verdict
from loco_tui.orchestrator import RunRequest
from loco_tui.orchestrator.context import RunContext
from loco_tui.orchestrator.judging import judge_ensemble
from loco_tui.orchestrator.member import MemberOutcome
from loco_tui.providers.pool import ProviderPool
from loco_tui.registry import default_registry

pytestmark = pytest.mark.embedded

CASES = [
    ("How do I reverse a list in Python?",
     {"m1": "Use my_list.reverse() to reverse it in place, or my_list[::-1] for a copy.",
      "m2": "You cannot reverse lists in Python.", "m3": "Use sorted(my_list)."}),
    ("Write a haiku about rain.",
     {"m1": "Rain is water that falls.",
      "m2": "Soft rain on the roof / whispers to the sleeping town / puddles hold the sky",
      "m3": "I like pizza."}),
]


def readable(verdict: Verdict, shown: JudgeStarted) -> None:
    assert verdict.label in shown.labels and verdict.winner == shown.labels[verdict.label]
    assert verdict.parsed_by == "json" and verdict.via == "schema"
    assert verdict.confidence_source == "logprob"
    assert verdict.confidence is not None and 0 < verdict.confidence <= 1
    assert verdict.judge_model == "smol-judge"


async def test_the_built_in_ensemble_ends_with_a_readable_constrained_verdict():
    controller = Controller(default_registry())
    events: list[Event] = []
    controller.subscribe(events.append)
    try:
        status = await controller.run(
            RunRequest("What is the capital of France? One sentence.", ensemble="default"),
            seed=1)
    finally:
        await controller.aclose()
    assert status == "ok"
    verdict = next(e for e in events if isinstance(e, Verdict))
    readable(verdict, next(e for e in events if isinstance(e, JudgeStarted)))
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.answer_from == verdict.winner


async def test_the_built_in_judge_reads_as_json_in_both_orders():
    registry = default_registry()
    pool = ProviderPool(registry)
    ensemble = registry.ensembles["default"].model_copy(update={"debias": True})
    try:
        for task, proposals in CASES:
            events: list[Event] = []
            survivors = [MemberOutcome(member, "smol", None, True, text=text, finished_at=n)
                         for n, (member, text) in enumerate(proposals.items())]
            await judge_ensemble(RunContext(events.append, seed=3), pool.chain("judge"),
                                 ensemble, task, survivors, pool.context_budget)
            first, second = (e for e in events if isinstance(e, JudgeStarted))
            verdict = next(e for e in events if isinstance(e, Verdict))
            readable(verdict, first)
            # The reversed pass was read too: consistency is known either way.
            assert verdict.position_consistent is not None
            assert verdict.reversed_label in second.labels
    finally:
        await pool.aclose()
