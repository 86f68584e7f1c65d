"""check_call: parsed calls against the JSON Schema of the tools offered."""

from __future__ import annotations

from typing import Any

from loco_tui.parser import CallProblem, ToolCall, check_call, parse_tool_calls

TOOLS: dict[str, dict[str, Any]] = {
    "get_weather": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
            "where": {"type": "object", "properties": {"lat": {"type": "number"}},
                      "required": ["lat"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "note": {"type": ["string", "null"]},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
    "search": {"type": "object", "properties": {"q": {"type": "string"}}},
}


def kinds(problems: list[CallProblem]) -> list[tuple[str, str]]:
    return [(p.kind, p.path) for p in problems]


def test_good_calls_have_no_problem() -> None:
    text = ('<tool_call>{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius",'
            ' "days": 3, "where": {"lat": 48.8}, "tags": ["a"], "note": null}}</tool_call>')
    (call,) = parse_tool_calls(text)
    assert check_call(call, TOOLS) == []
    # without additionalProperties: false, extra arguments are allowed
    assert check_call(ToolCall("search", {"q": "x", "limit": 3}), TOOLS) == []


def test_unknown_tool() -> None:
    (p,) = check_call(ToolCall("rm_rf", {}), TOOLS)
    assert (p.kind, p.path) == ("unknown_tool", "rm_rf")
    assert "get_weather" in p.message and p.to_dict()["kind"] == "unknown_tool"


def test_missing_required_and_extra_argument() -> None:
    problems = check_call(ToolCall("get_weather", {"town": "Paris"}), TOOLS)
    assert kinds(problems) == [("missing_argument", "arguments.city"),
                               ("extra_argument", "arguments.town")]


def test_wrong_types_enum_nested_and_items() -> None:
    call = ToolCall("get_weather", {"city": 7, "unit": "kelvin", "days": "3",
                                    "where": {"lat": "north"}, "tags": ["a", 2], "note": 1})
    assert kinds(check_call(call, TOOLS)) == [
        ("wrong_type", "arguments.city"), ("not_in_enum", "arguments.unit"),
        ("wrong_type", "arguments.days"), ("wrong_type", "arguments.where.lat"),
        ("wrong_type", "arguments.tags[1]"), ("wrong_type", "arguments.note")]
    assert check_call(call, TOOLS)[0].message == "arguments.city is integer, expected string"


def test_booleans_are_not_numbers_and_whole_floats_are_integers() -> None:
    assert kinds(check_call(ToolCall("get_weather", {"city": "x", "days": True}), TOOLS)) == [
        ("wrong_type", "arguments.days")]
    assert check_call(ToolCall("get_weather", {"city": "x", "days": 3.0}), TOOLS) == []


def test_nested_required() -> None:
    call = ToolCall("get_weather", {"city": "x", "where": {}})
    assert kinds(check_call(call, TOOLS)) == [("missing_argument", "arguments.where.lat")]


def test_xml_values_typed_by_schema_then_checked() -> None:
    text = ("<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
            "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>")
    untyped = parse_tool_calls(text)[0]
    assert kinds(check_call(untyped, TOOLS)) == [("wrong_type", "arguments.days")]
    typed = parse_tool_calls(text, tools=TOOLS)[0]
    assert typed.arguments == {"city": "Paris", "days": 3}
    assert check_call(typed, TOOLS) == []


def test_tools_stand_for_known_tools() -> None:
    bare = '{"name": "rm_rf", "arguments": {"path": "/"}}'
    assert parse_tool_calls(bare, tools=TOOLS) == []
    assert [c.name for c in parse_tool_calls(bare)] == ["rm_rf"]
