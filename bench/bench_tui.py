"""The workbench under streaming load: plain-text against Markdown-heavy replies, the recorder
on and off, all in one process, each against a baseline measured in the same process.

Targets (DESIGN.md, issues 14 and 15): 4 panes x 500 tokens/s without falling behind (lag from
the last token in to the last token on screen <= 0.5 s), key-press latency p95 < 50 ms, app
CPU <= 1 ms per token with Markdown rendered, RSS < 200 MB after 100k tokens, and still caught
up with the recorder on.

An ensemble of four members (no judge) streams from an in-process provider (no I/O) paced by
the wall clock at 500 tokens/s each: token i is due at t0 + i/500 and leaves as soon as the
loop lets the producer run after that (tokens that fell due meanwhile go out back to back, as
from a socket buffer), so a busy UI shows up as tokens leaving late, not as a slower
schedule. The real LocoApp runs headless at 160x48 with LOCO_HOME in a temp dir; every frame
is also encoded to terminal bytes (``render_segments``, which the headless driver skips), so a
frame costs what it costs in a terminal. Workloads (``bench/common.py``): ``plain`` prose and
bench_markdown's ``markdown`` reply (headings, lists, tables, long fenced code), the same
number of tokens per pane.

Runs, interleaved per repeat so drift in machine load hits every kind alike:
- baseline: the same streams into the controller with a counting sink and no app;
- quiet: the app with history off (no store): CPU per token and lag;
- recorder: the app with history on (a Store in the temp LOCO_HOME, the controller's
  Recorder subscribed as the app does after its first frame): CPU per token and lag;
- typing: the app with history off while a thread types into the prompt editor every
  40-80 ms (a fast typist), posting keys as the terminal driver's input thread does; each
  press timed to the first frame whose prompt holds it; against typing into the idle app.
And once per workload, in a fresh process: RSS after 100k tokens (4 x 25k) with history on.

CPU is ``time.process_time()`` (user + system of every thread of this process, aiosqlite's
writer included) from the prompt being sent to the first frame that shows every pane whole
and finished; the baseline's from its run's start to its end. Quoted: *net* = app run minus
the no-app baseline of the same workload and repeat (what the UI costs); *raw* is shown too
(what the whole process spent: the paced producer, controller and orchestrator included).

Run: .venv/bin/python bench/bench_tui.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import subprocess
import sys
import threading
import time
from bisect import bisect_right
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events
from textual._compositor import CompositorUpdate
from textual.screen import Screen

from bench.common import (
    PIECES,
    WORKLOADS,
    Workload,
    machine_line,
    median,
    pct,
    proc_status_kb,
    quad_registry,
    temp_loco_home,
)
from loco_tui.app import LocoApp, UiSettings
from loco_tui.controller import Controller
from loco_tui.events import Delta, Event
from loco_tui.orchestrator import RunRequest
from loco_tui.providers.base import ChatMessage, Chunk, StatsClock, Structured
from loco_tui.providers.pool import ProviderPool
from loco_tui.registry import LoadedRegistry, load_registry_text
from loco_tui.testing.fake_provider import ScriptedProvider
from loco_tui.testing.script import Reply, Script
from loco_tui.widgets.pane_document import render_whole

RATE = 500.0  # tokens/s per member
MODELS = ("a", "b", "c", "d")
MEMBERS = ("m1", "m2", "m3", "m4")  # the ensemble's members, in MODELS order
SIZE = (160, 48)
KEYS = "abcdefghijklmnoprstuvwxyz"  # no "q": it quits when the prompt is not focused
LAG_TARGET_S = 0.5
KEY_TARGET_MS = 50.0
CPU_TARGET_MS = 1.0
RSS_TARGET_MB = 200.0


def settings(history: bool) -> UiSettings:
    """Nothing periodic but the drain timer; nothing saved outside the temp LOCO_HOME."""
    return UiSettings(show_rates=True, watch_config=False, health_interval_s=3600, seed=1,
                      history=history, remember_preferences=False)


def make_script(workload: Workload, n: int) -> Script:
    script = Script()
    for i, model in enumerate(MODELS):
        script.add(model, Reply(pieces=PIECES[workload](n, i)))
    return script


class PacedProvider(ScriptedProvider):
    """Token i of a reply is due at t0 + i/rate; it is yielded at the first chance after."""

    def __init__(self, script: Script, rate: float, record: bool = True) -> None:
        super().__init__("local", script)
        self.rate = rate
        self.record = record
        self.t0: dict[str, float] = {}  # model -> perf_counter when its stream started
        self.late: list[float] = []  # seconds each token left after it was due

    async def _play(self, model: str, messages: list[ChatMessage],
                    structured: Structured | None = None) -> AsyncIterator[Chunk]:
        reply = self.script.reply_for(model, list(messages))  # type: ignore[arg-type]
        assert reply is not None
        clock = StatsClock()
        self.t0[model] = t0 = time.perf_counter()
        for i, piece in enumerate(reply.pieces):
            due = t0 + i / self.rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            if self.record:
                self.late.append(time.perf_counter() - due)
            clock.saw_output()
            yield Chunk(text=piece)
        yield Chunk(done=True, stats=clock.stats(tokens_in=1, tokens_out=len(reply.pieces)),
                    done_reason="stop")

    def due(self, k: int, i: int) -> float:
        """When token i of member k was due."""
        return self.t0[MODELS[k]] + i / self.rate


class Tally:
    """A controller sink: per member, when each token was emitted and the text length so far."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.cum: dict[str, list[int]] = defaultdict(list)

    def __call__(self, event: Event) -> None:
        if isinstance(event, Delta) and event.channel == "answer":
            cum = self.cum[event.member]
            cum.append((cum[-1] if cum else 0) + len(event.text))
            self.times[event.member].append(time.perf_counter())

    def rate(self) -> float:
        """Tokens/s over all members, first to last emission."""
        first = min(t[0] for t in self.times.values())
        last = max(t[-1] for t in self.times.values())
        return sum(len(t) for t in self.times.values()) / (last - first)


