"""Tools in the registry: declared as [tools.NAME], attached to personas, ensembles and roles,
every dangling name and broken schema reported at its own file:line (as `loco check` says)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from loco_tui.cli import main
from loco_tui.registry import RegistryError, load_registry, load_registry_text

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "loco.toml"

BASE = """\
[providers.local]
kind = "ollama"

[models.qwen]
provider = "local"
model = "qwen2.5:7b"

[tools.read_file]
description = "Read a file"
parameters = { type = "object", properties = { path = { type = "string" } }, required = ["path"] }

[tools.get_weather]
description = "Weather now"
[tools.get_weather.parameters]
required = ["city"]
[tools.get_weather.parameters.properties.city]
type = "string"
[tools.get_weather.parameters.properties.unit]
type = "string"
enum = ["celsius", "fahrenheit"]

[roles]
coder = "qwen"
judge = "qwen"

[role_tools]
coder = ["read_file"]

[personas.scout]
system = "You look things up."
tools = ["get_weather"]

[ensembles.duo]
members = [{ model = "qwen", persona = "scout" }, { role = "coder" }]
tools = ["read_file"]
"""


def issues(text: str) -> list[str]:
    with pytest.raises(RegistryError) as err:
        load_registry_text(text, "reg.toml")
    return err.value.lines()


def test_tools_load_with_their_schemas_and_attachments() -> None:
    reg = load_registry_text(BASE, "reg.toml")
    assert set(reg.tools) == {"read_file", "get_weather"}
    weather = reg.tools["get_weather"].parameters
    # `type = "object"` is implied when the table leaves it out.
    assert weather["type"] == "object"
    assert weather["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert reg.role_tools == {"coder": ["read_file"]}
    duo = reg.ensembles["duo"]
    # A member gets its ensemble's tools, then its persona's, then its role's, each once.
    assert reg.tools_for(persona="scout", ensemble=duo) == ["read_file", "get_weather"]
    assert reg.tools_for(role="coder", ensemble=duo) == ["read_file"]
    assert reg.tools_for(role="judge") == []


def test_dangling_tool_names_are_reported_at_their_lines() -> None:
    broken = (BASE.replace('coder = ["read_file"]', 'coder = ["read_file", "grep"]\nghost = []')
              .replace('tools = ["get_weather"]', 'tools = ["weather"]')
              .replace('tools = ["read_file"]\n', 'tools = ["read_file", "search"]\n'))
    assert issues(broken) == [
        "reg.toml:27: role_tools.coder[1]: unknown tool 'grep' (known: get_weather, read_file)",
        "reg.toml:28: role_tools.ghost: unknown role 'ghost' (known: coder, judge)",
        "reg.toml:32: personas.scout.tools[0]: unknown tool 'weather' "
        "(known: get_weather, read_file)",
        "reg.toml:36: ensembles.duo.tools[1]: unknown tool 'search' "
        "(known: get_weather, read_file)",
    ]


def test_broken_schemas_are_reported_and_references_to_them_are_not_dangling() -> None:
    broken = BASE.replace('type = "string" } }, required = ["path"]',
                          'type = "text" } }, required = ["path"]')
    # The broken tool is set aside, but the role that names it is not told it is missing.
    assert issues(broken) == [
        "reg.toml:10: tools.read_file.parameters: properties.path: unknown JSON Schema type "
        "'text' (expected one of array, boolean, integer, null, number, object, string)",
    ]
    required = BASE.replace('required = ["city"]', 'required = ["town"]')
    assert issues(required) == [
        "reg.toml:14: tools.get_weather.parameters: required names 'town', which is not "
        "among the properties",
    ]
    not_object = BASE.replace("[tools.get_weather.parameters]\n",
                              '[tools.get_weather.parameters]\ntype = "string"\n')
    assert issues(not_object)[0].startswith(
        'reg.toml:14: tools.get_weather.parameters: the parameters of a tool are an object')
    no_description = BASE.replace('description = "Weather now"\n', "")
    assert issues(no_description) == [
        "reg.toml:12: tools.get_weather: missing required key 'description'"]


def test_tool_names_servers_cannot_take_are_refused() -> None:
    spaced = BASE.replace("[tools.read_file]", '[tools."read file"]').replace(
        '["read_file"]', '["read file"]')
    assert issues(spaced) == [
        "reg.toml:8: tools.\"read file\": tool name 'read file': letters, digits, _ . - only, "
        "starting with a letter or _, at most 64 characters",
    ]


def test_loco_check_prints_file_and_line_for_a_dangling_tool(tmp_path: Path) -> None:
    path = tmp_path / "loco.toml"
    path.write_text(BASE.replace('tools = ["get_weather"]', 'tools = ["weather"]'))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:31: personas.scout.tools[0]: unknown tool 'weather'" in result.output


def test_the_sample_documents_the_tool_keys() -> None:
    from loco_tui.registry import schema

    text = SAMPLE.read_text("utf-8")
    data = tomllib.loads(text)
    reg = load_registry(SAMPLE)
    assert reg.tools and reg.role_tools
    assert any(p.tools for p in reg.personas.values())
    assert any(e.tools for e in reg.ensembles.values())
    for field in schema.ToolConfig.model_fields:
        assert all(field in t for t in data["tools"].values()), field
    assert "tool_calling" in data["models"]["hermes"]
    for value in ("auto", "native", "prompt"):
        assert f'"{value}"' in text
    assert "NEVER executed" in text
