"""The workbench in a real terminal: app CPU per token and catch-up, Markdown against plain text.

Target (DESIGN.md "Targets", issue 15): with Markdown rendered, <= 1 ms of app CPU per token
and caught up within 0.5 s of the last token, four panes at ~460 tokens/s each; plain-text
panes measured 0.35-0.40 ms per token before the panes rendered Markdown.

How (textual-guide.md section 2, "Measuring streaming in a real terminal"):
- a FakeOllama runs in this process on loopback; each of four models streams a scripted
  ~4,900-token reply, one token per JSON line, 2 ms apart (~400-455 tokens/s: the nearest
  an asyncio-paced server gets to 460; the rate reached is reported): Markdown-heavy
  (bench_markdown's generator) or plain prose with the same token count, chosen by the
  prompt's first word;
- the real ``loco`` console script runs in ``tmux new-session -d -x 200 -y 50`` (a private
  tmux server, status line off so the app has all 50 rows) with a registry file holding one
  four-member ensemble and no judge, and LOCO_HOME in a temp dir (a fresh one per run: the
  store records the run, as it would for a user); its stderr is the terminal, never redirected;
- the prompt is typed with ``tmux send-keys``; the app's utime + stime (``/proc/PID/stat``, all
  threads) are read before the prompt, with the app idle, and sampled every 0.1 s after;
- *caught up*: the start of the first 0.5 s window after the last stream ends (as the server
  saw it) in which the app used < 0.025 s of CPU. CPU per token: the app's CPU from before
  the prompt to that moment, over the 4 x tokens streamed;
- the screen is read back at the end: every pane must say it received every token.

Runs alternate plain and Markdown, each in a fresh app (bytecode cached in a temp
PYTHONPYCACHEPREFIX, filled by a warm-up run first, as for an installed package).

Run: .venv/bin/python bench/bench_terminal.py [--quick] [--screens]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PIECES,
    WORKLOADS,
    Workload,
    machine_line,
    median,
    proc_cpu_s,
    proc_status_kb,
    quad_registry,
)
from loco_tui.testing.fake_ollama import FakeOllama
from loco_tui.testing.script import Generation, Reply, Script

TOKENS = 4_900
RATE = 460.0  # tokens/s per stream: the figure
# The fake server sleeps between pieces on an asyncio loop, which waits in whole milliseconds
# (epoll): 1/460 s sleeps 3 ms (~320 tok/s), and any delay from 1.2 to 2 ms sleeps 2 ms,
# ~455 tok/s on an idle loop; with the server's own per-piece work the streams run at
# ~400-445 tok/s, as the report's "stream rate" says. Nothing between is reachable.
PIECE_DELAY_S = 0.002
COLS, ROWS = 200, 50
MODELS = ("coder-a", "coder-b", "coder-c", "coder-d")
LOCO = Path(sys.executable).parent / "loco"
SAMPLE_S = 0.1
WINDOW_S = 0.5
IDLE_CPU_S = 0.025  # the most CPU a 0.5 s window may hold and count as idle
IDLE_SPAN_S = 2.0  # how long the idle app's CPU rate is measured, before and after a run
CPU_TARGET_MS = 1.0
CAUGHT_UP_TARGET_S = 0.5
PROMPT_WORD: dict[Workload, str] = {"plain": "plain", "markdown": "markdown"}  # its 1st word


def now() -> float:
    return time.monotonic()  # CLOCK_MONOTONIC: the fake server's clock too


# -- the scripted server -----------------------------------------------------------------------

def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


def make_script(tokens: int, delay: float) -> Script:
    """Per model: the Markdown or the plain reply (by the prompt's first word), else a short
    Markdown warm-up reply."""
    replies = {w: {m: PIECES[w](tokens, seed) for seed, m in enumerate(MODELS)}
               for w in WORKLOADS}
    warm_up = PIECES["markdown"](400, 99)

    def reply_for(model: str, messages: list[dict[str, Any]]) -> Reply:
        words = last_user_text(messages).split()
        first = words[0].lower() if words else ""
        for workload, word in PROMPT_WORD.items():
            if first == word:
                return Reply(pieces=replies[workload][model], piece_delay_s=delay)
        return Reply(pieces=warm_up)

    script = Script()
    for model in MODELS:
        script.add(model, reply_for)
    return script


# -- tmux ------------------------------------------------------------------------------------

class Tmux:
    """A private tmux server (its own socket, in the bench's temp dir) for this bench:
    nothing else's sessions are touched, and ``kill_server`` ends everything it ran."""

    def __init__(self, env: dict[str, str], directory: Path) -> None:
        self.socket = directory / "tmux.sock"
        self.env = env
        config = directory / "tmux.conf"
        # exit-empty off: killing one app's session must not take the server down while the
        # next session is being made (tmux: "server exited unexpectedly").
        config.write_text("set -s exit-empty off\nset -g status off\nset -g remain-on-exit on\n")
        self.config = config

    def __call__(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(["tmux", "-S", str(self.socket), "-f", str(self.config), *args],
                              env=self.env, capture_output=True, text=True, timeout=30)
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def kill_server(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self("kill-server", check=False)


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in task.read_text().split()]
    return out


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def find_app_pid(root: int) -> int | None:
    """The process running the ``loco`` script: the pane's process itself (``exec``) or,
    walking /proc children breadth first, a descendant of the pane's shell."""
    queue = [root]
    while queue:
        pid = queue.pop(0)
        if any(Path(arg).name == "loco" for arg in cmdline(pid)[:2]):
            return pid
        queue += children(pid)
    return None


def environ_of(pid: int, name: str) -> str | None:
    with contextlib.suppress(OSError):
        for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            key, _, value = entry.partition(b"=")
            if key.decode() == name:
                return value.decode(errors="replace")
    return None


@dataclass
class AppSession:
    """One ``loco`` workbench in a tmux session."""

    tmux: Tmux
    name: str
    home: Path
    registry: Path
    pid: int = 0

    def start(self, timeout: float = 60.0) -> None:
        command = f"exec {shlex.quote(str(LOCO))} --config {shlex.quote(str(self.registry))}"
        self.tmux("new-session", "-d", "-s", self.name, "-x", str(COLS), "-y", str(ROWS),
                  "-e", f"LOCO_HOME={self.home}", command)
        deadline = now() + timeout
        while now() < deadline:
            root = self.tmux("display", "-p", "-t", self.name, "#{pane_pid}", check=False)
            if root.strip().isdigit():
                pid = find_app_pid(int(root))
                if pid is not None:
                    self.pid = pid
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"no loco process in tmux session {self.name}")
        while now() < deadline:
            if "Ask the models" in self.screen():
                return
            self.check_alive()
            time.sleep(0.1)
        raise RuntimeError(f"the workbench never drew its prompt:\n{self.screen()}")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name, check=False)

    def check_alive(self) -> None:
        if not Path(f"/proc/{self.pid}").exists():
            raise RuntimeError(f"loco exited; its screen:\n{self.screen()}")

    def cpu(self) -> float:
        return proc_cpu_s(self.pid)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.name, "-l", text)
        self.tmux("send-keys", "-t", self.name, "Enter")

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until a 0.5 s window holds < 0.025 s of the app's CPU."""
        deadline = now() + timeout
        while now() < deadline:
            self.check_alive()
            c0 = self.cpu()
            time.sleep(WINDOW_S)
            if self.cpu() - c0 < IDLE_CPU_S:
                return
        raise RuntimeError("the app never went idle")

    def cpu_rate(self, seconds: float) -> float:
        """The app's CPU seconds per second over the next ``seconds``."""
        c0, t0 = self.cpu(), now()
        time.sleep(seconds)
        return (self.cpu() - c0) / (now() - t0)

    def stop(self) -> None:
        self.tmux("kill-session", "-t", self.name, check=False)