def setup(workload: Workload, n: int, rate: float = RATE, record: bool = True
          ) -> tuple[Controller, PacedProvider, Tally]:
    """A controller over the paced provider; with ``record``, a Tally sink and lateness."""
    registry = load_registry_text(quad_registry("http://unused", MODELS), "bench.toml")
    provider = PacedProvider(make_script(workload, n), rate, record=record)
    pool = ProviderPool(registry, factory=lambda pid, config: provider)
    controller = Controller(registry, pool=pool)
    tally = Tally()
    if record:
        controller.subscribe(tally)
    return controller, provider, tally


def full_texts(provider: PacedProvider) -> dict[str, str]:
    return {m: provider.script.replies[model].full_text  # type: ignore[union-attr]
            for m, model in zip(MEMBERS, MODELS, strict=True)}


# -- instrumentation (this process only) ---------------------------------------------------

FRAME_COSTS: list[float] = []  # seconds per screen update (layout + render + encode)
DRAIN_COSTS: list[float] = []  # seconds per LocoApp._drain that had events


def _timed(method: Callable[..., Any], costs: list[float]) -> Callable[..., Any]:
    def wrapper(self: object, *args: object, **kwargs: object) -> Any:
        t0 = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            costs.append(time.perf_counter() - t0)

    return wrapper


def instrument() -> None:
    """Time every screen update (layout + render + encode) in this process."""
    Screen._on_timer_update = _timed(Screen._on_timer_update, FRAME_COSTS)  # type: ignore[method-assign]


