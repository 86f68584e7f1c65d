"""The contract other code relies on."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

import loco_tui.parser as parser
from loco_tui.parser import (
    ParseEvent,
    ParseResult,
    ResponseKind,
    StreamParser,
    ToolCall,
    VerdictParse,
    classify_response,
    parse_tool_calls,
    parse_verdict,
)


def test_exports() -> None:
    for name in ["parse_tool_calls", "StreamParser", "ToolCall", "ParseResult", "ParseEvent",
                 "ResponseKind", "classify_response", "parse_verdict", "VerdictParse"]:
        assert hasattr(parser, name)


def test_toolcall_shape_and_equality() -> None:
    call = parse_tool_calls('<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>')[0]
    assert call == ToolCall("f", {"x": 1})
    assert call.format == "hermes" and call.repaired == () and call.offset == len("<tool_call>")
    with pytest.raises(dataclasses.FrozenInstanceError):
        call.name = "g"  # type: ignore[misc]
    assert call.to_dict()["arguments"] == {"x": 1}


def test_parse_tool_calls_equals_stream_whole() -> None:
    text = 'x [TOOL_CALLS]f[ARGS]{"a": 1} y <function=g>{"b": 2}</function>'
    p = StreamParser(known_tools=None)
    events = p.feed(text)
    result = p.finish()
    assert isinstance(result, ParseResult)
    assert parse_tool_calls(text) == result.tool_calls
    assert all(isinstance(e, ParseEvent) for e in events)
    assert result.kind is ResponseKind.TOOL_CALL
    assert result.trace[-1].kind == "classification"


def test_known_tools_accepts_any_iterable() -> None:
    gen = (t for t in ["read_file"])
    calls = parse_tool_calls("Let me call read_file with path='a.py'.", known_tools=gen)
    assert calls == [ToolCall("read_file", {"path": "a.py"})]
    assert StreamParser(set()).finish().kind is ResponseKind.EMPTY


def test_classify_and_verdict_signatures() -> None:
    assert classify_response("Winner: A") is ResponseKind.VERDICT
    v = parse_verdict("Winner: A", ["A", "B"])
    assert isinstance(v, VerdictParse) and dataclasses.asdict(v)["label"] == "A"


def test_core_never_imports_textual() -> None:
    code = ("import sys, loco_tui.parser as p; p.parse_response('x'); "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('textual', 'json_repair', 'jiter', 'partial_json_parser', 'pydantic')]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
