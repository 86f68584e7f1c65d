"""`loco eval` as a user runs it: a subprocess against the fake Ollama server, the report
and JSON it writes, Ctrl+C keeping what finished, file:line errors, and a progress view that
never lets a hostile name reach the terminal raw."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from loco_tui.eval import CaseResult
from loco_tui.eval.runner import Progress, StrategyProgress
from loco_tui.eval_cli import ProgressView, clock, progress_line
from loco_tui.testing.script import Reply
from tests.eval.support import (
    REGISTRY,
    SUITE,
    TIMEOUTS,
    always_a,
    judge_picking,
    member,
    question,
    script,
)

COMMAND = [sys.executable, "-m", "loco_tui.eval_cli"]


def files(tmp_path: Path, url: str, suite: str = SUITE) -> tuple[Path, Path]:
    config = tmp_path / "loco.toml"
    config.write_text(f'[providers.local]\nkind = "ollama"\nhost = "{url}"\n'
                      f"[providers.local.timeouts]\n{TIMEOUTS}{REGISTRY}")
    suite_path = tmp_path / "suite.toml"
    suite_path.write_text(suite)
    return config, suite_path


def env(tmp_path: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("LOCO_CONFIG", "OLLAMA_HOST")}
    out.update(LOCO_HOME=str(tmp_path / "home"), LOCO_NO_AUTODETECT="1")
    return out


def test_an_eval_writes_its_report_and_json_and_says_where_it_is_recorded(tmp_path,
                                                                          ollama_server):
    server = ollama_server(script(judge_picking(always_a)))
    config, suite = files(tmp_path, server.url)
    report = tmp_path / "report.md"
    done = subprocess.run([*COMMAND, str(suite), "--config", str(config), "-s",
                           "single:coder,ensemble:trio", "-o", str(report), "--json"],
                          capture_output=True, text=True, timeout=120, env=env(tmp_path))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [s["strategy"] for s in data["summary"]] == ["single:coder", "ensemble:trio"]
    assert data["summary"][0]["accuracy"]["k"] == 3 and not data["partial"]
    text = report.read_text()
    assert text.startswith("# Eval: answers\n")
    assert "| single:coder | 3/4 | 75% |" in text
    # Plain progress lines on stderr (stdout is a pipe), one per case.
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("[")]
    assert len(lines) == 8
    assert lines[0].startswith("[1/8] single:coder · q1: right")
    assert f"recorded as session {data['eval_id']}" in done.stderr


def test_without_json_or_output_the_report_goes_to_stdout(tmp_path, ollama_server):
    server = ollama_server(script(judge_picking(always_a)))
    config, suite = files(tmp_path, server.url)
    done = subprocess.run([*COMMAND, str(suite), "--config", str(config), "-s",
                           "single:coder", "--no-history"], capture_output=True, text=True,
                          timeout=120, env=env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "| single:coder | 3/4 | 75% |" in done.stdout
    assert "recorded as session" not in done.stderr
    assert not (tmp_path / "home" / "loco.db").exists()


def test_ctrl_c_keeps_what_finished_and_says_the_report_is_partial(tmp_path, ollama_server):
    def slow_on_two(model, messages):
        delay = 30.0 if question(messages) == "two" else 0.0
        return member("solo", first_token_delay_s=delay)(model, messages)

    server = ollama_server(script(judge_picking(always_a), solo=slow_on_two))
    config, suite = files(tmp_path, server.url)
    report = tmp_path / "report.md"
    proc = subprocess.Popen([*COMMAND, str(suite), "--config", str(config), "-s",
                             "single:coder", "-o", str(report), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env(tmp_path))
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 60
    while "[1/4]" not in seen and time.monotonic() < deadline:
        seen += proc.stderr.readline()
    time.sleep(0.5)  # the second case is waiting for its first token
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - began < 10
    assert proc.returncode == 130, err
    data = json.loads(out)
    assert (data["partial"], data["done"], data["planned"]) == (True, 1, 4)
    assert [r["outcome"] for r in data["results"]] == ["right", "cancelled"]
    assert "partial: 1 of 4 runs finished" in err
    assert "> **Partial**: the eval stopped after 1 of 4 runs." in report.read_text()


def test_suite_errors_are_file_line_messages_and_exit_1(tmp_path, ollama_server):
    server = ollama_server(script(judge_picking(always_a)))
    config, suite = files(tmp_path, server.url,
                          '[[cases]]\nprompt = "x"\ncheck = { type = "number" }\n')
    done = subprocess.run([*COMMAND, str(suite), "--config", str(config)],
                          capture_output=True, text=True, timeout=60, env=env(tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip() == f"{suite}:3: cases[0].check: missing required key 'expected'"


def test_a_strategy_the_registry_lacks_is_a_usage_error(tmp_path, ollama_server):
    server = ollama_server(script(judge_picking(always_a)))
    config, suite = files(tmp_path, server.url)
    done = subprocess.run([*COMMAND, str(suite), "--config", str(config), "-s",
                           "single:poet,ensemble:trio:vote"], capture_output=True, text=True,
                          timeout=60, env=env(tmp_path))
    assert done.returncode == 2
    assert "unknown verdict mode 'vote'" in done.stderr
    assert server.generations == []


HOSTILE = "q\x1b]52;c;aGk=\x07\x1b[2J"


def hostile_progress(stopping: bool = False) -> Progress:
    last = CaseResult(f"single:{HOSTILE}", HOSTILE, 0, "r1", "right", latency_s=1.5)
    rows = (StrategyProgress(f"single:{HOSTILE}", 1, 4, 1, 1.5),
            StrategyProgress("ensemble:trio", 0, 4, 0, 0.0))
    return Progress(rows, 65.0, None, last, stopping)


def test_the_live_view_shows_progress_with_names_neutralised():
    view = ProgressView(f"eval {HOSTILE}", now=0.0)
    view.update(hostile_progress())
    view.received = 100.0
    console = Console(width=120, record=True, color_system=None)
    console.print(view.render(now=110.0))
    text = console.export_text()
    assert "\x1b" not in text and "\x07" not in text
    assert "␛]52;c;aGk=␇␛[2J" in text
    assert "1/4" in text and "0/4" in text
    assert "1/8 runs · elapsed 1:15 · left estimating…" in text


def test_progress_lines_for_a_pipe():
    line = progress_line(hostile_progress())
    assert line is not None and "\x1b" not in line
    assert line.startswith("[1/8] single:q␛]52;c;aGk=␇␛[2J · q␛]52;c;aGk=␇␛[2J: right (1.5 s)")
    assert progress_line(Progress((), 0.0, None, None)) is None
    assert progress_line(Progress((), 0.0, None, None, stopping=True)).startswith("stopping")
    assert clock(65) == "1:05" and clock(3725) == "1:02:05" and clock(None) == "—"


def test_a_reply_never_reaches_the_terminal_in_a_report(tmp_path, ollama_server):
    # The report has figures and names, never an answer: a hostile reply stays out of it.
    hostile = Reply.text("\x1b]52;c;aGk=\x07 41")
    server = ollama_server(script(judge_picking(always_a), solo=hostile))
    config, suite = files(tmp_path, server.url)
    done = subprocess.run([*COMMAND, str(suite), "--config", str(config), "-s",
                           "single:coder", "--no-history"], capture_output=True, text=True,
                          timeout=120, env=env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x1b" not in done.stderr
    assert "| single:coder | 0/4 | 0% |" in done.stdout
