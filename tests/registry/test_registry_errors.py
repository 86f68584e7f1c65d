"""Broken registries: every problem reported, each at its exact file:line, in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest

from loco_tui.registry import RegistryError, check_config, load_registry, load_registry_text


def issues(text: str, source: str = "reg.toml") -> list[str]:
    with pytest.raises(RegistryError) as err:
        load_registry_text(text, source)
    assert str(err.value) == "\n".join(err.value.lines())
    return err.value.lines()


# A small valid registry the cases below break one line at a time.
BASE = """\
[providers.local]
kind = "ollama"

[models.qwen]
provider = "local"
model = "qwen2.5-coder:7b"
size = "M"

[roles]
coder = ["qwen"]
judge = "qwen"

[personas.skeptic]
system = "You look for what could go wrong."

[ensembles.default]
members = [
  { model = "qwen", persona = "skeptic" },
  { role = "coder" },
]

[routing]
default_role = "coder"
[[routing.rules]]
when = ["fix", "/bug\\\\b/"]
role = "coder"
"""


def test_base_is_valid() -> None:
    load_registry_text(BASE)


def change(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def test_toml_syntax_error_has_line_and_column() -> None:
    assert issues(change('size = "M"', 'size = "M')) == [
        "reg.toml:7:10: TOML syntax error: illegal character '\\n'"
    ]
    assert issues(change("[roles]", "[roles")) == [
        "reg.toml:9:7: TOML syntax error: expected ']' at the end of a table declaration"
    ]
    # A key defined twice is a syntax error too.
    assert issues(change('size = "M"', 'size = "M"\nsize = "S"')) == [
        "reg.toml:8:11: TOML syntax error: cannot overwrite a value"
    ]


def test_unknown_top_level_key() -> None:
    assert issues("modles = {}\n" + BASE) == [
        "reg.toml:1: unknown key 'modles' at the top level (did you mean 'models'?)"
    ]
    assert issues(BASE + "[plugins.x]\na = 1\n") == [
        "reg.toml:27: unknown key 'plugins' at the top level (expected one of: providers, "
        "models, tools, roles, role_tools, personas, ensembles, routing, workflows)"
    ]


def test_unknown_nested_keys() -> None:
    assert issues(change('size = "M"', 'size = "M"\ntempreature = 0.2')) == [
        "reg.toml:8: unknown key 'tempreature' in [models.qwen] (expected one of: provider, "
        "model, size, strengths, options, system, context, tool_calling)"
    ]
    assert issues(change('system = "You', 'tempreature = 0.2\nsystem = "You')) == [
        "reg.toml:14: unknown key 'tempreature' in [personas.skeptic] (did you mean "
        "'temperature'?)"
    ]
    # Inside an inline table of a multi-line array: the line of that element.
    assert issues(change('{ role = "coder" }', '{ role = "coder", persnoa = "x" }')) == [
        "reg.toml:19: unknown key 'persnoa' in ensembles.default.members[1] "
        "(did you mean 'persona'?)"
    ]
    # A key of another provider kind.
    assert issues(change('kind = "ollama"', 'kind = "ollama"\nbase_url = "http://x/v1"')) == [
        "reg.toml:3: unknown key 'base_url' in [providers.local] (expected one of: kind, "
        "host, keep_alive, max_parallel, timeouts)"
    ]


def test_wrong_types() -> None:
    assert issues(change('size = "M"', 'size = "M"\nstrengths = "code"')) == [
        "reg.toml:8: models.qwen.strengths: input should be an array (got string 'code')"
    ]
    assert issues(change('coder = ["qwen"]', "coder = 7")) == [
        "reg.toml:10: roles.coder: input should be a model id or an array of model ids "
        "(got integer 7)"
    ]
    assert issues(change('kind = "ollama"', 'kind = "ollama"\nkeep_alive = [1]')) == [
        "reg.toml:3: providers.local.keep_alive: input should be a string or an integer "
        "(got an array)"
    ]
    assert issues(change('kind = "ollama"', 'kind = "ollama"\ntimeouts = { idle_s = -1 }')) == [
        "reg.toml:3: providers.local.timeouts.idle_s: input should be greater than 0"
    ]
    assert issues(change('when = ["fix", "/bug\\\\b/"]', "when = []")) == [
        "reg.toml:25: routing.rules[0].when: needs at least 1 entry"
    ]


def test_bad_enums() -> None:
    assert issues(change('size = "M"', 'size = "XXL"')) == [
        "reg.toml:7: models.qwen.size: input should be 'XS', 'S', 'M', 'L' or 'XL' "
        "(got string 'XXL')"
    ]
    assert issues(change('kind = "ollama"', 'kind = "mongo"')) == [
        "reg.toml:2: providers.local.kind: unknown kind 'mongo' "
        "(expected 'ollama', 'openai' or 'embedded')"
    ]
    assert issues(change('default_role = "coder"', 'strategy = "magic"\ndefault_role = "coder"')) == [
        "reg.toml:23: routing.strategy: input should be 'rules', 'model' or 'hybrid' "
        "(got string 'magic')"
    ]


def test_missing_required_fields_point_at_the_table_header() -> None:
    assert issues(change('model = "qwen2.5-coder:7b"\n', "")) == [
        "reg.toml:4: models.qwen: missing required key 'model'"
    ]
    assert issues(change('kind = "ollama"', 'host = "http://h:1"')) == [
        "reg.toml:1: providers.local: missing required key 'kind' "
        "(one of 'ollama', 'openai' or 'embedded')"
    ]
    assert issues(change('kind = "ollama"', 'kind = "openai"')) == [
        "reg.toml:1: providers.local: missing required key 'base_url'"
    ]
    assert issues(change('\nrole = "coder"\n', "\n")) == [
        "reg.toml:24: routing.rules[0]: missing required key 'role'"
    ]


def test_role_naming_a_missing_model() -> None:
    assert issues(change('coder = ["qwen"]', 'coder = ["qwen", "qwne"]')) == [
        "reg.toml:10: roles.coder[1]: unknown model 'qwne' (known: qwen)"
    ]
    # The string shorthand reports the role's key, not an invisible [0].
    assert issues(change('judge = "qwen"', 'judge = "llama"')) == [
        "reg.toml:11: roles.judge: unknown model 'llama' (known: qwen)"
    ]
    assert issues(change('coder = ["qwen"]', "coder = []")) == [
        "reg.toml:10: roles.coder: a role needs at least one model"
    ]


def test_dangling_names_elsewhere() -> None:
    assert issues(change('persona = "skeptic"', 'persona = "sceptic"')) == [
        "reg.toml:18: ensembles.default.members[0].persona: unknown persona 'sceptic' "
        "(known: skeptic)"
    ]
    assert issues(change('{ role = "coder" }', '{ role = "builder" }')) == [
        "reg.toml:19: ensembles.default.members[1].role: unknown role 'builder' "
        "(known: coder, judge)"
    ]
    assert issues(change('provider = "local"', 'provider = "remote"')) == [
        "reg.toml:5: models.qwen.provider: unknown provider 'remote' (known: local)"
    ]
    assert issues(change('\nrole = "coder"\n', '\nrole = "planner"\n')) == [
        "reg.toml:26: routing.rules[0].role: unknown role 'planner' (known: coder, judge)"
    ]
    assert issues(change('default_role = "coder"', 'default_role = "boss"')) == [
        "reg.toml:23: routing.default_role: unknown role 'boss' (known: coder, judge)"
    ]
    # The default judge is the role `judge`: without it, the ensemble's header is blamed.
    assert issues(change('judge = "qwen"\n', "")) == [
        "reg.toml:15: ensembles.default.judge: unknown role 'judge' (known: coder) "
        "(the default judge; name another role, or set judge = false)"
    ]
    assert issues(change('default_role = "coder"', 'strategy = "model"\ndefault_role = "coder"')) == [
        "reg.toml:23: routing.strategy: strategy 'model' asks the 'orchestrator' role to "
        "route, but [roles] defines no orchestrator"
    ]


def test_workflow_phases() -> None:
    text = BASE + (
        "[workflows.w]\n"  # 27
        "phases = [\n"  # 28
        '  { name = "a", type = "ensemble", ensemble = "nope" },\n'  # 29
        '  { name = "b", type = "single" },\n'  # 30
        '  { name = "c", type = "routed", context = "everything" },\n'  # 31
        "]\n"
    )
    assert issues(text) == [
        "reg.toml:29: workflows.w.phases[0].ensemble: unknown ensemble 'nope' (known: default)",
        "reg.toml:30: workflows.w.phases[1]: a single phase names a `role`",
        "reg.toml:31: workflows.w.phases[2].context: input should be 'fresh', 'distilled', "
        "'scoped' or 'full' (got string 'everything')",
    ]


def test_bad_regex_in_a_rule_names_the_pattern() -> None:
    text = change('when = ["fix", "/bug\\\\b/"]', 'when = [\n  "fix",\n  "/bug(/",\n]')
    assert issues(text) == [
        "reg.toml:27: routing.rules[0].when[1]: bad regex /bug(/: missing ), unterminated "
        "subpattern at position 3"
    ]
    assert issues(change('"/bug\\\\b/"', '" "')) == [
        "reg.toml:25: routing.rules[0].when[1]: an empty keyword matches nothing"
    ]


def test_member_with_both_model_and_role_or_neither() -> None:
    assert issues(change('{ role = "coder" }', '{ role = "coder", model = "qwen" }')) == [
        "reg.toml:19: ensembles.default.members[1]: a member names exactly one of `model` "
        "or `role`"
    ]
    assert issues(change('{ role = "coder" }', '{ persona = "skeptic" }')) == [
        "reg.toml:19: ensembles.default.members[1]: a member names exactly one of `model` "
        "or `role`"
    ]


def test_array_of_tables_elements_get_their_own_lines() -> None:
    text = BASE + (
        "[[routing.rules]]\n"  # 28
        'when = ["x"]\n'  # 29
        'role = "coder"\n'  # 30
        "[[routing.rules]]\n"  # 31
        'when = ["y"]\n'  # 32
        'role = "ghost"\n'  # 33
    )
    assert issues(text) == [
        "reg.toml:32: routing.rules[2].role: unknown role 'ghost' (known: coder, judge)"
    ]


def test_quoted_and_dotted_keys() -> None:
    text = BASE + (
        '[models."qwen 2.5"]\n'  # 28
        'provider = "local"\n'  # 29
        'model = "q"\n'  # 30
        'options.temperature = 0.2\n'  # 31
        'size = "huge"\n'  # 32
        "[providers.other]\n"  # 33
        'kind = "ollama"\n'  # 34
        "timeouts.idle_s = 0\n"  # 35
    )
    assert issues(text) == [
        "reg.toml:31: models.\"qwen 2.5\".size: input should be 'XS', 'S', 'M', 'L' or 'XL' "
        "(got string 'huge')",
        "reg.toml:34: providers.other.timeouts.idle_s: input should be greater than 0",
    ]


def test_all_problems_are_reported_together() -> None:
    text = """\