# -- one measured run ------------------------------------------------------------------------

SHOWN_ALL = re.compile(r"✓ (\d+) tok")


def measure(session: AppSession, server: FakeOllama, workload: Workload, tokens: int,
            screens: list[str] | None = None) -> dict[str, float]:
    """Type the prompt, sample the app's CPU until it has caught up, read the screen; with
    ``screens``, the screen halfway through the streams and at the end are added to it
    (reading the screen asks tmux, not the app)."""
    session.wait_idle()
    idle_rate = session.cpu_rate(IDLE_SPAN_S)
    first_generation = len(server.generations)
    bench_cpu0 = time.process_time()
    samples: list[tuple[float, float]] = [(now(), session.cpu())]
    session.type(f"{PROMPT_WORD[workload]} reply, please: a long answer with examples")
    end: float | None = None
    bench_cpu = float("nan")
    streams: list[Generation] = []
    caught: tuple[float, float] | None = None
    deadline = now() + 120
    next_at = samples[0][0] + SAMPLE_S
    halfway = samples[0][0] + tokens / RATE / 2
    while now() < deadline:
        if screens is not None and not screens and now() >= halfway:
            screens.append(session.screen())
        time.sleep(max(0.0, next_at - now()))
        next_at += SAMPLE_S
        session.check_alive()
        samples.append((now(), session.cpu()))
        ours = [g for g in server.generations[first_generation:] if g.model in MODELS]
        if end is None and len(ours) == len(MODELS) and all(g.finished for g in ours):
            end = max(g.finished for g in ours if g.finished is not None)
            bench_cpu = time.process_time() - bench_cpu0
            streams = ours
        if end is not None:
            caught = caught_up(samples, end)
            if caught is not None:
                break
    if end is None or caught is None:
        raise RuntimeError(f"{workload}: the streams did not end or the app never caught up "
                           f"within 120 s:\n{session.screen()}")
    caught_at, cpu_at = caught
    after_rate = session.cpu_rate(IDLE_SPAN_S)  # an idle app stays idle (no growing timers)
    screen = session.screen()
    if screens is not None:
        screens.append(screen)
    shown = [int(x) for x in SHOWN_ALL.findall(screen)]
    start = samples[0][0]
    cpu_in_stream = next(c for t, c in samples if t >= end) - samples[0][1]
    stream_s = [(g.finished or 0) - g.received for g in streams]
    return {
        "cpu_ms_per_token": (cpu_at - samples[0][1]) / (len(MODELS) * tokens) * 1e3,
        "cpu_s": cpu_at - samples[0][1],
        "caught_up_s": caught_at - end,
        "prompt_to_end_s": end - start,
        "core_share": cpu_in_stream / (end - start),
        "rate": median([tokens / s for s in stream_s]),
        "idle_ms_per_s": idle_rate * 1e3,
        "after_ms_per_s": after_rate * 1e3,
        "panes_complete": float(shown.count(tokens) == len(MODELS)),
        "rss_mb": proc_status_kb("VmRSS", session.pid) / 1024,
        "server_cpu_s": bench_cpu,
    }


