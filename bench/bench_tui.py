"""The workbench under streaming load, against baselines run in the same process.

Target: the TUI renders 4 panes x 500 tokens/s without falling behind, key-press latency
p95 < 50 ms.

An ensemble of four members (no judge) streams from an in-process provider (no I/O) paced by
the wall clock at 500 tokens/s each: token i is due at t0 + i/500 and is yielded as soon as
the loop lets the producer run after that (tokens that fell due meanwhile go out back to
back, as they would from a socket buffer), so a busy UI shows up as tokens leaving late, not
as a slower schedule. The app runs headless at 160x48; every frame is also encoded to
terminal bytes (`render_segments`, which the headless driver skips) so a frame costs what it
costs in a terminal.

Measured while streaming:
- produced rate (tokens/s) against a baseline of the same run with no app (controller and a
  counting sink), and how late tokens leave the producer against their schedule;
- falling behind: per token, the time from when it was due (500 tok/s schedule) and from its
  Delta event to the first frame that shows it; and, sampled every 100 ms from a thread, how
  many tokens per pane are due but not on screen;
- end of stream: how long after the last token every pane shows exactly the full reply;
- key-press latency: a thread types letters into the prompt, posting key events the way the
  terminal driver's input thread does, every 40-80 ms (a fast typist) without waiting for
  the screen; each press is timed to the first frame that shows it; against the same typing
  into the idle app;
- event-loop responsiveness: the largest gap between the ticks of a 10 ms ticker task; and
  how long one screen update (layout + render + encode) and one `_drain` block the loop.

Run: .venv/bin/python bench/bench_tui.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sys
import threading
import time
from bisect import bisect_right
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events
from textual._compositor import CompositorUpdate
from textual.screen import Screen
from textual.widgets import Input

from loco_tui.app import LocoApp, UiSettings
from loco_tui.controller import Controller
from loco_tui.events import Delta, Event
from loco_tui.orchestrator import RunRequest
from loco_tui.providers.base import Chunk, StatsClock
from loco_tui.providers.pool import ProviderPool
from loco_tui.registry import LoadedRegistry, load_registry_text
from loco_tui.testing.fake_provider import ScriptedProvider
from loco_tui.testing.script import Reply, Script

RATE = 500.0  # tokens/s per member
MODELS = ("a", "b", "c", "d")
MEMBERS = ("m1", "m2", "m3", "m4")  # the ensemble's members, in MODELS order
SIZE = (160, 48)
SETTINGS = UiSettings(show_rates=True, watch_config=False, health_interval_s=3600, seed=1)
KEYS = "abcdefghijklmnoprstuvwxyz"  # no "q": it quits when the prompt is not focused

REGISTRY = """
[providers.local]
kind = "ollama"
host = "http://unused"
""" + "".join(f'[models.{m}]\nprovider = "local"\nmodel = "{m}"\n' for m in MODELS) + """
[ensembles.quad]
members = [{ model = "a" }, { model = "b" }, { model = "c" }, { model = "d" }]
judge = false
"""

WORDS = ("the model keeps writing plain prose about nothing in particular while four panes "
         "stream at once and the user types a prompt without waiting for them to finish def "
         "return value list dict for in if else").split()


def pieces(n: int, seed: int) -> tuple[str, ...]:
    """``n`` word tokens (a space before each), a paragraph break every 60 tokens."""
    rng = random.Random(seed)
    return tuple(("\n\n" if i and i % 60 == 0 else " ") + rng.choice(WORDS) for i in range(n))


def make_script(n: int) -> Script:
    script = Script()
    for i, model in enumerate(MODELS):
        script.add(model, Reply(pieces=pieces(n, seed=i)))
    return script


class PacedProvider(ScriptedProvider):
    """Token i of a reply is due at t0 + i/rate; it is yielded at the first chance after."""

    def __init__(self, script: Script, rate: float, record: bool = True) -> None:
        super().__init__("local", script)
        self.rate = rate
        self.record = record
        self.t0: dict[str, float] = {}  # model -> perf_counter when its stream started
        self.late: list[float] = []  # seconds each token left after it was due

    async def _play(self, model: str, messages: list) -> AsyncIterator[Chunk]:
        reply = self.script.reply_for(model, list(messages))
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


def setup(n: int, rate: float = RATE, record: bool = True
          ) -> tuple[Controller, PacedProvider, Tally]:
    """A controller over the paced provider; with ``record``, a Tally sink and lateness."""
    registry = load_registry_text(REGISTRY, "bench.toml")
    provider = PacedProvider(make_script(n), rate, record=record)
    pool = ProviderPool(registry, factory=lambda pid, config: provider)
    controller = Controller(registry, pool=pool)
    tally = Tally()
    if record:
        controller.subscribe(tally)
    return controller, provider, tally


# -- instrumentation (this process only) ---------------------------------------------------

FRAME_COSTS: list[float] = []  # seconds per screen update (layout + render + encode)
DRAIN_COSTS: list[float] = []  # seconds per LocoApp._drain that had events


def _timed(method, costs: list[float]):
    def wrapper(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            costs.append(time.perf_counter() - t0)

    return wrapper


def instrument() -> None:
    """Time every screen update (layout + render + encode) in this process."""
    Screen._on_timer_update = _timed(Screen._on_timer_update, FRAME_COSTS)


class BenchApp(LocoApp):
    """LocoApp that notes every frame it sends to the (headless) terminal, and what it shows."""

    CSS_PATH = str(Path(sys.modules[LocoApp.__module__].__file__).with_name("loco.tcss"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.frame_times: list[float] = []
        self.frame_chars: list[tuple[int, ...]] = []  # per member: text length on screen
        self.prompt_value = ""  # the prompt as the last frame showed it
        self.on_frame = None

    def _drain(self) -> None:
        if not self._inbox:
            return
        t0 = time.perf_counter()
        super()._drain()
        DRAIN_COSTS.append(time.perf_counter() - t0)

    def _display(self, screen, renderable) -> None:
        if renderable is None or self._batch_count:
            return
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(self.console)  # the bytes a terminal would get
        super()._display(screen, renderable)
        now = time.perf_counter()
        self.frame_times.append(now)
        self.frame_chars.append(tuple(
            len(p.text) if (p := self._panes.get(m)) is not None else 0 for m in MEMBERS))
        self.prompt_value = self.query_one("#prompt", Input).value
        if self.on_frame is not None:
            self.on_frame(now)


class KeyPresser(threading.Thread):
    """Types letters into the prompt from a thread, as the terminal driver's input thread
    posts keys, every 40-80 ms without waiting for the screen. Press k is
    timed to the first frame whose prompt holds k letters (a frame that shows a later press
    shows it too)."""

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
        shown = len(self.app.prompt_value)
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
        self._task: asyncio.Task | None = None

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


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


# -- runs ------------------------------------------------------------------------------------

async def baseline_run(n: int) -> dict[str, float]:
    """The same streams into a controller with a counting sink and no app."""
    controller, provider, tally = setup(n)
    ticker = Ticker()
    ticker.start()
    status = await controller.run(RunRequest("go", ensemble="quad"))
    ticker.stop()
    await controller.aclose()
    assert status == "ok", status
    return {"rate": tally.rate(), "late_p95_ms": pct(provider.late, 95) * 1e3,
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


async def app_run(n: int | None, presses: int) -> dict[str, float]:
    """Stream n tokens per member through the app while keys are pressed (None: idle app)."""
    controller, provider, tally = setup(n or 1)
    app = BenchApp(LoadedRegistry(controller.registry, path=None), settings=SETTINGS,
                   controller=controller)
    out: dict[str, float] = {}
    async with app.run_test(headless=True, size=SIZE) as pilot:
        await pilot.pause(0.3)
        loop = asyncio.get_running_loop()
        prompt = app.query_one("#prompt", Input)
        prompt.cursor_blink = False
        FRAME_COSTS.clear()
        DRAIN_COSTS.clear()
        behind: list[int] = []
        sampling = threading.Event()

        def sample() -> None:  # every 100 ms, from a thread: tokens due but not on screen
            while not sampling.wait(0.1):
                if not app.frame_chars or len(provider.t0) < len(MODELS):
                    continue
                now, shown = time.perf_counter(), app.frame_chars[-1]
                for k, member in enumerate(MEMBERS):
                    due = min(n, int((now - provider.t0[MODELS[k]]) * RATE) + 1)
                    on_screen = bisect_right(tally.cum[member], shown[k])
                    behind.append(max(0, due - on_screen))

        gc_pauses: list[float] = []  # full (generation 2) collections

        def on_gc(phase: str, info: dict) -> None:
            if phase == "start":
                on_gc.t0 = time.perf_counter()
            elif info["generation"] == 2:
                gc_pauses.append(time.perf_counter() - on_gc.t0)

        gc.callbacks.append(on_gc)
        ticker = Ticker()
        ticker.start()
        if n is not None:
            prompt.value = "go"
            await prompt.action_submit()  # Enter, without Pilot's wait for an idle process
            while len(provider.t0) < len(MODELS):
                await asyncio.sleep(0.001)
        presser = KeyPresser(app, loop, presses, typed=len(prompt.value))
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
            full = {m: provider.script.replies[model].full_text
                    for m, model in zip(MEMBERS, MODELS, strict=True)}
            lengths = tuple(len(full[m]) for m in MEMBERS)

            def complete() -> bool:
                return (all(app._panes[m].text == full[m] for m in MEMBERS)
                        and app.frame_chars[-1] == lengths)

            deadline = time.perf_counter() + 3.0
            while not complete() and time.perf_counter() < deadline:
                await asyncio.sleep(0.002)
            out["exact"] = float(complete())
            shown_all = next((t for t, chars in zip(app.frame_times, app.frame_chars,
                                                    strict=True) if chars == lengths), None)
            out["catch_up_ms"] = ((shown_all or time.perf_counter()) - last_emit) * 1e3
            out["rate"] = tally.rate()
            out["tokens"] = sum(len(t) for t in tally.times.values())
            from_delta, from_due, late_third = shown_at(app, tally, provider)
            for name, values in (("delta", from_delta), ("due", from_due),
                                 ("third", late_third)):
                out[f"{name}_p50_ms"] = pct(values, 50) * 1e3
                out[f"{name}_p95_ms"] = pct(values, 95) * 1e3
                out[f"{name}_max_ms"] = max(values) * 1e3
            out["behind_p50"] = pct(behind, 50)
            out["behind_p95"] = pct(behind, 95)
            out["behind_max"] = max(behind)
            out["late_p95_ms"] = pct(provider.late, 95) * 1e3
            out["late_max_ms"] = max(provider.late) * 1e3
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
        out["frame_max_ms"] = max(FRAME_COSTS) * 1e3
        out["drain_p50_ms"] = pct(DRAIN_COSTS, 50) * 1e3
        out["drain_max_ms"] = max(DRAIN_COSTS, default=0.0) * 1e3
        await pilot.exit(None)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    instrument()
    seconds = 3 if args.quick else 10
    n = int(RATE * seconds)

    base = asyncio.run(baseline_run(n))
    idle = asyncio.run(app_run(None, 100 if args.quick else 150))
    live = asyncio.run(app_run(n, 10**6))  # presses keys until the streams end

    print(f"machine: {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (other work on the box shows up "
          f"in every figure)")
    ok_behind = live["third_p95_ms"] < 200 and live["exact"] and live["catch_up_ms"] <= 200
    print(f"4 panes x {RATE:.0f} tok/s, {n} tokens per pane ({live['seconds']:.1f} s), "
          f"{SIZE[0]}x{SIZE[1]} headless + terminal encoding")
    print(f"  produced rate   app {live['rate']:6.0f} tok/s   no-app baseline "
          f"{base['rate']:6.0f} tok/s   ratio {live['rate'] / base['rate']:.3f}")
    print(f"  producer late   p95 {live['late_p95_ms']:6.1f} ms  max {live['late_max_ms']:6.1f} ms"
          f"   (no-app baseline p95 {base['late_p95_ms']:.1f}, max {base['late_max_ms']:.1f})")
    print(f"  due -> frame    p50 {live['due_p50_ms']:6.1f} ms  p95 {live['due_p95_ms']:6.1f} ms"
          f"  max {live['due_max_ms']:6.1f} ms   (last third of the stream: p50 "
          f"{live['third_p50_ms']:.1f}, p95 {live['third_p95_ms']:.1f})")
    print(f"  Delta -> frame  p50 {live['delta_p50_ms']:6.1f} ms  p95 "
          f"{live['delta_p95_ms']:6.1f} ms  max {live['delta_max_ms']:6.1f} ms")
    print(f"  due, not shown  p50 {live['behind_p50']:4.0f}  p95 {live['behind_p95']:4.0f}  "
          f"max {live['behind_max']:4.0f} tokens per pane (sampled every 100 ms)")
    print(f"  end of stream   every pane exact: {'yes' if live['exact'] else 'NO'}, "
          f"{live['catch_up_ms']:.0f} ms after the last token (target <= 200 ms)")
    print(f"  frames {live['fps']:.0f}/s; a screen update blocks the loop "
          f"p50 {live['frame_p50_ms']:.1f} ms, p95 {live['frame_p95_ms']:.1f} ms, max "
          f"{live['frame_max_ms']:.1f} ms (idle app p50 {idle['frame_p50_ms']:.1f} ms); "
          f"_drain p50 {live['drain_p50_ms']:.1f} ms, max {live['drain_max_ms']:.1f} ms; "
          f"{live['gc2_n']} full GCs, longest {live['gc2_max_ms']:.0f} ms")
    print(f"  not falling behind (due -> frame p95 < 200 ms over the last third, every pane "
          f"exact within 200 ms of the last token): {'MET' if ok_behind else 'NOT MET'}")
    ratio = live["key_p95_ms"] / idle["key_p95_ms"]
    print(f"key press -> frame ({live['keys']} presses while streaming, {idle['keys']} idle, "
          f"{live['keys_missed'] + idle['keys_missed']} missed)")
    print(f"  streaming  p50 {live['key_p50_ms']:6.1f} ms  p95 {live['key_p95_ms']:6.1f} ms  "
          f"max {live['key_max_ms']:6.1f} ms   (target p95 < 50: "
          f"{'MET' if live['key_p95_ms'] < 50 else 'NOT MET'}"
          f"{'; fewer than 100 presses, indicative only' if live['keys'] < 100 else ''})")
    print(f"  idle app   p50 {idle['key_p50_ms']:6.1f} ms  p95 {idle['key_p95_ms']:6.1f} ms  "
          f"max {idle['key_max_ms']:6.1f} ms   streaming/idle p95 ratio {ratio:.2f}x")
    print("event loop (10 ms ticker): largest gap")
    print(f"  streaming {live['gap_max_ms']:6.1f} ms (p99 {live['gap_p99_ms']:.1f})   idle app "
          f"{idle['gap_max_ms']:.1f} ms   no-app baseline {base['gap_max_ms']:.1f} ms")


if __name__ == "__main__":
    main()