class BenchApp(LocoApp):
    """LocoApp that notes every frame it sends to the (headless) terminal, and what it shows."""

    CSS_PATH = str(Path(sys.modules[LocoApp.__module__].__file__ or "").with_name("loco.tcss"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frame_times: list[float] = []
        self.frame_cpu: list[float] = []  # process_time at each frame
        self.frame_chars: list[tuple[int, ...]] = []  # per member: answer length on screen
        self.frame_done: list[bool] = []  # every member pane finished (its last block whole)
        self.prompt_chars = 0  # the prompt's length as the last frame showed it
        self.on_frame: Callable[[float], None] | None = None

    def _drain(self) -> None:
        if not self._inbox:
            super()._drain()
            return
        t0 = time.perf_counter()
        super()._drain()
        DRAIN_COSTS.append(time.perf_counter() - t0)

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        if renderable is None or self._batch_count:
            return
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(self.console)  # the bytes a terminal would get
        super()._display(screen, renderable)
        now = time.perf_counter()
        self.frame_times.append(now)
        self.frame_cpu.append(time.process_time())
        panes = [self._panes.get(m) for m in MEMBERS]
        self.frame_chars.append(tuple(len(p.text) if p is not None else 0 for p in panes))
        self.frame_done.append(all(p is not None and p.has_class("-done") for p in panes))
        self.prompt_chars = len(self.prompt.text)
        if self.on_frame is not None:
            self.on_frame(now)


class KeyPresser(threading.Thread):
    """Types letters into the prompt from a thread, as the terminal driver's input thread
    posts keys, every 40-80 ms without waiting for the screen. Press k is timed to the
    first frame whose prompt holds k letters (a frame that shows a later press shows it
    too)."""

    def __init__(self, app: BenchApp, loop: asyncio.AbstractEventLoop, count: int,
                 typed: int) -> None:
        super().__init__(daemon=True)
        self.app, self.loop, self.count = app, loop, count
        self.typed = typed  # letters in the prompt before the first press
        self.latencies: list[float] = []
        self.pressed: deque[tuple[int, float]] = deque()  # (letters after the press, when)
        self.stop = threading.Event()

    @property
    def missed(self) -> int:
        return len(self.pressed)

    def frame(self, now: float) -> None:  # on the loop, from BenchApp._display
        shown = self.app.prompt_chars
        while self.pressed and self.pressed[0][0] <= shown:
            self.latencies.append(now - self.pressed.popleft()[1])

    def run(self) -> None:
        rng = random.Random(3)
        for i in range(self.count):
            if self.stop.wait(rng.uniform(0.04, 0.08)):
                break
            key = KEYS[i % len(KEYS)]
            event = events.Key(key, key)
            event.set_sender(self.app)
            self.pressed.append((self.typed + i + 1, time.perf_counter()))
            asyncio.run_coroutine_threadsafe(self.app._post_message(event), self.loop)

    async def finish(self, timeout: float = 3.0) -> None:
        """Stop typing and wait until every press is on screen (or the timeout)."""
        self.stop.set()
        deadline = time.perf_counter() + timeout
        while (self.is_alive() or self.pressed) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)


class Ticker:
    """A 10 ms asyncio ticker: the gaps between its ticks show how long the loop blocks."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            self.gaps.append(now - last)
            last = now

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()


# -- runs ------------------------------------------------------------------------------------

async def baseline_run(workload: Workload, n: int) -> dict[str, float]:
    """The same streams into a controller with a counting sink and no app."""
    controller, provider, tally = setup(workload, n)
    ticker = Ticker()
    ticker.start()
    gc.collect()
    cpu0 = time.process_time()
    status = await controller.run(RunRequest("go", ensemble="quad"))
    cpu = time.process_time() - cpu0
    ticker.stop()
    await controller.aclose()
    assert status == "ok", status
    tokens = sum(len(t) for t in tally.times.values())
    return {"cpu_s": cpu, "tokens": tokens, "cpu_ms_per_token": cpu / tokens * 1e3,
            "rate": tally.rate(), "late_p95_ms": pct(provider.late, 95) * 1e3,
            "late_max_ms": max(provider.late) * 1e3, "gap_max_ms": max(ticker.gaps) * 1e3}


def shown_at(app: BenchApp, tally: Tally, provider: PacedProvider
             ) -> tuple[list[float], list[float], list[float]]:
    """Per token: seconds from its Delta, and from when it was due, to the first frame
    that shows it; and the latter for the last third of each stream only."""
    from_delta, from_due, late_third = [], [], []
    for k, member in enumerate(MEMBERS):
        f = 0
        for i, (cum, emitted) in enumerate(zip(tally.cum[member], tally.times[member],
                                               strict=True)):
            while f < len(app.frame_times) and app.frame_chars[f][k] < cum:
                f += 1
            if f == len(app.frame_times):
                break  # never shown: the end-of-stream check reports it
            from_delta.append(app.frame_times[f] - emitted)
            from_due.append(app.frame_times[f] - provider.due(k, i))
            if 3 * i >= 2 * len(tally.cum[member]):
                late_third.append(from_due[-1])
    return from_delta, from_due, late_third


def panes_exact(app: BenchApp, full: dict[str, str]) -> bool:
    """Every pane holds its whole reply, and its lines are what rendering the whole reply at
    once gives (no delta lost, no block left as it looked mid-stream)."""
    for member in MEMBERS:
        pane = app._panes[member]
        document = pane.document
        if pane.text != full[member]:
            return False
        if document.lines != render_whole(full[member], document.width, document.styles):
            return False
    return True


async def app_run(workload: Workload, n: int | None, *, typing: bool = False,
                  history: bool = False, presses: int = 10**6) -> dict[str, float]:
    """Stream n tokens per member through the app (None: the idle app); with ``typing``,
    keys are pressed into the prompt while it streams; with ``history``, the app opens its
    store in LOCO_HOME and records the run."""
    controller, provider, tally = setup(workload, n or 1)
    app = BenchApp(LoadedRegistry(controller.registry, path=None), settings=settings(history),
                   controller=controller)
    out: dict[str, float] = {}
    async with app.run_test(headless=True, size=SIZE) as pilot:
        await pilot.pause(0.3)
        await asyncio.wait_for(app._history_ready.wait(), 10)
        if history and controller.recorder is None:
            raise RuntimeError(f"the app did not open its store: {app.history_off}")
        loop = asyncio.get_running_loop()
        prompt = app.prompt
        prompt.cursor_blink = False
        FRAME_COSTS.clear()
        DRAIN_COSTS.clear()
        behind: list[int] = []
        sampling = threading.Event()

        def sample() -> None:  # every 100 ms, from a thread: tokens due but not on screen
            while not sampling.wait(0.1):
                if n is None or not app.frame_chars or len(provider.t0) < len(MODELS):
                    continue
                now, shown = time.perf_counter(), app.frame_chars[-1]
                for k, member in enumerate(MEMBERS):
                    due = min(n, int((now - provider.t0[MODELS[k]]) * RATE) + 1)
                    on_screen = bisect_right(tally.cum[member], shown[k])
                    behind.append(max(0, due - on_screen))

        gc_pauses: list[float] = []  # full (generation 2) collections
        gc_started = [0.0]

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                gc_started[0] = time.perf_counter()
            elif info["generation"] == 2:
                gc_pauses.append(time.perf_counter() - gc_started[0])

        gc.collect()
        gc.callbacks.append(on_gc)
        ticker = Ticker()
        ticker.start()
        cpu0 = time.process_time()
        if n is not None:
            prompt.load_text("go")
            prompt.action_submit()  # Enter: the app clears the box once the run starts
            while len(provider.t0) < len(MODELS):
                await asyncio.sleep(0.001)
        presser = KeyPresser(app, loop, presses if typing else 0, typed=len(prompt.text))
        app.on_frame = presser.frame
        sampler = threading.Thread(target=sample, daemon=True)
        presser.start()
        sampler.start()
        if n is not None:
            while controller.active_runs:
                await asyncio.sleep(0.01)
            presser.stop.set()
            sampling.set()
            last_emit = max(t[-1] for t in tally.times.values())
            full = full_texts(provider)
            lengths = tuple(len(full[m]) for m in MEMBERS)

            def first_whole() -> int | None:  # the first frame with every pane whole and done
                return next((i for i, (chars, done) in enumerate(
                    zip(app.frame_chars, app.frame_done, strict=True))
                    if done and chars == lengths), None)

            deadline = time.perf_counter() + 10.0
            while first_whole() is None and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            whole = first_whole()
            out["whole"] = float(whole is not None)
            shown_all = app.frame_times[whole] if whole is not None else time.perf_counter()
            out["cpu_s"] = (app.frame_cpu[whole] if whole is not None
                            else time.process_time()) - cpu0
            if history:
                assert controller.recorder is not None
                flush0 = time.process_time()
                await controller.recorder.flush()
                out["flush_cpu_ms"] = (time.process_time() - flush0) * 1e3
            out["lag_s"] = shown_all - last_emit
            last_due = max(provider.due(k, n - 1) for k in range(len(MODELS)))
            out["lag_due_s"] = shown_all - last_due
            out["rate"] = tally.rate()
            out["tokens"] = sum(len(t) for t in tally.times.values())
            out["cpu_ms_per_token"] = out["cpu_s"] / out["tokens"] * 1e3
            from_delta, from_due, late_third = shown_at(app, tally, provider)
            for name, values in (("delta", from_delta), ("due", from_due),
                                 ("third", late_third)):
                out[f"{name}_p50_ms"] = pct(values, 50) * 1e3
                out[f"{name}_p95_ms"] = pct(values, 95) * 1e3
                out[f"{name}_max_ms"] = max(values) * 1e3
            out["behind_p95"] = pct(behind, 95)
            out["behind_max"] = max(behind)
            out["late_p95_ms"] = pct(provider.late, 95) * 1e3
            first_due = min(provider.t0.values())
            out["seconds"] = last_emit - first_due
            out["fps"] = sum(first_due <= t <= last_emit for t in app.frame_times) / out["seconds"]
        else:
            while presser.is_alive():
                await asyncio.sleep(0.02)
        await presser.finish()
        sampling.set()
        ticker.stop()
        gc.callbacks.remove(on_gc)
        out["gc2_n"] = len(gc_pauses)
        out["gc2_max_ms"] = max(gc_pauses, default=0.0) * 1e3
        out["key_p50_ms"] = pct(presser.latencies, 50) * 1e3
        out["key_p95_ms"] = pct(presser.latencies, 95) * 1e3
        out["key_max_ms"] = max(presser.latencies, default=float("nan")) * 1e3
        out["keys"] = len(presser.latencies)
        out["keys_missed"] = presser.missed
        out["gap_max_ms"] = max(ticker.gaps) * 1e3
        out["gap_p99_ms"] = pct(ticker.gaps, 99) * 1e3
        out["frames"] = len(app.frame_times)
        out["frame_p50_ms"] = pct(FRAME_COSTS, 50) * 1e3
        out["frame_p95_ms"] = pct(FRAME_COSTS, 95) * 1e3
        out["frame_max_ms"] = max(FRAME_COSTS, default=float("nan")) * 1e3
        out["drain_p50_ms"] = pct(DRAIN_COSTS, 50) * 1e3
        out["drain_max_ms"] = max(DRAIN_COSTS, default=0.0) * 1e3
        if n is not None:
            out["exact"] = float(panes_exact(app, full_texts(provider)))  # off the clock
        await pilot.exit(None)
    return out


# -- RSS after 100k tokens (in a fresh process) ----------------------------------------------

def rss_child(workload: Workload, per_member: int, rate: float) -> None:
    """Stream ``per_member`` tokens to each of the four panes (history on, in a temp
    LOCO_HOME) and print RSS figures as one JSON line."""
    marks: dict[str, float] = {"imports": proc_status_kb("VmRSS")}

    async def main() -> None:
        controller, provider, _ = setup(workload, per_member, rate, record=False)
        app = LocoApp(LoadedRegistry(controller.registry, path=None),
                      settings=settings(history=True), controller=controller)
        async with app.run_test(headless=True, size=SIZE) as pilot:
            await pilot.pause(0.3)
            await asyncio.wait_for(app._history_ready.wait(), 10)
            marks["recording"] = float(controller.recorder is not None)
            gc.collect()
            marks["idle"] = proc_status_kb("VmRSS")
            t0 = time.perf_counter()
            app.prompt.load_text("go")
            app.prompt.action_submit()
            await asyncio.sleep(0.1)
            while controller.active_runs:
                await asyncio.sleep(0.05)
            full = full_texts(provider)
            deadline = time.perf_counter() + 120
            while (any(app._panes[m].text != full[m] or not app._panes[m].has_class("-done")
                       for m in MEMBERS) and time.perf_counter() < deadline):
                await asyncio.sleep(0.05)
            await pilot.pause(0.2)  # let the last frame render
            marks["seconds"] = time.perf_counter() - t0
            marks["tokens"] = per_member * len(MODELS)
            marks["exact"] = float(all(app._panes[m].text == full[m] for m in MEMBERS))
            marks["text_kb"] = sum(len(full[m]) for m in MEMBERS) / 1024
            marks["after"] = proc_status_kb("VmRSS")
            gc.collect()
            marks["after_gc"] = proc_status_kb("VmRSS")
            marks["hwm"] = proc_status_kb("VmHWM")
            await pilot.exit(None)

    with temp_loco_home():
        asyncio.run(main())
    print("RSS " + json.dumps(marks))


def rss_run(workload: Workload, per_member: int = 25_000, rate: float = 2_500.0
            ) -> dict[str, float]:
    """RSS figures (kB) of a fresh process that streamed 4 x ``per_member`` tokens."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--rss-child",
                           workload, str(per_member), str(rate)],
                          cwd=str(Path(__file__).resolve().parent.parent),
                          capture_output=True, text=True, timeout=600)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RSS ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"RSS run failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, float] = json.loads(line[4:])
    return result