def caught_up(samples: Sequence[tuple[float, float]], end: float) -> tuple[float, float] | None:
    """(time, cpu) at the start of the first 0.5 s window after ``end`` holding < 0.025 s of
    CPU, or None while there is none yet."""
    for i, (t, c) in enumerate(samples):
        if t < end:
            continue
        for t2, c2 in samples[i + 1:]:
            if t2 - t >= WINDOW_S - SAMPLE_S / 2:
                if c2 - c < IDLE_CPU_S:
                    return t, c
                break
    return None


# -- main ------------------------------------------------------------------------------------

@contextlib.contextmanager
def killed_on_exit(tmux: Tmux) -> Iterator[None]:
    """However the bench ends (an error, Ctrl+C, SIGTERM, SIGHUP), the tmux server goes."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        tmux.kill_server()
        for s, handler in previous.items():
            signal.signal(s, handler)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--screens", action="store_true",
                        help="print the last Markdown run's screen halfway and at the end")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("bench_terminal needs tmux on PATH: nothing measured")
    tokens = 1_500 if args.quick else TOKENS
    repeats = 1 if args.quick else 5
    delay = PIECE_DELAY_S
    print(f"start: {machine_line()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="loco-bench-terminal-") as tmp_name:
        tmp = Path(tmp_name)
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONDONTWRITEBYTECODE", "LOCO_CONFIG", "TMUX")}
        env.update(PYTHONPYCACHEPREFIX=str(tmp / "pycache"), XDG_CONFIG_HOME=str(tmp / "config"),
                   XDG_DATA_HOME=str(tmp / "data"), LOCO_HOME=str(tmp / "home"))
        tmux = Tmux(env, tmp)
        server = FakeOllama(make_script(tokens, delay))
        server.start()
        registry = tmp / "loco.toml"
        registry.write_text(quad_registry(server.url, MODELS))
        results: dict[Workload, list[dict[str, float]]] = {w: [] for w in WORKLOADS}
        term = colorterm = None
        screens: list[str] = []
        try:
            with killed_on_exit(tmux):
                warm = AppSession(tmux, "warm-up", tmp / "home-warm-up", registry)
                warm.start(timeout=120)
                warm.wait_idle()
                warm.type("warm up")
                time.sleep(3)
                warm.wait_idle()
                warm.stop()
                for repeat in range(repeats):
                    for workload in WORKLOADS:
                        name = f"{workload}-{repeat}"
                        session = AppSession(tmux, name, tmp / f"home-{name}", registry)
                        try:
                            session.start()
                            term = environ_of(session.pid, "TERM")
                            colorterm = environ_of(session.pid, "COLORTERM")
                            last_markdown = workload == "markdown" and repeat == repeats - 1
                            result = measure(session, server, workload, tokens,
                                             screens if last_markdown else None)
                        finally:
                            session.stop()
                        results[workload].append(result)
                        print(f"  {name}: {result['cpu_ms_per_token']:.3f} ms/token, caught up "
                              f"{result['caught_up_s']:.2f} s, {result['rate']:.0f} tok/s, "
                              f"{'complete' if result['panes_complete'] else 'INCOMPLETE'}; "
                              f"{machine_line()}", flush=True)
        finally:
            server.stop()
    report(results, tokens, repeats, delay, term, colorterm)
    if args.screens:
        for title, screen in zip(("halfway", "at the end"), screens, strict=False):
            print(f"-- the last Markdown run's screen {title} --\n{screen}")


def report(results: dict[Workload, list[dict[str, float]]], tokens: int, repeats: int,
           delay: float, term: str | None, colorterm: str | None) -> None:
    print(machine_line())
    print(f"real terminal: tmux {COLS}x{ROWS} (TERM={term}, COLORTERM={colorterm}), 4 panes x "
          f"{tokens} tokens, piece_delay_s {delay * 1e3:.1f} ms; medians of {repeats} fresh "
          f"app(s) per kind, (min-max)")

    def row(label: str, key: str, unit: str, digits: int = 3, target: str = "") -> None:
        cells = []
        for w in WORKLOADS:
            xs = [r[key] for r in results[w]]
            cells.append(f"{median(xs):.{digits}f} ({min(xs):.{digits}f}-{max(xs):.{digits}f})")
        p = median([r[key] for r in results["plain"]])
        m = median([r[key] for r in results["markdown"]])
        ratio = f"{m / p:5.2f}x" if p > 0 else "   - "
        print(f"  {label:34} {cells[0]:>24} {cells[1]:>24} {ratio:>7} {unit:9} {target}")

    print(f"  {'':34} {'plain':>24} {'markdown':>24} {'md/pl':>7}")
    md_cpu = median([r["cpu_ms_per_token"] for r in results["markdown"]])
    md_caught = median([r["caught_up_s"] for r in results["markdown"]])
    row("app CPU per token", "cpu_ms_per_token", "ms/token", 3,
        f"target <= 1 ms: {'MET' if md_cpu <= CPU_TARGET_MS else 'NOT MET'}")
    row("caught up after the last stream", "caught_up_s", "s", 2,
        f"target <= 0.5 s: {'MET' if md_caught <= CAUGHT_UP_TARGET_S else 'NOT MET'}")
    row("app CPU, prompt -> caught up", "cpu_s", "s", 2)
    row("share of a core while streaming", "core_share", "cores", 2)
    row("stream rate (server side)", "rate", "tok/s", 0)
    row("prompt -> last stream ends", "prompt_to_end_s", "s", 2)
    row("idle app before the prompt (2 s)", "idle_ms_per_s", "ms CPU/s", 1)
    row("app after catching up (2 s)", "after_ms_per_s", "ms CPU/s", 1)
    row("app RSS at the end", "rss_mb", "MB", 1)
    row("fake server (this process) CPU", "server_cpu_s", "s", 2)
    complete = {w: all(r["panes_complete"] for r in results[w]) for w in WORKLOADS}
    print(f"  every pane showed '✓ {tokens} tok': plain {'yes' if complete['plain'] else 'NO'}, "
          f"markdown {'yes' if complete['markdown'] else 'NO'}")


if __name__ == "__main__":
    main()
