"""Suite files: read into cases, every problem reported at its file:line, and the shipped
suites load."""

from __future__ import annotations

from pathlib import Path

import pytest

from loco_tui.eval import SuiteError, load_suite, load_suite_text
from loco_tui.eval.checkers import NumberCheck, ToolCallCheck

REPO = Path(__file__).resolve().parents[2]


def problems(text: str) -> list[str]:
    with pytest.raises(SuiteError) as caught:
        load_suite_text(text, "suite.toml")
    return [str(issue) for issue in caught.value.issues]


def test_a_suite_reads_into_cases_with_ids_systems_and_checks():
    suite = load_suite_text("""
[suite]
name = "mini"
system = "Be brief."
strategies = ["single:coder", "ensemble:default:pick+debias"]

[[cases]]
id = "add"
prompt = "1 + 1?"
check = { type = "number", expected = 2 }

[[cases]]
prompt = "Call it."
system = "You have tools."
check = { type = "tool_call", name = "f", arguments = { x = 1 } }
""")
    assert suite.name == "mini"
    assert suite.strategies == ("single:coder", "ensemble:default:pick+debias")
    first, second = suite.cases
    assert (first.id, first.prompt, first.system) == ("add", "1 + 1?", "Be brief.")
    assert isinstance(first.check, NumberCheck) and first.check.expected == 2
    # A case without an id is named by its position; its own system prompt wins.
    assert (second.id, second.system) == ("2", "You have tools.")
    assert isinstance(second.check, ToolCallCheck) and second.check.arguments == {"x": 1}
    assert suite.case("add") is first


def test_the_file_name_names_a_suite_without_a_name(tmp_path):
    path = tmp_path / "capitals.toml"
    path.write_text('[[cases]]\nprompt = "x"\ncheck = { type = "exact", expected = "y" }\n')
    suite = load_suite(path)
    assert suite.name == "capitals" and suite.path == path


def test_every_problem_is_reported_at_its_line():
    text = """[suite]
name = "broken"
strategies = ["single:coder", "ensemble"]

[[cases]]
id = "one"
prompt = "x"
check = { type = "numbr", expected = 1 }

[[cases]]
id = "two"
check = { type = "number", expected = 2 }

[[cases]]
id = "three"
prompt = "x"
chek = { type = "exact", expected = "y" }
check = { type = "regex", pattern = "(" }
"""
    assert problems(text) == [
        "suite.toml:3: suite.strategies: cannot read the strategy 'ensemble' (expected "
        "single:ROLE, auto, ensemble:NAME[:pick|:synthesize|:pick_or_synthesize][+debias], "
        "workflow:NAME)",
        "suite.toml:8: cases[0].check.type: unknown check type 'numbr' (expected one of "
        "exact, contains, regex, number, json_path, tool_call)",
        "suite.toml:10: cases[1]: missing required key 'prompt'",
        "suite.toml:17: cases[2].chek: unknown key 'chek' (did you mean 'check'?)",
        "suite.toml:18: cases[2].check.pattern: bad regex: missing ), unterminated subpattern "
        "at position 0",
    ]


def test_checker_keys_are_checked_at_their_line():
    text = """[[cases]]
prompt = "x"
check = { type = "number", expected = "seven" }

[[cases]]
prompt = "y"
check = { type = "contains" }

[[cases]]
prompt = "z"
check = { type = "number", expected = 1, tolerence = 0.5 }
"""
    found = problems(text)
    assert found[0].startswith("suite.toml:3: cases[0].check.expected: input should be a "
                               "valid number")
    assert found[1:] == [
        "suite.toml:7: cases[1].check: missing required key 'expected'",
        "suite.toml:11: cases[2].check.tolerence: unknown key 'tolerence' (did you mean "
        "'tolerance'?)",
    ]


def test_duplicate_ids_and_missing_types_and_no_cases():
    assert problems('[[cases]]\nid = "a"\nprompt = "x"\ncheck = { type = "exact", expected '
                    '= "y" }\n[[cases]]\nid = "a"\nprompt = "x"\ncheck = { type = "exact", '
                    'expected = "y" }\n') == [
        "suite.toml:6: cases[1].id: 'a' is already the id of cases[0]"]
    assert problems('[[cases]]\nprompt = "x"\ncheck = { expected = "y" }\n') == [
        "suite.toml:3: cases[0].check: missing required key 'type' (one of exact, contains, "
        "regex, number, json_path, tool_call)"]
    assert problems('[suite]\nname = "empty"\n') == ["suite.toml: missing required key 'cases'"]
    assert problems("cases = []\n") == ["suite.toml:1: cases: needs at least 1 entry"]


def test_syntax_errors_and_unreadable_files(tmp_path):
    assert problems('[[cases]]\nprompt = "unterminated\n') == [
        "suite.toml:2:23: TOML syntax error: illegal character '\\n'"]
    with pytest.raises(SuiteError, match=r"missing\.toml: file not found"):
        load_suite(tmp_path / "missing.toml")
    with pytest.raises(SuiteError, match="is a directory"):
        load_suite(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b'[[cases]]\nprompt = "\xff"\n')
    with pytest.raises(SuiteError, match=r"binary.toml:2: not UTF-8 text"):
        load_suite(binary)


@pytest.mark.parametrize("name", ["arithmetic", "facts", "tool_calls"])
def test_the_shipped_suites_load(name):
    suite = load_suite(REPO / "config" / "eval" / f"{name}.toml")
    assert 5 <= len(suite.cases) <= 12  # a few minutes on the embedded model
    assert suite.strategies
    for case in suite.cases:
        assert case.prompt and case.id


def test_the_shipped_arithmetic_answers_are_graded_right_when_stated():
    suite = load_suite(REPO / "config" / "eval" / "arithmetic.toml")
    for case in suite.cases:
        assert isinstance(case.check, NumberCheck)
        answer = f"Working it out.\nAnswer: {case.check.expected:g}"
        assert case.check.grade(answer).right, case.id


def test_the_shipped_tool_call_cases_accept_the_format_their_prompt_asks_for():
    suite = load_suite(REPO / "config" / "eval" / "tool_calls.toml")
    answers = {
        "weather-paris": '<tool_call>{"name": "get_weather", "arguments": {"city": '
                         '"Paris"}}</tool_call>',
        "weather-tokyo": '<tool_call>{"name": "get_weather", "arguments": {"city": '
                         '"Tokyo"}}</tool_call>',
        "email-bob": '<tool_call>{"name": "send_email", "arguments": {"to": '
                     '"bob@example.com", "subject": "Lunch"}}</tool_call>',
        "search-recipes": '<tool_call>{"name": "search_web", "arguments": {"query": '
                          '"pancake recipes"}}</tool_call>',
        "json-person": '{"name": "Alice", "age": 30}',
        "json-list": '{"colors": ["red", "green", "blue"]}',
    }
    assert {c.id for c in suite.cases} == set(answers)
    for case in suite.cases:
        assert case.check.grade(answers[case.id]).right, case.id
