"""Each checker with answers it must accept and answers it must not."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from loco_tui.eval.checkers import Check, numbers_in, parse_path

CHECK: TypeAdapter[Check] = TypeAdapter(Check)


def check(**config: object) -> Check:
    return CHECK.validate_python(config)


def kinds(c: Check, answers: list[str]) -> list[str]:
    return [c.grade(a).kind for a in answers]


def test_exact():
    c = check(type="exact", expected="Paris")
    assert kinds(c, ["Paris", "paris.", "  **Paris**  ", '"Paris"', "`Paris`!"]) == ["right"] * 5
    assert kinds(c, ["Paris, France", "The answer is Paris", "Lyon"]) == ["wrong"] * 3
    assert c.grade("   ").kind == "missing"
    strict = check(type="exact", expected="Paris", ignore_case=False)
    assert strict.grade("paris").kind == "wrong"
    assert c.grade("Lyon").detail == "got 'Lyon', expected 'Paris'"


def test_contains_any_all_whole_words_and_forbidden():
    c = check(type="contains", expected="Paris")
    assert kinds(c, ["The capital is Paris.", "PARIS!"]) == ["right", "right"]
    assert kinds(c, ["Parisian food", "Lyon"]) == ["wrong", "wrong"]
    any_of = check(type="contains", expected=["7", "seven"])
    assert kinds(any_of, ["Seven days.", "There are 7.", "17 days", "seventeen"]) == [
        "right", "right", "wrong", "wrong"]
    every = check(type="contains", expected=["red", "blue"], all=True)
    assert kinds(every, ["red and blue", "only red"]) == ["right", "wrong"]
    assert every.grade("only red").detail == "does not say 'blue'"
    hedged = check(type="contains", expected="Tokyo", none_of=["Kyoto"])
    assert kinds(hedged, ["Tokyo", "Tokyo or maybe Kyoto"]) == ["right", "wrong"]
    loose = check(type="contains", expected="Paris", whole_word=False)
    assert loose.grade("Parisian").kind == "right"
    with pytest.raises(ValidationError):
        check(type="contains", expected=[])
    with pytest.raises(ValidationError):
        check(type="contains", expected="  ")


def test_regex():
    c = check(type="regex", pattern=r"\bH\s*2\s*O\b", flags="i")
    assert kinds(c, ["Water is H2O.", "h2o", "H 2 O"]) == ["right"] * 3
    assert kinds(c, ["HO2", "hydrogen"]) == ["wrong", "wrong"]
    full = check(type="regex", pattern=r"\d+", full=True)
    assert kinds(full, [" 42 ", "42 apples"]) == ["right", "wrong"]
    assert check(type="regex", pattern="x").grade("").kind == "missing"
    with pytest.raises(ValidationError, match="bad regex"):
        check(type="regex", pattern="(unclosed")
    with pytest.raises(ValidationError, match="unknown regex flag"):
        check(type="regex", pattern="x", flags="iq")


def test_numbers_are_read_as_written():
    assert numbers_in("3 + 4 = 7") == [3, 4, 7]
    assert numbers_in("It costs $1,250.50, not -3 or 3-4.") == [1250.5, -3, 3, 4]
    assert numbers_in("SmolLM2 has 135M parameters") == [135]
    assert numbers_in("no digits here") == []


def test_number_last_first_any_and_tolerance():
    c = check(type="number", expected=7)
    assert kinds(c, ["3 + 4 = 7", "Answer: 7.0", "7 apples? No: 8"]) == [
        "right", "right", "wrong"]
    assert c.grade("seven").kind == "missing"
    assert c.grade("3 + 4 = 8").detail == "last number is 8, expected 7"
    first = check(type="number", expected=7, which="first")
    assert kinds(first, ["7 apples? No: 8", "8, no, 7"]) == ["right", "wrong"]
    anywhere = check(type="number", expected=100, which="any")
    assert kinds(anywhere, ["At 100 degrees (212 F)", "212 F"]) == ["right", "wrong"]
    close = check(type="number", expected=3.14, tolerance=0.01)
    assert kinds(close, ["pi is 3.14159", "pi is 3.2"]) == ["right", "wrong"]
    relative = check(type="number", expected=1000, relative=0.05)
    assert kinds(relative, ["about 1,040", "about 1,100"]) == ["right", "wrong"]
    assert check(type="number", expected=0.3).grade("0.30000000000000004").kind == "right"
    with pytest.raises(ValidationError):
        check(type="number", expected=1, tolerance=-1)


def test_json_path():
    c = check(type="json_path", path="$.age", expected=30)
    assert kinds(c, ['{"name": "Alice", "age": 30}', '```json\n{"age": 30.0}\n```',
                     'Here you go: {"age": 30} hope it helps']) == ["right"] * 3
    assert kinds(c, ['{"age": 31}', '{"age": "30"}']) == ["wrong", "wrong"]
    assert kinds(c, ['{"name": "Alice"}', "Alice is 30", "[1, 2]"]) == ["missing"] * 3
    repaired = c.grade("{'age': 30,}")
    assert repaired.kind == "right" and "repairing" in repaired.detail
    nested = check(type="json_path", path='$.colors[1]', expected="GREEN")
    assert nested.grade('{"colors": ["red", "green", "blue"]}').kind == "right"
    assert nested.grade('{"colors": ["red"]}').kind == "missing"
    quoted = check(type="json_path", path="$[\"full name\"]", expected="Al")
    assert quoted.grade('{"full name": "Al"}').kind == "right"
    assert parse_path("$.a[0]['b c'].d") == ["a", 0, "b c", "d"]
    with pytest.raises(ValidationError, match="starts with"):
        check(type="json_path", path="age", expected=1)
    with pytest.raises(ValidationError, match="cannot read the JSON path"):
        check(type="json_path", path="$.a..b", expected=1)


def test_tool_call_read_with_the_project_parser():
    c = check(type="tool_call", name="get_weather", arguments={"city": "Paris"})
    good = ['<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>',
            '{"name": "get_weather", "arguments": {"city": "paris", "unit": "C"}}',
            'get_weather(city="Paris")',
            '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}]']
    assert kinds(c, good) == ["right"] * 4
    wrong_city = c.grade('<tool_call>{"name": "get_weather", "arguments": {"city": "Rome"}}'
                         '</tool_call>')
    assert wrong_city.kind == "wrong"
    assert wrong_city.detail == "get_weather: city is 'Rome', expected 'Paris'"
    other_tool = c.grade('<tool_call>{"name": "search_web", "arguments": {"q": "x"}}'
                         '</tool_call>')
    assert other_tool.kind == "wrong" and "search_web" in other_tool.detail
    assert c.grade("It is sunny in Paris.").kind == "missing"
    no_argument = c.grade('<tool_call>{"name": "get_weather", "arguments": {}}</tool_call>')
    assert no_argument.kind == "wrong" and no_argument.detail == "get_weather: no city"
    exact = check(type="tool_call", name="get_weather", arguments={"city": "Paris"},
                  exact_arguments=True)
    assert exact.grade('{"name": "get_weather", "arguments": {"city": "Paris", "unit": "C"}}'
                       ).detail == "get_weather: unexpected unit"
    # The second call is the right one: any call to the tool may match.
    two = ('<tool_call>{"name": "get_weather", "arguments": {"city": "Rome"}}</tool_call>\n'
           '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>')
    assert c.grade(two).kind == "right"


def test_an_unknown_check_type_is_refused():
    with pytest.raises(ValidationError):
        check(type="similar", expected="x")
