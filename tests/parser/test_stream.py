"""Streaming properties: any split equals the whole text, nothing ever raises, cost is linear."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loco_tui.parser import StreamParser, parse_response

from .cases import all_texts

CASES = all_texts()

# Pieces of every dialect's markup, for generating adversarial outputs.
FRAGMENTS = [
    "<tool_call>", "</tool_call>", "{", "}", "[", "]", '"', "'", ":", ",", "\n", " ", "name",
    '"name": "f"', '"arguments": {', '"parameters"', "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]",
    "<|python_tag|>", "<|eom_id|>", "<function=f>", "</function>", "<think>", "</think>", "```",
    "```json\n", "```python\n", "get_weather(", ")", "city=", '"Paris"', "<tool>", "</tool>",
    "<params>", "</params>", "<read_file>", "</read_file>", "<path>", "</path>",
    "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>",
    "<|tool_call|>", "True", "None", "//", "/*", "*/", "#", "Action: f\n", "Action Input: ",
    "call read_file with path=", "\\", "x", "1", "-", "<", ">", "`", '"type": "function"',
    "<parameter=a>", "</parameter>", "[THINK]", "[/THINK]", ";", "<|python_start|>",
    '{"name": "f", "arguments": {"a": 1}}', '<invoke name="g">', "</invoke>", "é", "｜", "▁",
]


def run_split(text: str, cuts: list[int], known: list[str] | None) -> dict:
    p = StreamParser(known)
    events = []
    prev = 0
    for c in [*sorted(set(cuts)), len(text)]:
        events += p.feed(text[prev:c])
        prev = c
    result = p.finish()
    # feed() returned every event of the trace before finish() added its own
    tail = [e for e in result.trace[len(events):]]
    assert result.trace[:len(events)] == events
    assert all(e.kind in ("classification", "call", "repair", "format", "rejected", "think",
                          "call_started", "retract") for e in tail)
    return result.to_dict()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.parametrize(("text", "known"), [pytest.param(t, k, id=i) for i, t, k in CASES])
@given(data=st.data())
def test_random_splits_equal_whole(text: str, known: list[str] | None, data: st.DataObject) -> None:
    n = len(text)
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=max(n, 0)), max_size=max(n, 1)))
    assert run_split(text, cuts, known) == parse_response(text, known).to_dict()


@settings(max_examples=250, deadline=None)
@given(text=st.text(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=30),
       known=st.sampled_from([None, ["read_file", "f"]]))
def test_arbitrary_text_never_raises(text: str, cuts: list[int], known: list[str] | None) -> None:
    whole = parse_response(text, known)
    assert not any(e.kind == "error" for e in whole.trace)
    json.dumps(whole.to_dict())  # every detail is JSON-serialisable
    cuts = [c for c in cuts if c <= len(text)]
    assert run_split(text, cuts, known) == whole.to_dict()


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=30),
       cuts=st.lists(st.integers(0, 400), max_size=40),
       known=st.sampled_from([None, ["read_file", "f"]]))
def test_markup_soup_splits_equal_whole(pieces: list[str], cuts: list[int],
                                        known: list[str] | None) -> None:
    text = "".join(pieces)
    whole = parse_response(text, known)
    assert not any(e.kind == "error" for e in whole.trace)
    json.dumps(whole.to_dict())
    assert run_split(text, [c for c in cuts if c <= len(text)], known) == whole.to_dict()


def test_non_string_and_empty_chunks_do_not_raise() -> None:
    p = StreamParser()
    assert p.feed("") == []
    p.feed(None)  # type: ignore[arg-type]
    p.feed(b'{"name": "f", ')  # type: ignore[arg-type]
    p.feed('"arguments": {}}')
    r = p.finish()
    assert [c.name for c in r.tool_calls] == ["f"]
    assert p.finish() is r  # idempotent
    assert p.feed("more") == []


def test_call_event_arrives_while_streaming() -> None:
    """A call is reported by the feed() that completes it, not only at finish()."""
    text = ('Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}'
            "\n</tool_call>\nMore prose follows here and goes on for a while.")
    p = StreamParser()
    seen_at = None
    for i, ch in enumerate(text):
        if any(e.kind == "call" for e in p.feed(ch)):
            seen_at = i
            break
    assert seen_at == text.index("</tool_call>") + len("</tool_call>") - 1


def test_marker_split_across_chunks_is_held_back() -> None:
    p = StreamParser()
    p.feed("Sure <tool_ca")
    p.feed('ll>{"name": "f", "arguments": {}}</tool_')
    p.feed("call> done [TOOL_CAL")
    p.feed('LS]g[AR')
    p.feed('GS]{"x": 1}')
    r = p.finish()
    assert [(c.name, c.arguments, c.format) for c in r.tool_calls] == [
        ("f", {}, "hermes"), ("g", {"x": 1}, "mistral")]
    assert r.text == "Sure  done"


def test_fake_marker_flushes_as_text() -> None:
    r = parse_response("abc[TOOL not a tag <tool_ca and <toolbox> stays")
    assert r.tool_calls == []
    assert r.text == "abc[TOOL not a tag <tool_ca and <toolbox> stays"


def _max_buffer(text: str) -> int:
    p = StreamParser()
    sc = p._sc
    worst = 0
    for ch in text:
        p.feed(ch)
        worst = max(worst, len(sc.buf) - sc.pos)
    p.finish()
    return worst


def test_held_back_text_stays_bounded() -> None:
    """Linear cost: the scanner never keeps more than a marker's worth of undecided text,
    even inside a long call (its body moves out of the buffer as it is scanned)."""
    long_arg = "x" * 50_000
    text = ("Some prose with a < b and [links](x) and {braces}.\n" * 500
            + '<tool_call>{"name": "write_file", "arguments": {"content": "' + long_arg
            + '"}}</tool_call>' + '{"name": "w", "arguments": {"c": "' + long_arg + '"}}')
    assert _max_buffer(text) < 2000


def test_one_byte_streaming_is_not_quadratic() -> None:
    unit = ('Text {"name": "f", "arguments": {"a": [1, 2, 3]}} more <tool_call>{"name": "g", '
            '"arguments": {}}</tool_call>\n[h(x=1)]\n')
    small, big = unit * 200, unit * 1600
    def cost(text: str) -> float:
        t0 = time.perf_counter()
        p = StreamParser()
        for ch in text:
            p.feed(ch)
        p.finish()
        return time.perf_counter() - t0
    cost(small)
    ratio = min(cost(big) for _ in range(2)) / min(cost(small) for _ in range(2))
    assert ratio < 8 * 2.5  # 8x the text: linear is ~8x; quadratic would be ~64x


def test_odd_chunk_types_are_read_as_text() -> None:
    p = StreamParser()
    for piece in (b"<", b"tool_call>", '{"name": "f", ', bytearray(b'"arguments": {}}'),
                  "</tool_call>", None, ""):
        p.feed(piece)  # type: ignore[arg-type]
    assert [c.name for c in p.finish().tool_calls] == ["f"]
