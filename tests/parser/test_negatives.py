"""No false positives: prose, code samples, data, definitions and reasoning hold no call."""

from __future__ import annotations

import pytest

from loco_tui.parser import StreamParser, parse_response

from .cases import NEGATIVE_CASES


@pytest.mark.parametrize(("text", "opts"), [pytest.param(t, o, id=i) for i, t, o in NEGATIVE_CASES])
def test_no_call(text: str, opts: dict) -> None:
    result = parse_response(text, opts.get("known"))
    assert result.tool_calls == []
    assert result.kind.value != "tool_call"
    assert not any(e.kind == "call" for e in result.trace)


@pytest.mark.parametrize(("text", "opts"), [pytest.param(t, o, id=i) for i, t, o in NEGATIVE_CASES])
def test_visible_text_is_kept(text: str, opts: dict) -> None:
    """Whatever is not a call (or reasoning, or a special token) stays readable."""
    result = parse_response(text, opts.get("known"))
    if "<think>" not in text and "[THINK]" not in text and "<｜" not in text and \
            "[TOOL_CALLS]" not in text:
        assert result.text == text.strip()


def test_tool_definition_is_reported_as_rejected() -> None:
    text = ('{"name": "get_weather", "description": "Weather", "parameters": {"type": "object", '
            '"properties": {"city": {"type": "string"}}}}')
    p = StreamParser()
    p.feed(text)
    r = p.finish()
    rejected = [e for e in r.trace if e.kind == "rejected"]
    assert rejected and "tool definition" in rejected[0].detail["reason"]


def test_half_name_is_never_a_call() -> None:
    assert parse_response('<tool_call>{"name": "get_wea').tool_calls == []
    assert parse_response('{"name": "get_weather", "arguments": {"city": "Pa').tool_calls != []
