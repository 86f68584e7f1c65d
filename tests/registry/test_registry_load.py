"""Loading: the shipped registries, the DESIGN.md example, the built-in default, issue text."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from loco_tui.registry import (
    ConfigIssue,
    Registry,
    RegistryError,
    default_registry,
    load_registry,
    load_registry_text,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "loco.toml"
DESIGN_MD = Path("/work/shared/DESIGN.md")

# Verbatim from DESIGN.md, "Registry (TOML)": this must load as written.
DESIGN_EXAMPLE = '''\
[providers.local]
kind = "ollama"                       # ollama | openai | embedded
host = "http://127.0.0.1:11434"       # default: $OLLAMA_HOST, else this
[providers.lmstudio]
kind = "openai"                       # any OpenAI-compatible server: llama.cpp, LM Studio, vLLM
base_url = "http://127.0.0.1:1234/v1"
api_key_env = "LMSTUDIO_API_KEY"      # keys come from the environment, never from this file
[providers.builtin]
kind = "embedded"                     # llama.cpp in-process

[models.qwen-coder]
provider = "local"
model = "qwen2.5-coder:7b"            # the name the server knows
size = "M"                            # T-shirt size XS S M L XL
strengths = ["code", "backend"]
options = { temperature = 0.2, num_ctx = 8192 }
[models.smol]
provider = "builtin"
model = "smollm2"                     # the bundled SmolLM2-135M-Instruct, or a path to a .gguf
size = "XS"

[roles]                               # a model id, or a fallback chain tried in order
orchestrator = ["smol"]
coder = ["qwen-coder", "smol"]
judge = "qwen-coder"

[personas.skeptic]
system = "You look for what could go wrong."

[ensembles.default]
members = [{ model = "qwen-coder", persona = "skeptic" }, { model = "smol" }]
judge = "judge"                       # a role
mode = "parallel"                     # parallel | sequential (later members see earlier ones)
verdict = "pick_or_synthesize"        # pick | synthesize | pick_or_synthesize

[routing]
strategy = "rules"                    # rules | model | hybrid
default_role = "coder"
[[routing.rules]]
when = ["fix", "bug", "traceback"]    # keywords or /regex/
role = "coder"

[workflows.feature]
phases = [
  { name = "plan", type = "ensemble", ensemble = "default", context = "fresh" },
  { name = "build", type = "routed", context = "distilled" },
  { name = "audit", type = "single", role = "judge", context = "scoped" },
]
'''


def test_design_example_is_current() -> None:
    if not DESIGN_MD.exists():
        pytest.skip("DESIGN.md is not available here")
    doc = DESIGN_MD.read_text("utf-8")
    start = doc.index("```toml\n", doc.index("## Registry (TOML)")) + len("```toml\n")
    assert doc[start : doc.index("```", start)] == DESIGN_EXAMPLE


def test_design_example_loads() -> None:
    reg = load_registry_text(DESIGN_EXAMPLE, "design.toml")
    assert reg.roles == {
        "orchestrator": ["smol"],
        "coder": ["qwen-coder", "smol"],
        "judge": ["qwen-coder"],
    }
    assert reg.providers["local"].kind == "ollama"
    assert reg.models["qwen-coder"].options == {"temperature": 0.2, "num_ctx": 8192}
    assert reg.ensembles["default"].members[1].model == "smol"
    assert [p.context for p in reg.workflows["feature"].phases] == ["fresh", "distilled", "scoped"]


def _contains(big: Any, small: Any, where: str = "") -> None:
    """``small`` is part of ``big``: tables may gain keys, arrays may gain trailing items."""
    if isinstance(small, dict):
        assert isinstance(big, dict), where
        for key, value in small.items():
            assert key in big, f"{where}.{key} missing"
            _contains(big[key], value, f"{where}.{key}")
    elif isinstance(small, list):
        assert isinstance(big, list) and len(big) >= len(small), where
        for i, value in enumerate(small):
            _contains(big[i], value, f"{where}[{i}]")
    else:
        assert big == small, where


def test_sample_registry_loads_and_contains_the_design_example() -> None:
    reg = load_registry(SAMPLE)
    text = SAMPLE.read_text("utf-8")
    _contains(tomllib.loads(text), tomllib.loads(DESIGN_EXAMPLE))
    assert reg.roles["judge"] == ["qwen-coder"]


def test_sample_registry_documents_every_key() -> None:
    """Every field of every schema class, every enum value, appears in config/loco.toml."""
    from loco_tui.registry import schema

    data = tomllib.loads(SAMPLE.read_text("utf-8"))
    seen: set[str] = set()
    values: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            seen.update(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            values.add(value)

    walk(data)
    for cls in (
        schema.OllamaProviderConfig, schema.OpenAIProviderConfig, schema.EmbeddedProviderConfig,
        schema.TimeoutsConfig, schema.ModelConfig, schema.PersonaConfig,
        schema.EnsembleMemberConfig, schema.EnsembleConfig, schema.RoutingRule,
        schema.RoutingConfig, schema.PhaseConfig, schema.WorkflowConfig, schema.Registry,
    ):
        missing = set(cls.model_fields) - seen
        assert not missing, f"{cls.__name__}: {missing} not in config/loco.toml"
    for enum_value in (
        "ollama", "openai", "embedded", "parallel", "sequential", "pick", "synthesize",
        "pick_or_synthesize", "ensemble", "routed", "single", "fresh", "distilled", "scoped",
        "full",
    ):
        assert enum_value in values, enum_value
    text = SAMPLE.read_text("utf-8")
    for word in ("rules | model | hybrid", "XS S M L XL", "/regex/"):
        assert word in text
    reg = load_registry(SAMPLE)
    assert any(m.role for e in reg.ensembles.values() for m in e.members)
    assert any(p.startswith("/") for r in reg.routing.rules for p in r.when)
    assert any(e.judge is None for e in reg.ensembles.values())
    assert any(len(chain) > 1 for chain in reg.roles.values())


def test_default_registry_shape() -> None:
    reg = default_registry()
    assert isinstance(reg, Registry)
    kinds = {k: p.kind for k, p in reg.providers.items()}
    assert kinds == {"builtin": "embedded", "builtin-judge": "embedded"}
    # Members share the cores one thread each; the judge reads its long prompt alone on two.
    assert reg.providers["builtin"].n_threads == 1
    assert reg.providers["builtin-judge"].n_threads == 2
    assert reg.models["smol"].model == "smollm2" and reg.models["smol"].size == "XS"
    assert reg.models["smol"].options["temperature"] == 0.0
    judge = reg.models["smol-judge"]
    assert judge.model == "smollm2" and judge.provider == "builtin-judge"
    assert judge.options["temperature"] == 0.0
    assert set(reg.personas) == {"optimist", "skeptic", "synthesizer"}
    for persona in reg.personas.values():
        assert len(persona.system) > 150 and "\n" not in persona.system
    assert reg.roles == {
        "orchestrator": ["smol"], "planner": ["smol"], "coder": ["smol"],
        "reviewer": ["smol"], "writer": ["smol"], "judge": ["smol-judge"],
    }
    ens = reg.ensembles["default"]
    assert [(m.model, m.persona) for m in ens.members] == [
        ("smol", "optimist"), ("smol", "skeptic"), ("smol", "synthesizer"),
    ]
    assert ens.judge == "judge" and ens.verdict == "pick"
    assert reg.routing.strategy == "rules" and reg.routing.default_role == "coder"
    assert reg.reference_errors() == []


def match_rule(prompt: str, rules: list) -> tuple | None:
    """The router's matching (loco_tui.orchestrator.router), restated to keep this suite
    independent of the orchestrator: keywords are case-insensitive whole words, /regex/ is
    searched case-insensitively."""
    for rule in rules:
        for pattern in rule.when:
            if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
                regex = re.compile(pattern[1:-1], re.IGNORECASE)
            else:
                regex = re.compile(rf"(?<!\w){re.escape(pattern)}(?!\w)", re.IGNORECASE)
            if regex.search(prompt):
                return rule, pattern
    return None


def test_default_routing_rules_route_sensibly() -> None:
    reg = default_registry()
    cases = {
        "plan the migration": "planner",
        "Design a cache layer": "planner",
        "please review this diff": "reviewer",
        "audit the auth module": "reviewer",
        "fix this bug": "coder",
        "Traceback (most recent call last):": "coder",
        "what does utils.py do": "coder",
        "write an email to the team": "writer",
    }
    for prompt, role in cases.items():
        hit = match_rule(prompt, reg.routing.rules)
        assert hit is not None and hit[0].role == role, prompt
    assert match_rule("hello there", reg.routing.rules) is None


def test_default_registry_returns_independent_copies() -> None:
    a = default_registry()
    a.roles["coder"] = ["nothing"]
    assert default_registry().roles["coder"] == ["smol"]


def test_config_issue_formats() -> None:
    assert str(ConfigIssue("a.toml", 3, None, "bad")) == "a.toml:3: bad"
    assert str(ConfigIssue("a.toml", 3, 7, "bad")) == "a.toml:3:7: bad"
    assert str(ConfigIssue("a.toml", None, None, "bad")) == "a.toml: bad"
    err = RegistryError([ConfigIssue("a.toml", 1, None, "x"), ConfigIssue("a.toml", 2, None, "y")])
    assert str(err) == "a.toml:1: x\na.toml:2: y"
    assert err.lines() == ["a.toml:1: x", "a.toml:2: y"]


def test_load_registry_file_errors(tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as err:
        load_registry(tmp_path / "absent.toml")
    assert str(err.value) == f"{tmp_path / 'absent.toml'}: file not found"
    with pytest.raises(RegistryError, match="is a directory"):
        load_registry(tmp_path)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'[personas.p]\nsystem = "caf\xe9"\n')
    with pytest.raises(RegistryError) as err:
        load_registry(latin)
    assert str(err.value) == f"{latin}:2: not UTF-8 text (TOML files are UTF-8)"


def test_load_registry_tolerates_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + DESIGN_EXAMPLE.replace("\n", "\r\n").encode())
    assert load_registry(path).roles["judge"] == ["qwen-coder"]


def test_empty_registry_is_valid() -> None:
    reg = load_registry_text("")
    assert reg.roles == {} and reg.routing.strategy == "rules"


def test_judge_false_means_no_judge() -> None:
    text = '[roles]\n[personas.p]\nsystem = "s"\n[ensembles.e]\nmembers = [{ role = "r" }]\njudge = false\n'
    with pytest.raises(RegistryError) as err:  # role r is missing, but the judge is not
        load_registry_text(text, "x.toml")
    assert err.value.lines() == ["x.toml:5: ensembles.e.members[0].role: unknown role 'r' (known: none defined)"]


def test_registry_never_imports_textual() -> None:
    import subprocess
    import sys

    code = (
        "import sys, loco_tui.registry as r; r.RegistryHolder; r.default_registry(); "
        "assert not any(m == 'textual' or m.startswith('textual.') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)
