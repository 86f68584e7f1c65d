"""The background build, core side: started detached, attached to, read from its log, and
its end (ready, failed, killed) told apart. A stand-in build prints cmake-style progress."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from loco_tui.engine_build import (
    COMMAND_ENV,
    BuildPhase,
    EngineBuild,
    build_command,
    format_elapsed,
    read_progress,
)


def _until(build: EngineBuild, check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = build.status()
        if check(status):
            return status
        time.sleep(0.05)
    raise AssertionError(f"timed out; last status: {build.status()}")


def test_progress_is_read_from_cmake_and_ninja_lines():
    cmake = ["Collecting llama-cpp-python", "*** Configuring CMake...",
             "[  3%] Building C object ggml.c.o", "[ 45%] Building CXX object llama.cpp.o"]
    progress = read_progress(cmake)
    assert (progress.percent, progress.stage) == (45, "compiling")
    ninja = ["  [6/140] /usr/bin/g++ -c ggml.c", "  [70/140] /usr/bin/g++ -c llama.cpp"]
    progress = read_progress(ninja)
    assert (progress.percent, progress.steps_done, progress.steps_total) == (50, 70, 140)
    done = read_progress([*ninja, "  Created wheel for llama-cpp-python: filename=x.whl",
                          "Installing collected packages: llama-cpp-python",
                          "Successfully installed llama-cpp-python-0.3.36"])
    assert (done.percent, done.stage) == (50, "installed")
    # Nothing compiled yet: the percentage is unknown, not 0.
    assert read_progress(["Collecting llama-cpp-python"]).percent is None
    assert [format_elapsed(s) for s in (7, 196, 3725)] == ["7s", "3m 16s", "1h 02m"]


def test_the_build_command_is_injectable(monkeypatch):
    monkeypatch.setenv(COMMAND_ENV, "sh -c 'echo \"[ 50%] x\"'")
    assert build_command() == ["sh", "-c", 'echo "[ 50%] x"']
    assert build_command(["true"]) == ["true"]
    monkeypatch.delenv(COMMAND_ENV)
    assert build_command()[1:] == ["-m", "loco_tui.engine_build", "install"]


def test_a_running_build_shows_progress_then_is_ready_once_it_installed_the_engine(
    hidden_engine, standin, builds, tmp_path
):
    go = tmp_path / "go"
    build = EngineBuild(tmp_path / "data", standin("--hold-at", "40", "--until", str(go),
                                                   *hidden_engine.install_args()))
    builds.append(build)
    assert build.status().phase is BuildPhase.NOT_STARTED
    started = build.start()
    assert started.phase is BuildPhase.RUNNING and started.pid is not None
    held = _until(build, lambda s: s.progress.percent == 40)
    assert held.phase is BuildPhase.RUNNING
    assert held.progress.stage == "compiling"
    assert held.elapsed_s is not None and held.elapsed_s >= 0
    assert "[ 40%] Building CXX object" in held.tail[-1]
    assert held.log_path == tmp_path / "data" / "engine-build" / "build.log"
    # The supervisor runs niced, in a session of its own (Ctrl+C in make's terminal spares it).
    assert os.getpriority(os.PRIO_PROCESS, held.pid) >= 10
    assert os.getsid(held.pid) == held.pid

    go.touch()
    ready = _until(build, lambda s: s.phase is not BuildPhase.RUNNING)
    assert ready.phase is BuildPhase.READY
    assert ready.exit_code == 0
    # Nothing more to do: starting again starts nothing.
    assert build.start().phase is BuildPhase.READY


def test_a_second_start_attaches_to_the_running_build(hidden_engine, standin, builds, tmp_path):
    go, runs = tmp_path / "go", tmp_path / "runs"
    command = standin("--hold-at", "20", "--until", str(go), "--runs", str(runs))
    first = EngineBuild(tmp_path / "data", command)
    builds.append(first)
    one = first.start()
    # Another `make run` (another process, same data dir) attaches instead of building again.
    env = {**os.environ, "LOCO_HOME": str(tmp_path / "data")}
    second = subprocess.run([sys.executable, "-m", "loco_tui.engine_build", "start"],
                            capture_output=True, text=True, env=env, timeout=30)
    assert second.returncode == 0, second.stderr
    assert f"pid {one.pid}" in second.stdout
    assert "building in the background" in second.stdout
    again = EngineBuild(tmp_path / "data", command).start()
    assert again.pid == one.pid
    go.touch()
    _until(first, lambda s: s.phase is not BuildPhase.RUNNING)
    assert runs.read_text().count("run") == 1


def test_a_failed_build_says_why_with_the_last_lines_of_its_log(
    hidden_engine, standin, builds, tmp_path
):
    build = EngineBuild(tmp_path / "data", standin("--steps", "4", "--exit", "1"))
    builds.append(build)
    build.start()
    failed = _until(build, lambda s: s.phase is not BuildPhase.RUNNING)
    assert failed.phase is BuildPhase.FAILED
    assert failed.exit_code == 1
    assert "exit code 1" in (failed.message or "")
    assert any("Failed building wheel for llama-cpp-python" in line for line in failed.tail)
    assert failed.progress.percent == 100
    assert "make run" in failed.retry_hint


def test_a_build_that_ends_well_but_installs_nothing_is_a_failure(
    hidden_engine, standin, builds, tmp_path
):
    build = EngineBuild(tmp_path / "data", standin("--steps", "2"))
    builds.append(build)
    build.start()
    status = _until(build, lambda s: s.phase is not BuildPhase.RUNNING)
    assert status.phase is BuildPhase.FAILED
    assert "still cannot be imported" in (status.message or "")


def test_a_killed_build_is_a_failure_and_can_be_started_again(
    hidden_engine, standin, builds, tmp_path
):
    go = tmp_path / "go"
    build = EngineBuild(tmp_path / "data", standin("--hold-at", "10", "--until", str(go)))
    builds.append(build)
    pid = build.start().pid
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    killed = _until(build, lambda s: s.phase is not BuildPhase.RUNNING)
    assert killed.phase is BuildPhase.FAILED
    assert "stopped before it finished" in (killed.message or "")
    # The lock died with the supervisor: a retry starts a new build.
    retry = build.start()
    assert retry.phase is BuildPhase.RUNNING and retry.pid != pid
    go.touch()


def test_start_wait_follows_the_build_in_the_foreground(
    hidden_engine, standin, tmp_path, monkeypatch, capsys
):
    from loco_tui.engine_build import main

    monkeypatch.setenv("LOCO_HOME", str(tmp_path / "data"))
    monkeypatch.setenv(COMMAND_ENV, " ".join(standin("--steps", "3", "--exit", "2")))
    assert main(["start", "--wait"]) == 1  # what `make engine` and `make test` run
    out, err = capsys.readouterr()
    assert "building llama.cpp" in out
    assert "exit code 2" in out
    assert "Failed building wheel" in err
    assert Path(tmp_path / "data" / "engine-build" / "build.log").is_file()
