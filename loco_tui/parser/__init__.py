"""Loco's model-output parser: tool calls in every dialect local models emit, read while they
stream; JSON repair; response classification; judge verdicts. Stdlib only, no UI imports.

    >>> parse_tool_calls('<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>')
    [ToolCall(name='f', arguments={'x': 1})]
"""

from __future__ import annotations

from .classify import classify_text
from .jsonrepair import RepairError, TruncatedStr, repair_loads
from .schema import CallProblem, check_call
from .stream import StreamParser, classify_response, parse_response, parse_tool_calls
from .types import ParseEvent, ParseResult, ResponseKind, ToolCall
from .verdict import VerdictParse, parse_verdict

__all__ = [
    "CallProblem",
    "ParseEvent",
    "ParseResult",
    "RepairError",
    "ResponseKind",
    "StreamParser",
    "ToolCall",
    "TruncatedStr",
    "VerdictParse",
    "check_call",
    "classify_response",
    "classify_text",
    "parse_response",
    "parse_tool_calls",
    "parse_verdict",
    "repair_loads",
]
