"""The tool-calling comparison: the shipped suite loads, a broken one is reported at its
lines, and `loco tools-check` scores scripted models with known answers per case (right tool,
valid arguments, expected values, dialect) through the real providers and fake servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from loco_tui.registry import RegistryError
from loco_tui.testing.script import Reply, Script
from loco_tui.tool_suite import Target, _same, load_suite, run_suite
from loco_tui.tools_cli import tools_check
from tests.common import provider_toml
from tests.tools.support import openai_toml

BASIC = Path(__file__).resolve().parents[2] / "config" / "tools" / "basic.toml"

MODELS = """
[models.good]
provider = "local"
model = "good:8b"
[models.sloppy]
provider = "remote"
model = "sloppy-3b"
[models.silent]
provider = "local"
model = "silent:1b"
[roles]
judge = "good"
assistant = "good"
[ensembles.trio]
members = [{ model = "good" }, { model = "sloppy" }, { model = "silent" }]
"""

# The right native call for each prompt of the basic suite.
RIGHT = {
    "src/app/config.py": {"name": "read_file", "arguments": {"path": "src/app/config.py"}},
    "Python 3.13": {"name": "web_search", "arguments": {
        "query": "Python 3.13 release notes", "max_results": 3}},
    "Lyon": {"name": "get_weather", "arguments": {"city": "Lyon", "unit": "celsius"}},
    "Phoenix": {"name": "get_weather", "arguments": {"city": "phoenix ", "unit": "fahrenheit"}},
    "Budget review": {"name": "create_event", "arguments": {
        "title": "Budget review", "start": "2026-03-14", "attendees": ["Bruno", "Ana"]}},
}
# What a careless small model writes, in whatever dialect it likes.
SLOPPY = {
    "src/app/config.py": '<tool_call>\n{"name": "read_file", "arguments": {"path": '
                         '"src/app/config.py"}}\n</tool_call>',
    "Python 3.13": '[web_search(query="python 3.13", max_results="3")]',
    "Lyon": '<tool_call>[{"name": "get_weather", "arguments": {"city": "Lyon", '
            '"unit": "kelvin"}}]</tool_call>',
    "Phoenix": "I think it is hot there, about 40 degrees.",
    "Budget review": '[TOOL_CALLS] [{"name": "create_event", "arguments": {"title": '
                     '"Budget review", "attendees": ["Ana", "Bruno"]}}]',
    "17 times 3": '<tool_call>\n{"name": "web_search", "arguments": {"query": "17*3"}}\n'
                  "</tool_call>",
}


def _prompt(messages: list[dict[str, Any]]) -> str:
    return messages[-1]["content"]


def good(model: str, messages: list[dict[str, Any]]) -> Reply:
    key = next((k for k in RIGHT if k in _prompt(messages)), None)
    if key is None:
        return Reply.text("51")
    return Reply.text("(described)", with_tools=Reply(pieces=(), tool_calls=[RIGHT[key]]))


def sloppy(model: str, messages: list[dict[str, Any]]) -> Reply:
    key = next(k for k in SLOPPY if k in _prompt(messages))
    return Reply.text(SLOPPY[key])


def config(tmp_path: Path, ollama: str, openai: str) -> Path:
    path = tmp_path / "loco.toml"
    path.write_text(provider_toml(ollama) + openai_toml(openai) + MODELS)
    return path


@pytest.fixture
def servers(ollama_server, openai_server) -> tuple[Any, Any]:
    ollama = ollama_server(Script().add("good:8b", good).add(
        "silent:1b", Reply.text("I cannot help with that.")))
    openai = openai_server(Script(no_tools={"sloppy-3b"}).add("sloppy-3b", sloppy))
    return ollama, openai


def test_the_shipped_suite_loads() -> None:
    suite = load_suite(BASIC)
    assert suite.name == "basic"
    assert set(suite.tools) == {"read_file", "web_search", "get_weather", "create_event"}
    assert suite.tools["get_weather"].parameters["properties"]["unit"]["enum"] == [
        "celsius", "fahrenheit"]
    assert [c.tool for c in suite.cases] == [
        "read_file", "web_search", "get_weather", "get_weather", "create_event", False]


def test_a_broken_suite_is_reported_at_its_lines(tmp_path: Path) -> None:
    text = BASIC.read_text().replace('tool = "read_file"', 'tool = "read"').replace(
        "tool = false", "tool = true").replace('type = "integer"', 'type = "int"')
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(RegistryError) as err:
        load_suite(path)
    lines = err.value.lines()
    at = {n: line for n, line in enumerate(text.splitlines(), 1)}
    assert len(lines) == 1 and "unknown JSON Schema type 'int'" in lines[0]
    assert at[int(lines[0].split(":")[1])].startswith("[tools.web_search.parameters]")
    fixed = text.replace('type = "int"', 'type = "integer"')
    path.write_text(fixed)
    with pytest.raises(RegistryError) as err:
        load_suite(path)
    first, second = err.value.lines()
    assert first.endswith("cases[0].tool: unknown tool 'read' (known: create_event, "
                          "get_weather, read_file, web_search)")
    assert at[int(first.split(":")[1])] == 'tool = "read"'
    assert second.endswith("cases[5].tool: a tool's name, or false")


def test_a_suite_that_is_no_toml_or_no_text_says_where(tmp_path: Path) -> None:
    """Read like the registry: a syntax error at its line and column, bytes that are not
    UTF-8 at their line (these ended in a UnicodeDecodeError traceback before)."""
    path = tmp_path / "bad.toml"
    path.write_text('[tools.x]\ndescription = "open\n')
    with pytest.raises(RegistryError) as err:
        load_suite(path)
    assert err.value.lines() == [f"{path}:2:20: TOML syntax error: illegal character '\\n'"]
    path.write_bytes(b'name = "x"\n\xff\n')
    with pytest.raises(RegistryError) as err:
        load_suite(path)
    assert err.value.lines() == [f"{path}:2: not UTF-8 text (TOML files are UTF-8)"]


def test_values_are_compared_as_a_person_would() -> None:
    assert _same("Lyon", " lyon ") and not _same("Lyon", "Lyons")
    assert _same(["Ana", "Bruno"], ["bruno", "ANA"]) and not _same(["Ana"], ["Ana", "Bo"])
    assert _same(3, 3.0) and not _same(3, "3") and not _same(1, True)
    assert _same({"a": 1}, {"a": 1, "b": 2}) and not _same({"a": 1}, {"b": 1})


async def test_the_suite_scores_each_model_on_each_case(servers, tmp_path) -> None:
    from loco_tui.registry import load_registry

    ollama, openai = servers
    registry = load_registry(config(tmp_path, ollama.url, openai.base_url))
    report = await run_suite(registry, load_suite(BASIC), Target("ensemble", ("trio",)))

    by = {(r.case, r.member): r for r in report.results}
    # m1 (good): native calls, right and valid everywhere; its city " phoenix " still holds
    # the value asked for.
    assert all(by[(c, "m1")].passed for c in report.status)
    assert by[("read-file", "m1")].dialect == "native"
    assert by[("no-tool", "m1")].calls == [] and by[("no-tool", "m1")].right_tool
    # m2 (sloppy): tools refused natively, so described; then every kind of mistake.
    assert (by[("read-file", "m2")].passed, by[("read-file", "m2")].dialect) == (True, "hermes")
    search = by[("web-search", "m2")]
    assert (search.right_tool, search.valid, search.dialect) == (True, False, "pythonic")
    assert search.problems[0] == "arguments.max_results is string, expected integer"
    assert search.arguments_match is False
    weather = by[("weather-celsius", "m2")]
    assert weather.valid is False and weather.arguments_match is False
    assert "expected one of 'celsius', 'fahrenheit'" in weather.problems[0]
    assert by[("weather-fahrenheit", "m2")].problems == ["no tool call"]
    event = by[("create-event", "m2")]
    assert (event.dialect, event.valid) == ("mistral", False)
    assert event.problems[0] == "arguments.start is required but missing"
    no_tool = by[("no-tool", "m2")]
    assert not no_tool.right_tool
    assert no_tool.problems == ["called web_search where no tool was needed"]
    # m3 (silent): never calls; right only where no call was wanted.
    assert [by[(c, "m3")].passed for c in report.status] == [False] * 5 + [True]

    summary = {s.member: s for s in report.summary()}
    assert (summary["m1"].passed, summary["m1"].right_tool, summary["m1"].valid) == (6, 6, 5)
    assert (summary["m2"].passed, summary["m2"].right_tool, summary["m2"].valid) == (1, 4, 1)
    assert (summary["m3"].passed, summary["m3"].model) == (1, "silent")
    # The suite's tools went to the models: natively to the Ollama one, described to the
    # one whose server refused them (asked once natively, then described from then on).
    assert ollama.tools_sent("good:8b")[0] == [
        "read_file", "web_search", "get_weather", "create_event"]
    assert openai.tools_sent() == [["read_file", "web_search", "get_weather", "create_event"]] \
        + [None] * 6
    # No judge unless asked.
    assert not [b for b in ollama.bodies("/api/chat") if "proposal-" in json.dumps(b)]


def test_loco_tools_check_prints_a_table_and_json(servers, tmp_path) -> None:
    ollama, openai = servers
    path = config(tmp_path, ollama.url, openai.base_url)
    runner = CliRunner()
    result = runner.invoke(tools_check, [str(BASIC), "--models", "good,silent",
                                         "--config", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["target"] == "models good, silent"
    assert [(s["member"], s["model"], s["passed"]) for s in report["summary"]] == [
        ("m1", "good", 6), ("m2", "silent", 1)]
    first = report["cases"][0]
    assert first["name"] == "read-file" and first["status"] == "ok"
    assert first["results"][0]["calls"][0]["name"] == "read_file"

    text = runner.invoke(tools_check, [str(BASIC), "--role", "assistant", "--config",
                                       str(path)])
    assert text.exit_code == 0, text.output
    assert "Tool calls: suite basic on role assistant" in text.stdout
    assert "✓ read_file · native" in text.stdout and "6/6 passed" in text.stdout
    # Progress goes to stderr, one line per member and case.
    assert "read-file · assistant: ✓ read_file · native" in text.stderr


def test_loco_tools_check_refuses_a_wrong_target_or_suite(servers, tmp_path) -> None:
    ollama, openai = servers
    path = config(tmp_path, ollama.url, openai.base_url)
    runner = CliRunner()
    missing = runner.invoke(tools_check, [str(BASIC), "--ensemble", "nope", "--config",
                                          str(path)])
    assert missing.exit_code == 1 and "unknown ensemble 'nope' (known: trio)" in missing.output
    both = runner.invoke(tools_check, [str(BASIC), "--role", "judge", "--models", "good"])
    assert both.exit_code == 2
    broken = tmp_path / "broken.toml"
    broken.write_text("name = 'x'\n[[cases]]\nprompt = 'hi'\ntool = false\n")
    bad = runner.invoke(tools_check, [str(broken), "--config", str(path)])
    assert bad.exit_code == 1
    assert bad.stderr.splitlines() == [f"{broken}: missing required key 'tools'",
                                       f"{broken}:2: cases[0]: missing required key 'name'"]
