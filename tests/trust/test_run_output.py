"""`loco run` never ends silently wrong: a lone surrogate, a closed stdout, a signal or a
fallback mid-stream each end the run visibly, with the right exit code."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from loco_tui.testing.script import Fault, Reply, Script
from tests.common import FALLBACK_ROLE, Terminal, loco, loco_env, write_config


def script(first: Reply, second: Reply | None = None) -> Script:
    return (Script().add("first:7b", first, parameter_size="7B")
            .add("second:1b", second or Reply.text("The second model's whole answer."),
                 parameter_size="1B"))


def test_a_lone_surrogate_in_a_reply_does_not_truncate_the_json_output(ollama_server, tmp_path):
    # The fake server writes the piece as JSON: "\ud83d" is a lone surrogate once decoded.
    server = ollama_server(script(Reply(pieces=("broken emoji ", "\ud83d", " and more."))))
    config = write_config(tmp_path, server.url, FALLBACK_ROLE)
    result = loco("run", "hi", "--role", "coder", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "ok"
    text = "".join(e["text"] for e in events if e["type"] == "delta")
    assert text == "broken emoji \ufffd and more."


def test_a_lone_surrogate_in_text_mode_too(ollama_server, tmp_path):
    server = ollama_server(script(Reply(pieces=("broken emoji ", "\ud83d", " and more."))))
    config = write_config(tmp_path, server.url, FALLBACK_ROLE)
    result = loco("run", "hi", "--role", "coder", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "broken emoji \ufffd and more." in result.stdout
    assert "run ok" in result.stderr


def test_a_closed_stdout_cancels_the_run_and_exits_141_without_a_traceback(
    ollama_server, tmp_path
):
    slow = Reply(pieces=tuple(f"word{i} " for i in range(2000)), piece_delay_s=0.01)
    server = ollama_server(script(slow))
    config = write_config(tmp_path, server.url, FALLBACK_ROLE)
    proc = subprocess.Popen(
        [sys.executable, "-m", "loco_tui", "run", "hi", "--role", "coder", "--config",
         str(config), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=loco_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(300)  # like `| head -c 300`
    proc.stdout.close()
    started = time.monotonic()
    code = proc.wait(15)
    err = proc.stderr.read().decode()
    assert code == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "the output was closed; the run was cancelled" in err
    # Generation stopped at once, not after the 20 s the reply would take.
    assert time.monotonic() - started < 5
    assert server.wait_for_no_connections(3.0)


def test_a_closed_pipe_is_noticed_in_text_mode_even_while_nothing_is_printed(
    ollama_server, tmp_path
):
    """Text mode buffers concurrent members: nothing is written for a while, yet the run
    stops as soon as the reader goes away."""
    slow = Reply(pieces=tuple(f"word{i} " for i in range(2000)), piece_delay_s=0.01)
    server = ollama_server(script(slow))
    config = write_config(tmp_path, server.url, FALLBACK_ROLE)
    proc = subprocess.Popen(
        [sys.executable, "-m", "loco_tui", "run", "hi", "--role", "coder", "--config",
         str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=loco_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    time.sleep(1.0)
    proc.stdout.close()
    code = proc.wait(15)
    err = proc.stderr.read().decode()
    assert code == 141, err
    assert "Traceback" not in err
    assert server.wait_for_no_connections(3.0)


def _run_then_signal(server_url: str, tmp_path, signum: int) -> tuple[int, list[dict], str]:
    config = write_config(tmp_path, server_url, FALLBACK_ROLE)
    proc = subprocess.Popen(
        [sys.executable, "-m", "loco_tui", "run", "hi", "--role", "coder", "--config",
         str(config), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=loco_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # run_started: the run is under way
    assert b"run_started" in first
    time.sleep(0.5)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=15)
    events = [json.loads(line) for line in (first + out).splitlines()]
    return proc.returncode, events, err.decode()


def test_sigterm_ends_a_run_like_sigint(ollama_server, tmp_path):
    slow = Reply(pieces=tuple(f"w{i} " for i in range(2000)), piece_delay_s=0.01)
    for signum, expected in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
        server = ollama_server(script(slow))
        code, events, err = _run_then_signal(server.url, tmp_path, signum)
        assert code == expected, err
        assert "Traceback" not in err
        assert events[-1]["type"] == "run_finished"
        assert events[-1]["status"] == "cancelled"
        assert signal.Signals(signum).name in events[-1]["message"]
        assert server.wait_for_no_connections(3.0)


def test_a_fallback_mid_stream_is_marked_and_never_spliced_into_the_answer(
    ollama_server, tmp_path
):
    dropped = Reply.text("Partial words from the first model that never finish",
                         fault=Fault.DROP, fault_after=5)
    server = ollama_server(script(dropped))
    config = write_config(tmp_path, server.url, FALLBACK_ROLE)
    # On a pipe (not a terminal): only the answer is printed, under the model that wrote it.
    result = loco("run", "hi", "--role", "coder", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "Partial words" not in result.stdout
    assert "The second model's whole answer." in result.stdout
    assert "second" in result.stdout.split("The second model")[0]  # its header names it
    assert "fallback after first failed" in result.stdout
    assert "fallback: first failed (dropped)" in result.stderr


def test_on_a_terminal_the_failed_partial_reply_is_marked_incomplete(ollama_server, tmp_path):
    dropped = Reply.text("Partial words from the first model that never finish",
                         fault=Fault.DROP, fault_after=5, piece_delay_s=0.01)
    server = ollama_server(script(dropped))
    config = write_config(tmp_path, server.url, FALLBACK_ROLE)
    term = Terminal("run", "hi", "--role", "coder", "--config", str(config))
    try:
        code = term.wait(20)
    finally:
        term.close()
    out = bytes(term.output).decode()
    assert code == 0, out
    partial = out.index("Partial words")
    marker = out.index("is incomplete and is not the answer")
    answer = out.index("The second model's whole answer.")
    assert partial < marker < answer
    assert "fallback, after first" in out[marker:answer]


def test_a_reply_cut_by_the_token_limit_says_so(ollama_server, tmp_path):
    server = ollama_server(script(Reply.text("An answer that stops mid", finish_reason="length")))
    config = write_config(tmp_path, server.url, FALLBACK_ROLE)
    result = loco("run", "hi", "--role", "coder", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "CUT at the token limit" in result.stdout
    as_json = loco("run", "hi", "--role", "coder", "--config", str(config), "--json")
    finished = [json.loads(x) for x in as_json.stdout.splitlines()
                if '"member_finished"' in x]
    assert finished[0]["finish_reason"] == "length"
