"""Malformed output: what is recoverable is recovered, and every repair is reported."""

from __future__ import annotations

import math

import pytest

from loco_tui.parser import RepairError, TruncatedStr, parse_response, repair_loads

from .cases import MALFORMED_CASES


@pytest.mark.parametrize(("text", "expected", "fixes"),
                         [pytest.param(t, c, f, id=i) for i, t, c, f in MALFORMED_CASES])
def test_malformed_call_is_recovered(text: str, expected: list, fixes: list[str]) -> None:
    result = parse_response(text)
    assert [(c.name, c.arguments) for c in result.tool_calls] == expected
    reported = {f for c in result.tool_calls for f in c.repaired}
    assert set(fixes) <= reported
    repair_events = [e for e in result.trace if e.kind == "repair"]
    if fixes:
        assert repair_events, "a repair must show up in the trace"
        assert set(fixes) <= {f for e in repair_events for f in e.detail["fixes"]}


def test_malformed_count() -> None:
    assert len(MALFORMED_CASES) >= 20


REPAIRS = [
    ('{"a": 1,}', {"a": 1}, "trailing_comma"),
    ("[1, 2, 3,]", [1, 2, 3], "trailing_comma"),
    ("{'a': 'b'}", {"a": "b"}, "single_quotes"),
    ("{'it': 'don't'}", {"it": "don't"}, "unescaped_quote"),
    ('{"a": True, "b": False, "c": None}', {"a": True, "b": False, "c": None}, "python_literal"),
    ("{a: 1, b_c: 2}", {"a": 1, "b_c": 2}, "unquoted_key"),
    ('{"a": 1 // one\n}', {"a": 1}, "comment"),
    ('{"a": [1, 2', {"a": [1, 2]}, "unclosed_array"),
    ('{"a": {"b": 1', {"a": {"b": 1}}, "unclosed_object"),
    ('{"a": "xy', {"a": "xy"}, "unclosed_string"),
    ('{"a": 1, "b"', {"a": 1}, "dangling_key"),
    ('{"a": 1, "b": ', {"a": 1}, "dangling_key"),
    ('{"a": 1 "b": 2}', {"a": 1, "b": 2}, "missing_comma"),
    ('{"a" 1}', {"a": 1}, "missing_colon"),
    ('{"a": 1}}', {"a": 1}, "extra_closing_bracket"),
    ('{"a": [1}', {"a": [1]}, "mismatched_bracket"),
    ('{"a": "x\ny"}', {"a": "x\ny"}, "control_character"),
    ('{"a": 12.}', {"a": 12.0}, None),
    ('{"a": 1e', {"a": 1}, "truncated_value"),
    ('{"a": undefined}', {"a": None}, "js_literal"),
    ('{"a": ,"b": 2}', {"b": 2}, "missing_value"),
    ('{"path": main.go}', {"path": "main.go"}, "unquoted_value"),
    ('{"a": "\\ud83d\\ude00"}', {"a": "\U0001F600"}, None),
]


@pytest.mark.parametrize(("text", "expected", "fix"), REPAIRS, ids=[r[0] for r in REPAIRS])
def test_repair_loads(text: str, expected: object, fix: str | None) -> None:
    value, fixes = repair_loads(text)
    assert value == expected
    if fix is not None:
        assert fix in fixes


def test_valid_json_has_no_fixes() -> None:
    assert repair_loads('{"a": [1, 2.5, "x", null, true]}') == (
        {"a": [1, 2.5, "x", None, True]}, [])


def test_nan_and_truncated_strings() -> None:
    value, _ = repair_loads('{"a": NaN, "b": "cut')
    assert math.isnan(value["a"])
    assert isinstance(value["b"], TruncatedStr) and value["b"] == "cut"


@pytest.mark.parametrize("text", ["", "   ", "hello", "}", ":", "@@@", "{" * 500 + "}" * 500])
def test_unrecoverable_raises_repair_error_only(text: str) -> None:
    with pytest.raises(RepairError):
        repair_loads(text)