modles = {}
[providers.local]
kind = "ollama"
hots = "http://x"
[models.qwen]
provider = "local"
size = "XXL"
[models.smol]
provider = "nowhere"
model = "smollm2"
[roles]
coder = ["qwen", "ghost"]
judge = "smol"
[ensembles.e]
members = [
  { model = "qwen", role = "coder" },
  { model = "smol", persona = "nobody" },
]
[routing]
default_role = "writer"
[[routing.rules]]
when = ["/[/"]
role = "coder"
[[routing.rules]]
when = ["x"]
role = "ghost"
"""
    assert issues(text, "many.toml") == [
        "many.toml:1: unknown key 'modles' at the top level (did you mean 'models'?)",
        "many.toml:4: unknown key 'hots' in [providers.local] (did you mean 'host'?)",
        "many.toml:5: models.qwen: missing required key 'model'",
        "many.toml:7: models.qwen.size: input should be 'XS', 'S', 'M', 'L' or 'XL' "
        "(got string 'XXL')",
        # References are still checked around the broken entries (and naming a broken
        # entry, like `qwen` here, is not a second error).
        "many.toml:9: models.smol.provider: unknown provider 'nowhere' (known: local)",
        "many.toml:12: roles.coder[1]: unknown model 'ghost' (known: qwen, smol)",
        "many.toml:16: ensembles.e.members[0]: a member names exactly one of `model` or `role`",
        "many.toml:17: ensembles.e.members[1].persona: unknown persona 'nobody' "
        "(known: none defined)",
        "many.toml:20: routing.default_role: unknown role 'writer' (known: coder, judge)",
        "many.toml:22: routing.rules[0].when[0]: bad regex /[/: unterminated character set "
        "at position 0",
        "many.toml:26: routing.rules[1].role: unknown role 'ghost' (known: coder, judge)",
    ]


def test_errors_from_a_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "loco.toml"
    path.write_text(change('size = "M"', 'size = "XXL"'))
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    assert err.value.issues[0].path == str(path)
    assert err.value.issues[0].line == 7
    assert check_config(path) == [
        f"{path}:7: models.qwen.size: input should be 'XS', 'S', 'M', 'L' or 'XL' (got string 'XXL')"
    ]
    path.write_text(BASE)
    assert check_config(path) == []
