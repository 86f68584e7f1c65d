"""The embedded engine's background build: llama.cpp compiled while the workbench is in use.

llama-cpp-python has no portable prebuilt wheel, so the ``embedded`` extra compiles llama.cpp
(3-5 minutes on 2 cores). ``make run`` installs the base dependencies, starts this build in a
detached, niced process and opens the workbench at once; the workbench reads the build's
progress from its log and enables the embedded provider when it is done, without a restart.

Files, in ``<data dir>/engine-build/``:

- ``build.log``: the build's output (``pip -v``: cmake's ``[ 45%]`` or ninja's ``[12/140]``
  progress lines, then pip's own);
- ``build.json``: the supervising process (pid), the command, when it started, and once it
  is over when it ended and with which exit code;
- ``build.lock``: held (``flock``) by the supervisor for its whole life, so a second start
  attaches to the running build instead of starting another; a killed build leaves no stale
  lock behind.

The command is ``python -m loco_tui.engine_build install`` unless ``$LOCO_ENGINE_BUILD_CMD``
(a shell-quoted command line) or the ``command`` parameter says otherwise: tests run a
stand-in that prints cmake-style progress and sleeps. ``install`` builds the wheel into a
folder of pip's cache named after the CMake flags (``$CMAKE_ARGS``, set by the Makefile):
pip's own wheel cache is keyed by name and version only and would silently reuse a wheel
built with other flags (a ``-march=native`` build with AMX kernels crashed here).

Core module: never imports textual. ``python -m loco_tui.engine_build start [--wait]`` is
what the Makefile calls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import enum
import hashlib
import importlib
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "COMMAND_ENV",
    "BuildPhase",
    "BuildProgress",
    "BuildStatus",
    "EngineBuild",
    "build_command",
    "engine_installed",
    "format_elapsed",
    "read_progress",
]

COMMAND_ENV = "LOCO_ENGINE_BUILD_CMD"
# What people are told to run again after a failed build.
RETRY_HINT = "make run (or: make engine, in the foreground)"
# How much of the log's end is read for progress: ninja prints each compile command
# (llama-cpp-python builds with cmake.verbose), about 1-2 KB a line.
_TAIL_BYTES = 256 * 1024
_TAIL_LINES = 6
# How long ``start`` waits for the supervisor it spawned to say it is building.
_START_WAIT_S = 5.0

_CMAKE_PERCENT = re.compile(r"^\s*\[\s*(\d{1,3})%\]")
_NINJA_STEPS = re.compile(r"^\s*\[(\d+)/(\d+)\]")
# Later stages win: the label of the last line matching any of these is the current stage.
_STAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^\s*(Collecting|Downloading|Obtaining)\b"), "downloading"),
    (re.compile(r"Installing build dependencies|Getting requirements to build"), "preparing"),
    (re.compile(r"\*\*\* Configuring CMake|^\s*-- (The C compiler|Configuring)"), "configuring"),
    (re.compile(r"^\s*\[\s*\d{1,3}%\]|^\s*\[\d+/\d+\]"), "compiling"),
    (re.compile(r"\*\*\* Installing project|Created wheel for|Saved .*\.whl"), "packaging"),
    (re.compile(r"^\s*Installing collected packages"), "installing"),
    (re.compile(r"^\s*Successfully installed"), "installed"),
)


class BuildPhase(enum.StrEnum):
    """Where the engine is: not installed and not building, building, ready, or failed."""

    NOT_STARTED = "not installed"
    RUNNING = "building"
    READY = "ready"
    FAILED = "build failed"


@dataclass(frozen=True, slots=True)
class BuildProgress:
    """What the log says so far. ``percent`` is cmake's figure or ninja's steps done over
    steps; None until compiling starts (unknown, never 0)."""

    percent: int | None = None
    steps_done: int | None = None
    steps_total: int | None = None
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class BuildStatus:
    """One look at the build: its phase, progress, how long it has run, and its log."""

    phase: BuildPhase
    log_path: Path
    progress: BuildProgress = BuildProgress()
    elapsed_s: float | None = None
    pid: int | None = None
    exit_code: int | None = None
    tail: tuple[str, ...] = ()  # the log's last lines: untrusted text, neutralise to show
    message: str | None = None  # why a build failed when the log alone does not say

    @property
    def summary(self) -> str:
        """``45% compiling · 1m 20s``: what is known, in that order."""
        doing = " ".join(part for part in (
            None if self.progress.percent is None else f"{self.progress.percent}%",
            self.progress.stage) if part)
        elapsed = None if self.elapsed_s is None else format_elapsed(self.elapsed_s)
        return " · ".join(part for part in (doing, elapsed) if part)

    @property
    def retry_hint(self) -> str:
        return f"retry: {RETRY_HINT}"


def format_elapsed(seconds: float) -> str:
    """``42s``, ``3m 16s``, ``1h 02m``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def read_progress(lines: Sequence[str]) -> BuildProgress:
    """Progress from a build log's lines (the last figures and stage seen win)."""
    percent = done = total = None
    stage = None
    for line in lines:
        m = _CMAKE_PERCENT.match(line)
        if m:
            percent = min(int(m.group(1)), 100)
        else:
            n = _NINJA_STEPS.match(line)
            if n and int(n.group(2)) > 0:
                done, total = int(n.group(1)), int(n.group(2))
                percent = min(100 * done // total, 100)
        for pattern, label in _STAGES:
            if pattern.search(line):
                stage = label
    return BuildProgress(percent, done, total, stage)


def engine_installed() -> bool:
    """llama-cpp-python and the bundled model can be imported now. Import caches are
    invalidated first: a build that just finished wrote them while this process ran."""
    from loco_tui.providers.embedded import embedded_available

    importlib.invalidate_caches()
    return embedded_available()


def build_command(command: Sequence[str] | None = None) -> list[str]:
    """The command that builds and installs the engine: ``command``, else
    ``$LOCO_ENGINE_BUILD_CMD``, else pip installing the ``embedded`` extra (see ``install``)."""
    if command is not None:
        return list(command)
    env = os.environ.get(COMMAND_ENV, "").strip()
    if env:
        return shlex.split(env)
    return [sys.executable, "-m", "loco_tui.engine_build", "install"]


# -- the build's files -----------------------------------------------------------------------


class EngineBuild:
    """The engine build of one data dir: start it, attach to it, read how it is going.

    Args:
        data: Loco's data dir (default: ``$LOCO_HOME``, else the user data dir).
        command: The build command (default: see ``build_command``).
    """

    def __init__(self, data: Path | None = None, command: Sequence[str] | None = None) -> None:
        if data is None:
            from loco_tui.registry.discover import data_dir

            data = data_dir()
        self.dir = Path(data) / "engine-build"
        self.command = build_command(command)

    @property
    def log_path(self) -> Path:
        return self.dir / "build.log"

    @property
    def state_path(self) -> Path:
        return self.dir / "build.json"

    @property
    def lock_path(self) -> Path:
        return self.dir / "build.lock"

    # -- reading ---------------------------------------------------------------------------

    def _state(self) -> dict[str, object]:
        try:
            data = json.loads(self.state_path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _log_lines(self) -> list[str]:
        try:
            with self.log_path.open("rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(size - _TAIL_BYTES, 0))
                data = f.read()
        except OSError:
            return []
        lines = data.decode("utf-8", "replace").splitlines()
        return lines[1:] if len(data) == _TAIL_BYTES else lines  # the first may be cut

    def status(self, *, now: float | None = None) -> BuildStatus:
        """How the build is going. A running build wins; else an importable engine is
        ready (built here or installed some other way); else the last build's outcome."""
        state = self._state()
        pid = _int(state.get("pid"))
        started = _float(state.get("started_at"))
        ended = _float(state.get("ended_at"))
        exit_code = _int(state.get("exit_code"))
        running = pid is not None and exit_code is None and _supervisor_alive(pid)
        if not running and engine_installed():
            return BuildStatus(BuildPhase.READY, self.log_path, pid=pid, exit_code=exit_code,
                               elapsed_s=_span(started, ended))
        if not state:
            return BuildStatus(BuildPhase.NOT_STARTED, self.log_path)
        lines = self._log_lines()
        progress = read_progress(lines)
        tail = tuple(line.rstrip() for line in lines if line.strip())[-_TAIL_LINES:]
        if running:
            clock = time.time() if now is None else now
            return BuildStatus(BuildPhase.RUNNING, self.log_path, progress,
                               _span(started, clock), pid, tail=tail)
        if exit_code is None:
            message = "the build stopped before it finished (killed?)"
        elif exit_code == 0:
            message = "the build finished but llama-cpp-python still cannot be imported"
        else:
            message = f"the build failed (exit code {exit_code})"
        return BuildStatus(BuildPhase.FAILED, self.log_path, progress, _span(started, ended),
                           pid, exit_code, tail, message)

    async def watch(self, interval_s: float = 0.5,
                    idle_interval_s: float = 3.0) -> AsyncIterator[BuildStatus]:
        """Yield the status whenever it changes (progress, stage, elapsed second) until the
        engine is ready. Not started or failed, it is looked at every ``idle_interval_s``:
        a build may be started or retried from another terminal."""
        last: tuple[object, ...] | None = None
        while True:
            status = await asyncio.to_thread(self.status)
            elapsed = None if status.elapsed_s is None else int(status.elapsed_s)
            key = (status.phase, status.progress, elapsed, status.tail[-1:], status.pid)
            if key != last:
                last = key
                yield status
            if status.phase is BuildPhase.READY:
                return
            await asyncio.sleep(
                interval_s if status.phase is BuildPhase.RUNNING else idle_interval_s)

    # -- starting --------------------------------------------------------------------------

    def start(self, *, force: bool = False) -> BuildStatus:
        """Start the build in a detached, niced process, or attach to the one running.
        Nothing is started when the engine is already importable (unless ``force``)."""
        status = self.status()
        if status.phase is BuildPhase.RUNNING:
            return status
        if status.phase is BuildPhase.READY and not force:
            return status
        self.dir.mkdir(parents=True, exist_ok=True)
        previous = self._state().get("started_at")
        child = subprocess.Popen(
            [sys.executable, "-m", "loco_tui.engine_build", "supervise",
             "--data", str(self.dir.parent), "--", *self.command],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl+C in the terminal that ran `make run` spares it
            close_fds=True,
        )
        # Until a supervisor (ours, or a rival's that won the lock) has written its state.
        deadline = time.monotonic() + _START_WAIT_S
        while time.monotonic() < deadline:
            if self._state().get("started_at") != previous:
                break
            if child.poll() is not None and child.returncode != 0:
                break
            time.sleep(0.05)
        return self.status()


# -- the supervising process -----------------------------------------------------------------


def supervise(data: Path, command: Sequence[str]) -> int:
    """Run ``command`` once as the build of data dir ``data``: hold the lock, log its output,
    record how it ended. Returns 0 without doing anything when another build holds the lock."""
    import fcntl

    build = EngineBuild(data, command)
    build.dir.mkdir(parents=True, exist_ok=True)
    lock = os.open(build.lock_path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        return 0  # another build is running: the caller attaches to it
    with contextlib.suppress(OSError):
        os.nice(10)  # a compile on every core must not slow the workbench's own work
    started = time.time()
    state: dict[str, object] = {"pid": os.getpid(), "command": list(command),
                                "started_at": started, "log": str(build.log_path)}
    _write_json(build.state_path, state)
    code = 127
    with build.log_path.open("wb") as log:
        log.write(f"$ {shlex.join(command)}\n".encode())
        log.flush()
        try:
            code = subprocess.call(list(command), stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT)
        except OSError as exc:
            log.write(f"could not start the build: {exc}\n".encode())
        log.write(f"\nexit code {code} after {format_elapsed(time.time() - started)}\n"
                  .encode())
    _write_json(build.state_path, {**state, "ended_at": time.time(), "exit_code": code})
    os.close(lock)  # releases the lock
    return code


def _write_json(path: Path, data: dict[str, object]) -> None:
    # Written whole then renamed: a reader never sees half a file.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), "utf-8")
    os.replace(tmp, path)


def _supervisor_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A pid reused by an unrelated process after a crash is not our build.
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"loco_tui.engine_build" in cmdline.read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc: trust kill(pid, 0)
    except OSError:
        return True


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def _span(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else max(end - start, 0.0)


# -- the default build: pip, with a wheel cache keyed by the CMake flags ----------------------


def embedded_requirements() -> list[str]:
    """The ``embedded`` extra's requirements, as installed Loco's metadata lists them."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        listed = requires("loco-tui") or []
    except PackageNotFoundError:
        listed = []
    found = []
    for item in listed:
        requirement, _, marker = item.partition(";")
        if re.search(r"""extra\s*==\s*["']embedded["']""", marker):
            found.append(requirement.strip())
    if not found:
        raise SystemExit("loco-tui's metadata lists no `embedded` extra: "
                         "install Loco first (pip install -e .)")
    return found


def _pip_cache_dir() -> Path | None:
    result = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"],
                            capture_output=True, text=True, check=False)
    out = result.stdout.strip()
    return Path(out) if result.returncode == 0 and out else None


# llama-cpp-python's CMakeLists forces llama.cpp's `common` library on (a CACHE ... FORCE
# set), so no -D flag turns it off; the Python package never loads it, and with cpp-httplib,
# which only it uses, it was 37% of the compile here (83 compile steps instead of 140). A
# file CMake includes right after llama.cpp's own project() call sets it as a normal
# variable, which shadows the cache entry in llama.cpp's directories.
_SKIP_COMMON = "set(LLAMA_BUILD_COMMON OFF)\n"


def _lean(cmake_args: str, folder: Path) -> str:
    """``cmake_args`` plus the include that skips llama.cpp's `common` library (unless the
    flags say what to do with it)."""
    if "LLAMA_BUILD_COMMON" in cmake_args:
        return cmake_args
    folder.mkdir(parents=True, exist_ok=True)
    include = folder / "skip-llama-common.cmake"
    include.write_text(_SKIP_COMMON, "utf-8")
    return f"{cmake_args} -DCMAKE_PROJECT_llama.cpp_INCLUDE={shlex.quote(str(include))}".strip()


def install(verbose: bool = True) -> int:
    """Build llama-cpp-python (once per CMake flags) and install the ``embedded`` extra."""
    requirements = embedded_requirements()
    engine = next((r for r in requirements if r.lower().startswith("llama-cpp-python")), None)
    cmake_args = os.environ.get("CMAKE_ARGS", "")
    pip = [sys.executable, "-m", "pip"]
    quiet = ["--progress-bar", "off", "--disable-pip-version-check"]
    find_links: list[str] = []
    if engine is not None:
        cache = _pip_cache_dir()
        key = hashlib.sha256(
            f"{engine}|{cmake_args}|{_SKIP_COMMON}|{platform.machine()}|{sys.platform}"
            .encode()).hexdigest()[:16]
        wheels = (cache / "loco-engine-wheels" / key) if cache else None
        if wheels is None or not any(wheels.glob("llama_cpp_python-*.whl")):
            target = wheels or Path(os.environ.get("TMPDIR", "/tmp")) / f"loco-engine-{key}"
            lean = _lean(cmake_args, target)
            print(f"building {engine} with CMAKE_ARGS={lean!r} "
                  f"(CMAKE_BUILD_PARALLEL_LEVEL={os.environ.get('CMAKE_BUILD_PARALLEL_LEVEL')})",
                  flush=True)
            # --no-cache-dir: pip's wheel cache would hand back a wheel built with other flags.
            code = subprocess.call([*pip, "wheel", "--no-deps", "--no-cache-dir", *quiet,
                                    *(["-v"] if verbose else []), "-w", str(target), engine],
                                   env={**os.environ, "CMAKE_ARGS": lean})
            if code != 0:
                return code
            wheels = target
        else:
            print(f"reusing {engine} built earlier with the same flags: {wheels}", flush=True)
        find_links = ["--find-links", str(wheels), "--only-binary", "llama-cpp-python"]
    return subprocess.call([*pip, "install", *quiet, *find_links, *requirements])


# -- command line (the Makefile's) -----------------------------------------------------------


def _say_status(status: BuildStatus) -> str:
    log = str(status.log_path)
    home = str(Path.home())
    if log.startswith(home + os.sep):
        log = "~" + log[len(home):]
    if status.phase is BuildPhase.READY:
        return "the embedded engine (llama.cpp) is installed"
    if status.phase is BuildPhase.RUNNING:
        # Attached to a build under way: say how far it is.
        far = f"{status.summary}, " if status.progress.stage else ""
        return (f"llama.cpp is building in the background ({far}pid {status.pid}, log: {log}); "
                "the workbench shows its progress, and the embedded model answers once it "
                "is built")
    if status.phase is BuildPhase.FAILED:
        return f"{status.message}; log: {log}"
    return "the embedded engine is not installed"


def _follow(build: EngineBuild) -> int:
    """Wait for the build in the foreground, saying its progress now and then."""
    said: tuple[object, ...] | None = None
    while True:
        status = build.status()
        if status.phase is not BuildPhase.RUNNING:
            break
        # A line per stage and per tenth of the compile: enough to see it move.
        percent = status.progress.percent
        milestone = (status.progress.stage, None if percent is None else percent // 10)
        if milestone != said:
            said = milestone
            print(f"  building llama.cpp: {status.summary or 'starting'}", flush=True)
        time.sleep(1)
    print(_say_status(status), flush=True)
    if status.phase is BuildPhase.FAILED:
        for line in status.tail:
            print(f"  | {line}", file=sys.stderr)
        return 1
    return 0 if status.phase is BuildPhase.READY else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loco_tui.engine_build",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="action", required=True)
    start = sub.add_parser("start", help="start the build in the background, or attach to it")
    start.add_argument("--wait", action="store_true", help="wait for it, showing progress")
    start.add_argument("--force", action="store_true", help="build even if installed")
    sub.add_parser("status", help="say how the build is going")
    sub.add_parser("install", help="the build itself: pip, with a flag-keyed wheel cache")
    sup = sub.add_parser("supervise", help="(internal) run one build and record it")
    sup.add_argument("--data", type=Path, required=True)
    sup.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    if args.action == "install":
        return install()
    if args.action == "supervise":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return supervise(args.data, command)
    build = EngineBuild()
    if args.action == "status":
        print(_say_status(build.status()))
        return 0
    status = build.start(force=args.force)
    if args.wait:
        return _follow(build)
    print(_say_status(status), flush=True)
    return 0 if status.phase is not BuildPhase.FAILED else 1


if __name__ == "__main__":
    sys.exit(main())
