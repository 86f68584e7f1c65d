"""Ctrl+E in a real terminal: the host app runs on a pseudo-terminal, is suspended while an
``$EDITOR`` (a small script) rewrites the prompt's file, and takes the edited text back
without sending it; Enter then sends it, and the host writes what was sent to a file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.common import REPO, Terminal


def editor_script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "editor.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


@pytest.fixture
def terminal_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VISUAL", "EDITOR")}
    env["LOCO_HOME"] = str(tmp_path / "home")
    return env


def run_ctrl_e(tmp_path: Path, env: dict[str, str], text: str) -> tuple[str, Terminal]:
    out, marker = tmp_path / "sent.txt", tmp_path / "editor-ran"
    host = Terminal("editor", str(out), text, module="tests.ui.hosts", cols=80, rows=24,
                    env={**env, "TERM": "xterm-256color"}, cwd=REPO)
    try:
        # The app is up once it has drawn its footer.
        host.read_until(lambda shown: b"palette" in shown, 20)
        assert b"palette" in host.output, bytes(host.output)
        host.write(b"\x05")  # Ctrl+E
        host.read_until(lambda _: marker.exists(), 20)
        assert marker.exists(), "the editor never ran"
        host.read(0.5)  # the app resumes and loads the file
        host.write(b"\r")  # Enter sends whatever the box holds now
        host.read_until(lambda _: out.exists(), 20)
        assert out.exists(), bytes(host.output[-2000:])
        host.read_until(lambda _: host.proc.poll() is not None, 10)
        return out.read_text("utf-8"), host
    finally:
        host.close()


def test_ctrl_e_edits_the_prompt_in_editor_and_loads_it_back_unsent(tmp_path, terminal_env) -> None:
    marker = tmp_path / "editor-ran"
    script = editor_script(tmp_path, (
        # Proves it got the box's text: upper-cases it and adds a line.
        '{ tr a-z A-Z < "$1"; printf "\\nsecond line from the editor\\n"; } > "$1.new"\n'
        'mv "$1.new" "$1"\n'
        f'touch "{marker}"\n'))
    terminal_env["EDITOR"] = str(script)
    sent, host = run_ctrl_e(tmp_path, terminal_env, "hello editor")
    # Loaded back without the newline the editor ends its file with, and not sent by
    # itself: only the Enter pressed afterwards sent it.
    assert sent == "HELLO EDITOR\nsecond line from the editor"
    assert host.proc.returncode == 0


def test_visual_wins_over_editor_and_takes_arguments(tmp_path, terminal_env) -> None:
    marker = tmp_path / "editor-ran"
    script = editor_script(tmp_path, (
        'printf "%s" "$1" > "$2"\n'  # the word given in $VISUAL, then the file
        f'touch "{marker}"\n'))
    terminal_env["VISUAL"] = f"{script} replaced-by-visual"
    terminal_env["EDITOR"] = "/nonexistent/editor"
    sent, _ = run_ctrl_e(tmp_path, terminal_env, "original")
    assert sent == "replaced-by-visual"


def test_an_editor_that_fails_leaves_the_prompt_as_it_was(tmp_path, terminal_env) -> None:
    marker = tmp_path / "editor-ran"
    # Like vim's :cq: the file is changed but the editor says "abandon".
    script = editor_script(tmp_path, f'echo changed > "$1"\ntouch "{marker}"\nexit 3\n')
    terminal_env["EDITOR"] = str(script)
    sent, _ = run_ctrl_e(tmp_path, terminal_env, "keep this prompt")
    assert sent == "keep this prompt"
