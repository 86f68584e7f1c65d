"""Every dialect real models emit, read from real-looking outputs (table in cases.py)."""

from __future__ import annotations

import pytest

from loco_tui.parser import (
    ParseResult,
    ResponseKind,
    StreamParser,
    parse_response,
    parse_tool_calls,
)

from .cases import DIALECT_CASES, NEGATIVE_CASES


@pytest.mark.parametrize(("text", "expected", "opts"),
                         [pytest.param(t, c, o, id=i) for i, t, c, o in DIALECT_CASES])
def test_dialect_calls(text: str, expected: list[tuple[str, dict]], opts: dict) -> None:
    result = parse_response(text, opts.get("known"))
    assert [(c.name, c.arguments) for c in result.tool_calls] == expected
    assert result.kind is ResponseKind.TOOL_CALL
    if "format" in opts:
        assert {c.format for c in result.tool_calls} == {opts["format"]}
    if "text" in opts:
        assert result.text == opts["text"]
    for call in result.tool_calls:
        assert call.offset is not None and 0 <= call.offset < len(text)


@pytest.mark.parametrize(("text", "expected", "opts"),
                         [pytest.param(t, c, o, id=i) for i, t, c, o in DIALECT_CASES])
def test_one_char_chunks_equal_whole(text: str, expected: list, opts: dict) -> None:
    whole = parse_response(text, opts.get("known"))
    p = StreamParser(opts.get("known"))
    for ch in text:
        p.feed(ch)
    streamed = p.finish()
    assert streamed.to_dict() == whole.to_dict()
    assert parse_tool_calls(text, opts.get("known")) == streamed.tool_calls


def test_mistral_ids_are_kept() -> None:
    calls = parse_tool_calls('[TOOL_CALLS]get_weather[CALL_ID]abc123XYZ[ARGS]{"city": "Paris"}')
    assert calls[0].id == "abc123XYZ"
    calls = parse_tool_calls('[TOOL_CALLS][{"name": "s", "arguments": {}, "id": "a1B2c3D4e"}]')
    assert calls[0].id == "a1B2c3D4e"
    calls = parse_tool_calls('{"tool_calls": [{"id": "call_1", "type": "function", "function": '
                             '{"name": "f", "arguments": "{}"}}]}')
    assert calls[0].id == "call_1"


def test_text_keeps_prose_and_drops_markup() -> None:
    r = parse_response("<think>plan the call</think>Let me check.\n<tool_call>{\"name\": \"f\", "
                       "\"arguments\": {}}</tool_call>\nBack soon.<|im_end|>")
    assert r.text == "Let me check.\n\nBack soon."
    assert r.reasoning == "plan the call"
    assert [c.name for c in r.tool_calls] == ["f"]


def test_known_tools_filter_weak_dialects_only() -> None:
    bare = '{"name": "rm_rf", "arguments": {"path": "/"}}'
    assert parse_tool_calls(bare, known_tools=["read_file"]) == []
    assert [c.name for c in parse_tool_calls(bare)] == ["rm_rf"]
    # an explicit marker is kept even for a tool the caller did not list
    marked = f"<tool_call>{bare}</tool_call>"
    assert [c.name for c in parse_tool_calls(marked, known_tools=["read_file"])] == ["rm_rf"]


def test_prose_calls_only_when_nothing_structured() -> None:
    text = ("I'll call read_file with path='main.go'.\n<tool_call>{\"name\": \"read_file\", "
            "\"arguments\": {\"path\": \"main.go\"}}</tool_call>")
    calls = parse_tool_calls(text, known_tools=["read_file"])
    assert [(c.name, c.format) for c in calls] == [("read_file", "hermes")]


def test_calls_are_in_text_order() -> None:
    text = ('[TOOL_CALLS]b[ARGS]{}\n<tool_call>{"name": "c", "arguments": {}}</tool_call>\n'
            '{"name": "d", "arguments": {}}')
    assert [c.name for c in parse_tool_calls("a " + text)] == ["b", "c", "d"]


def test_case_counts() -> None:
    # The suite promises real coverage: at least 30 negatives (see test_negatives.py).
    assert len(NEGATIVE_CASES) >= 30
    assert len(DIALECT_CASES) >= 50


def test_result_type() -> None:
    assert isinstance(parse_response("hi"), ParseResult)


def test_python_tag_pythonic_list_allows_zero_args() -> None:
    calls = parse_tool_calls("<|python_tag|>[get_time(), get_weather(city='Paris')]<|eom_id|>")
    assert [(c.name, c.arguments, c.format) for c in calls] == [
        ("get_time", {}, "python_tag"), ("get_weather", {"city": "Paris"}, "python_tag")]