# -- report ----------------------------------------------------------------------------------

Runs = dict[str, list[dict[str, float]]]


def med(runs: Sequence[dict[str, float]], key: str) -> float:
    return median([r[key] for r in runs])


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def report(n: int, repeats: int, base: Runs, quiet: Runs, rec: Runs, typing: Runs,
           idle: dict[str, float], rss: dict[Workload, dict[str, float]]) -> None:
    print(machine_line())
    print(f"4 panes x {RATE:.0f} tok/s, {n} tokens per pane, {SIZE[0]}x{SIZE[1]} headless + "
          f"terminal encoding; medians of {repeats} interleaved repeat(s), min-max in brackets")
    net = {w: [q["cpu_ms_per_token"] - b["cpu_ms_per_token"]
               for q, b in zip(quiet[w], base[w], strict=True)] for w in WORKLOADS}
    net_rec = {w: [r["cpu_ms_per_token"] - b["cpu_ms_per_token"]
                   for r, b in zip(rec[w], base[w], strict=True)] for w in WORKLOADS}
    recorder = {w: [r["cpu_ms_per_token"] - q["cpu_ms_per_token"]
                    for r, q in zip(rec[w], quiet[w], strict=True)] for w in WORKLOADS}

    def row(label: str, values: Mapping[Workload, Sequence[float]], unit: str, target: str = "",
            ok: Callable[[float], bool] | None = None, digits: int = 3, ratio: bool = True
            ) -> None:
        def cell(xs: Sequence[float]) -> str:
            lo, hi = (min(xs), max(xs)) if xs else (float("nan"), float("nan"))
            return f"{median(xs):.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"

        p, m = median(values["plain"]), median(values["markdown"])
        quotient = f"{m / p:5.2f}x" if ratio and p > 0 else "   - "
        mark = f" {verdict(ok(m))}" if ok is not None else ""
        print(f"  {label:36} {cell(values['plain']):>24} {cell(values['markdown']):>24} "
              f"{quotient:>7} {unit:6} {target}{mark}")

    def key(runs: Runs, name: str) -> dict[Workload, list[float]]:
        return {w: [r[name] for r in runs[w]] for w in WORKLOADS}

    print(f"  {'median (min-max)':36} {'plain':>24} {'markdown':>24} {'md/pl':>7}")
    print(" CPU (process_time, prompt sent -> every pane whole on screen)")
    row("UI net (app - no-app baseline)", net, "ms/tok", "target <= 1 ms",
        lambda v: v <= CPU_TARGET_MS)
    row("app raw (whole process)", key(quiet, "cpu_ms_per_token"), "ms/tok")
    row("no-app baseline (producer + core)", key(base, "cpu_ms_per_token"), "ms/tok")
    print(" falling behind (history off)")
    row("lag: last token in -> on screen", key(quiet, "lag_s"), "s", "target <= 0.5 s",
        lambda v: v <= LAG_TARGET_S)
    row("lag: last token due -> on screen", key(quiet, "lag_due_s"), "s")
    row("due -> frame p95, last third", key(quiet, "third_p95_ms"), "ms", digits=1)
    row("Delta -> frame p95", key(quiet, "delta_p95_ms"), "ms", digits=1)
    row("due, not on screen p95 (tokens)", key(quiet, "behind_p95"), "tok", digits=0)
    row("longest full GC", key(quiet, "gc2_max_ms"), "ms", digits=0)
    row("produced rate (baseline: see below)", key(quiet, "rate"), "tok/s", digits=0)
    row("frames per second", key(quiet, "fps"), "fps", digits=1)
    row("screen update p95", key(quiet, "frame_p95_ms"), "ms", digits=1)
    row("_drain p50", key(quiet, "drain_p50_ms"), "ms", digits=2)
    row("_drain max", key(quiet, "drain_max_ms"), "ms", digits=1)
    row("loop gap max (10 ms ticker)", key(quiet, "gap_max_ms"), "ms", digits=1)
    row("full GCs", key(quiet, "gc2_n"), "", digits=0)
    print(f"  no-app baseline rate: plain {med(base['plain'], 'rate'):.0f} tok/s, markdown "
          f"{med(base['markdown'], 'rate'):.0f} tok/s (ideal {RATE * len(MODELS):.0f})")
    whole = {w: all(r["whole"] and r["exact"] for r in quiet[w] + rec[w] + typing[w])
             for w in WORKLOADS}
    print(f"  every pane whole, finished and equal to rendering its reply at once: plain "
          f"{'yes' if whole['plain'] else 'NO'}, markdown {'yes' if whole['markdown'] else 'NO'}")
    print(" recorder on (a Store in the temp LOCO_HOME)")
    row("UI net with recorder", net_rec, "ms/tok")
    row("recorder's cost (on - off)", recorder, "ms/tok", ratio=False)
    row("recorder's final flush (CPU)", key(rec, "flush_cpu_ms"), "ms", digits=1, ratio=False)
    row("lag: last token in -> on screen", key(rec, "lag_s"), "s", "target <= 0.5 s",
        lambda v: v <= LAG_TARGET_S)
    row("due -> frame p95, last third", key(rec, "third_p95_ms"), "ms", digits=1)
    print(" key press -> frame while streaming (history off)")
    row("p50", key(typing, "key_p50_ms"), "ms", digits=1)
    row("p95", key(typing, "key_p95_ms"), "ms", "target < 50 ms",
        lambda v: v < KEY_TARGET_MS, digits=1)
    row("max", key(typing, "key_max_ms"), "ms", digits=1)
    row("presses timed (missed)", key(typing, "keys"), "", digits=0)
    row("lag with typing: last token in -> on screen", key(typing, "lag_s"), "s")
    missed = sum(r["keys_missed"] for w in WORKLOADS for r in typing[w])
    print(f"  idle app: p50 {idle['key_p50_ms']:.1f} ms, p95 {idle['key_p95_ms']:.1f} ms, "
          f"max {idle['key_max_ms']:.1f} ms over {idle['keys']:.0f} presses; streaming/idle p95 "
          f"plain {med(typing['plain'], 'key_p95_ms') / idle['key_p95_ms']:.2f}x, markdown "
          f"{med(typing['markdown'], 'key_p95_ms') / idle['key_p95_ms']:.2f}x; "
          f"{missed:.0f} presses never shown")
    print(" RSS after 100k tokens (4 x 25k, history on, a fresh process each)")
    for w in WORKLOADS:
        r = rss[w]
        ok = max(r["after"], r["hwm"]) / 1024 < RSS_TARGET_MB
        print(f"  {w:9} idle app {r['idle'] / 1024:6.1f} MB  after {r['after'] / 1024:6.1f} MB "
              f"(after gc {r['after_gc'] / 1024:.1f})  peak {r['hwm'] / 1024:6.1f} MB  growth "
              f"{(r['after'] - r['idle']) / 1024:+6.1f} MB  ({r['text_kb']:.0f} KB of text, "
              f"{r['seconds']:.1f} s, exact {'yes' if r['exact'] else 'NO'})  "
              f"target < 200 MB: {verdict(ok)}")
    p, m = rss["plain"], rss["markdown"]
    print(f"  markdown/plain: after {m['after'] / p['after']:.2f}x, growth "
          f"{(m['after'] - m['idle']) / max(1, p['after'] - p['idle']):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rss-child", nargs=3, metavar=("WORKLOAD", "PER_MEMBER", "RATE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        workload = next(w for w in WORKLOADS if w == args.rss_child[0])
        rss_child(workload, int(args.rss_child[1]), float(args.rss_child[2]))
        return
    instrument()
    seconds = 3 if args.quick else 10
    repeats = 1 if args.quick else 3
    n = int(RATE * seconds)
    print(f"start: {machine_line()}", flush=True)
    base: Runs = {w: [] for w in WORKLOADS}
    quiet: Runs = {w: [] for w in WORKLOADS}
    rec: Runs = {w: [] for w in WORKLOADS}
    typing: Runs = {w: [] for w in WORKLOADS}
    with temp_loco_home():
        idle = asyncio.run(app_run("plain", None, typing=True,
                                   presses=100 if args.quick else 150))
        for repeat in range(repeats):
            for w in WORKLOADS:
                base[w].append(asyncio.run(baseline_run(w, n)))
                quiet[w].append(asyncio.run(app_run(w, n)))
                rec[w].append(asyncio.run(app_run(w, n, history=True)))
                typing[w].append(asyncio.run(app_run(w, n, typing=True)))
                print(f"  repeat {repeat + 1}/{repeats} {w}: net "
                      f"{quiet[w][-1]['cpu_ms_per_token'] - base[w][-1]['cpu_ms_per_token']:.3f}"
                      f" ms/tok, lag {quiet[w][-1]['lag_s']:.3f} s, key p95 "
                      f"{typing[w][-1]['key_p95_ms']:.0f} ms; {machine_line()}", flush=True)
    per_member = 25_000
    rss = {w: rss_run(w, per_member) for w in WORKLOADS}
    report(n, repeats, base, quiet, rec, typing, idle, rss)


if __name__ == "__main__":
    main()
