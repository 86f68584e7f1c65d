"""The judge's verdict says what the judge said: its own confidence (or none), a copied
example is no verdict, and its pane never shows the brief's fence markers."""

from __future__ import annotations

from loco_tui.controller import Controller
from loco_tui.events import Delta, MemberFinished, RunFinished, Verdict
from loco_tui.orchestrator import RunRequest
from loco_tui.orchestrator.judge import FenceFilter, copies_example
from loco_tui.testing.script import Reply
from tests.common import ENSEMBLE, registry_for, trio_script


async def judged(ollama_server, judge_reply: Reply) -> list:
    server = ollama_server(trio_script(arbiter=judge_reply))
    controller = Controller(registry_for(server.url, ENSEMBLE))
    events: list = []
    controller.subscribe(events.append)
    try:
        await controller.run(RunRequest("dedupe a list", ensemble="trio"), seed=7)
    finally:
        await controller.aclose()
    return events


async def test_the_confidence_is_what_the_judge_stated(ollama_server):
    events = await judged(ollama_server, Reply.text(
        'B is clearest.\n{"winner": "B", "mode": "pick", "confidence": 0.62, "reason": "clear"}'))
    verdict = next(e for e in events if isinstance(e, Verdict))
    assert verdict.confidence == 0.62 and verdict.parsed_by == "json"


async def test_a_judge_that_states_no_confidence_has_none(ollama_server):
    events = await judged(ollama_server, Reply.text("B"))
    verdict = next(e for e in events if isinstance(e, Verdict))
    assert verdict.label == "B" and verdict.winner is not None
    assert verdict.confidence is None  # unknown, not a constant chosen by the parse path
    assert verdict.parsed_by == "bare_label"


async def test_a_verdict_copied_from_the_brief_is_rejected(ollama_server):
    copied = ('Which proposal is best: A, B, C? Give one sentence of reasoning, then the JSON '
              'line, for example {"winner": "A", "mode": "pick", "confidence": 0.7, '
              '"reason": "..."}')
    events = await judged(ollama_server, Reply.text(copied))
    verdict = next(e for e in events if isinstance(e, Verdict))
    assert verdict.parsed_by == "copied_example"
    assert verdict.confidence == 0.0 and verdict.label is None
    assert "copied the example verdict" in verdict.reason
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.status == "partial"


async def test_the_judge_pane_never_shows_the_fence_markers(ollama_server):
    echo = ('Looking at <proposal-0a1b2c3d label="A"> first: fine.</proposal-0a1b2c3d> '
            'Then <proposal-0a1b2c3d label="B">. {"winner": "B", "mode": "pick", '
            '"confidence": 0.9, "reason": "best"}')
    events = await judged(ollama_server, Reply.text(echo, piece_delay_s=0.001))
    shown = "".join(e.text for e in events if isinstance(e, Delta) and e.member == "judge")
    assert "<proposal-" not in shown and "</proposal-" not in shown
    assert "Looking at  first: fine." in shown
    judge_done = next(e for e in events if isinstance(e, MemberFinished) and e.member == "judge")
    assert "<proposal-" not in judge_done.text
    verdict = next(e for e in events if isinstance(e, Verdict))
    assert verdict.label == "B"  # the verdict was read from the raw reply


def test_the_fence_filter_holds_back_a_marker_split_across_pieces():
    text = 'a <proposal-0123abcd label="C">b</proposal-0123abcd> c <b>d</b> e < f'
    for cut in range(1, len(text)):
        fence = FenceFilter()
        out = fence.feed(text[:cut]) + fence.feed(text[cut:]) + fence.flush()
        assert out == "a b c <b>d</b> e < f", cut


def test_copies_example():
    assert copies_example('{"winner": "<label>", "mode": "pick"}')
    assert copies_example('x {"winner": "A", "confidence": 0.7, "reason": "..."}')
    assert not copies_example('{"winner": "A", "confidence": 0.7, "reason": "shorter"}')
    assert not copies_example("no json here")
