"""The `loco` command as a user runs it: a real subprocess against fake servers on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loco_tui.registry import load_registry
from loco_tui.testing.script import Fault, Reply
from tests.common import ENSEMBLE, trio_script

REPO = Path(__file__).resolve().parent.parent


def loco(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LOCO_CONFIG", "OLLAMA_HOST")}
    return subprocess.run(
        [sys.executable, "-m", "loco_tui", *args], capture_output=True, text=True,
        timeout=timeout, cwd=cwd, env=env,
    )


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "loco.toml"
    path.write_text(f'[providers.local]\nkind = "ollama"\nhost = "{url}"\n' + ENSEMBLE)
    return path


def test_help_lists_the_commands():
    result = loco("--help")
    assert result.returncode == 0
    for command in ("run", "check", "models", "init", "serve"):
        assert command in result.stdout


def test_run_json_prints_one_event_per_line_and_exits_0(ollama_server, tmp_path):
    server = ollama_server(trio_script())
    config = write_config(tmp_path, server.url)
    result = loco("run", "dedupe a list", "--ensemble", "trio", "--config", str(config),
                  "--json", "--seed", "3")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["type"] == "run_started" and events[-1] == {
        **events[-1], "type": "run_finished", "status": "ok"}
    assert all({"type", "run_id", "t"} <= set(e) for e in events)
    types = {e["type"] for e in events}
    assert {"member_started", "delta", "member_finished", "judge_started", "verdict"} <= types
    started = [e for e in events if e["type"] == "member_started"]
    assert {"member", "model"} <= set(started[0])
    finished = [e for e in events if e["type"] == "member_finished"]
    assert set(finished[0]["stats"]) == {
        "tokens_in", "tokens_out", "ttft_s", "tokens_per_s", "duration_s", "gen_s"}
    deltas = [e for e in events if e["type"] == "delta" and e["member"] == "judge"]
    assert deltas, "the judge streams as member `judge`"
    verdict = next(e for e in events if e["type"] == "verdict")
    assert {"winner", "label", "mode", "confidence", "reason"} <= set(verdict)
    assert verdict["winner"] in {"m1", "m2", "m3"} and verdict["label"] == "B"


def test_run_exits_1_when_the_run_fails(ollama_server, tmp_path):
    server = ollama_server(trio_script(alpha=Reply(fault=Fault.MODEL_MISSING),
                                       beta=Reply(fault=Fault.MODEL_MISSING)))
    config = write_config(tmp_path, server.url)
    result = loco("run", "fix it", "--role", "coder", "--config", str(config), "--json")
    assert result.returncode == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["status"] == "failed"
    failed = [e for e in events if e["type"] == "member_failed"]
    assert failed[-1]["category"] == "model_missing" and failed[-1]["model"] == "beta"


def test_run_text_output_streams_a_single_role(ollama_server, tmp_path):
    server = ollama_server(trio_script())
    config = write_config(tmp_path, server.url)
    result = loco("run", "fix it", "--role", "coder", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "Alpha says use a set." in result.stdout
    assert "coder → alpha" in result.stderr and "run ok" in result.stderr


def test_check_reports_file_and_line_and_exits_1(tmp_path):
    bad = tmp_path / "loco.toml"
    bad.write_text('[providers.local]\nkind = "ollama"\n\n[models.m]\nprovider = "local"\n'
                   'model = "x"\nsize = "XXL"\n\n[roles]\ncoder = "ghost"\n')
    result = loco("check", "--config", str(bad))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith(f"{bad}:7:") and "size" in line for line in lines), lines
    assert any(line.startswith(f"{bad}:10:") and "ghost" in line for line in lines), lines


def test_check_accepts_the_documented_sample():
    result = loco("check", "--config", str(REPO / "config" / "loco.toml"))
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_check_without_config_uses_the_built_in_registry(tmp_path):
    result = loco("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "built-in" in result.stdout


def test_models_json_shows_reachability(ollama_server, tmp_path):
    server = ollama_server(trio_script())
    config = write_config(tmp_path, server.url)
    result = loco("models", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["providers"]["local"]["up"] is True
    assert "alpha:7b" in data["providers"]["local"]["models"]
    assert data["models"]["alpha"]["available"] is True
    assert data["roles"]["coder"] == ["alpha", "beta"]


def test_models_reports_a_dead_server_as_down(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9")
    result = loco("models", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["providers"]["local"]["up"] is False
    assert data["models"]["alpha"]["available"] is False


def test_init_writes_a_registry_from_what_the_server_offers(ollama_server, tmp_path):
    server = ollama_server(trio_script())
    out = tmp_path / "loco.toml"
    result = loco("init", "--ollama", server.url, "--output", str(out))
    assert result.returncode == 0, result.stderr
    registry = load_registry(out)
    served = {m.model: m for m in registry.models.values()}
    assert {"alpha:7b", "beta:3b", "gamma:1b", "arbiter:14b", "smollm2"} <= set(served)
    assert served["gamma:1b"].size == "S" and served["arbiter:14b"].size == "L"
    assert registry.roles["judge"][-1] == "smol"  # the embedded model is every role's last resort
    again = loco("init", "--ollama", server.url, "--output", str(out))
    assert again.returncode != 0 and "--force" in again.stderr


@pytest.mark.parametrize("flags", [("--role", "coder", "--ensemble", "trio")])
def test_run_rejects_two_targets(flags, tmp_path):
    result = loco("run", "x", *flags)
    assert result.returncode == 2 and "at most one" in result.stderr


BASE = '[providers.local]\nkind = "ollama"\n\n[models.m]\nprovider = "local"\nmodel = "x"\n'


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        (BASE + "tempreature = 0.2\n", 7, ["unknown key", "tempreature"]),
        (BASE + 'size = 7\n', 7, ["size"]),
        (BASE + '\n[roles]\ncoder = ["m", "ghost"]\n', 9, ["ghost"]),
        ('[providers.local]\nkind = "mongo"\n', 2, ["kind"]),
        (BASE + '\n[ensembles.e]\njudge = false\nmembers = [{ model = "m", persona = "nobody" }]\n',
         10, ["nobody"]),
        (BASE + '\n[roles]\ncoder = "m"\n[[routing.rules]]\nwhen = ["/(unclosed/"]\nrole = "coder"\n',
         11, ["regex"]),
        (BASE + "\n[models.broken\n", 8, []),
    ],
    ids=["unknown-key", "wrong-type", "dangling-model", "bad-enum", "dangling-persona",
         "bad-regex", "toml-syntax"],
)
def test_check_names_the_line_of_each_kind_of_mistake(tmp_path, body, line, words):
    path = tmp_path / "loco.toml"
    path.write_text(body)
    result = loco("check", "--config", str(path))
    assert result.returncode == 1
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith(f"{path}:{line}:"), result.stderr
    for word in words:
        assert word in first, first


def test_without_a_registry_file_the_local_servers_that_answer_are_used(ollama_server, tmp_path):
    server = ollama_server(trio_script())
    env = {k: v for k, v in os.environ.items() if k not in ("LOCO_CONFIG", "LOCO_NO_AUTODETECT")}
    env["OLLAMA_HOST"] = server.url
    result = subprocess.run(
        [sys.executable, "-m", "loco_tui", "run", "fix it", "--role", "coder", "--json"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    route = next(e for e in events if e["type"] == "route")
    assert route["role"] == "coder" and route["model"] in {"alpha-7b", "arbiter-14b"}
    assert events[-1]["status"] == "ok"
    served = {b["model"] for b in server.bodies("/api/chat")}
    assert served and served <= {"alpha:7b", "beta:3b", "gamma:1b", "arbiter:14b"}


def test_with_nothing_answering_no_registry_is_auto_detected(monkeypatch):
    import loco_tui.inventory as inventory

    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    monkeypatch.setattr(inventory, "OPENAI_DEFAULT_URLS", ("http://127.0.0.1:9/v1",))
    assert inventory.probe_local_servers(0.2) == []
    assert inventory.autodetected_registry(0.2) is None
