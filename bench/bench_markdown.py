"""Markdown panes against plain-text panes, measured in the same process.

1. Engine: a Markdown-heavy reply (headings, lists, tables, long code blocks; ~5,000
   tokens) appended in frames of ~15 tokens, as the app's 30 Hz drain does at 500 tok/s:
   per-append cost of the Markdown engine against the plain-text engine (the same text
   written as plain), the whole reply rendered at once, and the memory one pane holds
   after 100k tokens of it (tracemalloc: the engine's own allocations).
2. Large output: a 1 MB single line and 100 KB of newlines, appended in 60- and 15-character
   pieces: per-append cost (median, and the last 10% against the first 10%, which is 1.0 when
   cost does not grow with what is shown) and memory (tracemalloc peak, live lines).
3. The real thing: a headless app with four StreamViews fed by a 30 Hz timer at 500 tok/s
   each; every frame is also encoded to terminal bytes (the headless driver skips that), so
   it costs what it costs in a terminal. App CPU per token from the process's CPU time
   (``time.process_time``: user + system) over the stream, and the lag from the last token's
   due time to the first frame that shows the finished panes. Plain-text panes run the same
   way as the baseline.

Run: .venv/bin/python bench/bench_markdown.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual._compositor import CompositorUpdate
from textual.app import App, ComposeResult
from textual.containers import Grid

from loco_tui.widgets.pane_document import PaneDocument, render_whole
from loco_tui.widgets.pane_styles import PaneStyles
from loco_tui.widgets.stream_view import StreamView

RATE = 500.0  # tokens/s per pane
FRAME_HZ = 30.0  # the app's drain timer
PANES = 4
SIZE = (200, 50)  # the terminal measured in issue 15 (tmux 200x50)

CODE = '''def load_rows(path: str, *, limit: int | None = None) -> list[dict[str, object]]:
    """Read JSON lines from ``path``.

    Rows that fail to parse are skipped and counted.
    """
    rows: list[dict[str, object]] = []
    skipped = 0
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if limit is not None and len(rows) >= limit:
                break
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                skipped += 1
                log.warning("line %d: %s", number, error)
    return rows
'''


def markdown_reply(target_chars: int, seed: int = 0) -> str:
    """A long Markdown answer of the kind models write (deterministic for a seed)."""
    rng = random.Random(seed)
    words = ["the", "model", "reads", "each", "row", "and", "checks", "the", "schema",
             "before", "it", "writes", "anything", "back", "so", "that", "a", "partial",
             "failure", "never", "leaves", "the", "store", "half", "updated"]

    def sentence() -> str:
        picked = [rng.choice(words) for _ in range(rng.randint(8, 16))]
        i = rng.randrange(len(picked))
        picked[i] = rng.choice([f"**{picked[i]}**", f"*{picked[i]}*", f"`{picked[i]}()`",
                                f"[{picked[i]}](https://example.com/{picked[i]})"])
        return " ".join(picked).capitalize() + "."

    parts: list[str] = []
    section = 0
    while sum(map(len, parts)) < target_chars:
        section += 1
        parts.append(f"## {section}. Step {section}\n\n")
        parts.append(" ".join(sentence() for _ in range(4)) + "\n\n")
        parts.append("".join(f"- {sentence()}\n" + (f"  - {sentence()}\n" if i % 2 else "")
                             for i in range(4)) + "\n")
        parts.append("| option | default | effect |\n|:-------|--------:|--------|\n")
        parts.append("".join(f"| `opt_{i}` | {rng.randint(1, 999)} | {sentence()} |\n"
                             for i in range(5)) + "\n")
        parts.append("```python\n" + CODE * rng.randint(1, 2) + "```\n\n")
        parts.append("1. " + sentence() + "\n2. " + sentence() + "\n\n> " + sentence() + "\n\n")
    return "".join(parts)


def tokens_of(text: str, seed: int = 1) -> list[str]:
    """Token-sized pieces (1-7 characters, ~4 on average), as a model streams them."""
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(text):
        size = rng.randint(1, 7)
        out.append(text[i:i + size])
        i += size
    return out


def frames_of(tokens: list[str], per_frame: int = 15) -> list[str]:
    return ["".join(tokens[i:i + per_frame]) for i in range(0, len(tokens), per_frame)]


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1e3


def timed_appends(write: Callable[[str], None], frames: list[str]) -> list[float]:
    costs = []
    for frame in frames:
        t0 = time.perf_counter()
        write(frame)
        costs.append(time.perf_counter() - t0)
    return costs


# -- 1. engine -------------------------------------------------------------------------------

def engine(reply: str, width: int, repeats: int) -> dict[str, float]:
    tokens = tokens_of(reply)
    frames = frames_of(tokens)
    styles = PaneStyles.default()
    md_runs, plain_runs, md_total, plain_total = [], [], [], []
    for _ in range(repeats):
        gc.collect()
        document = PaneDocument(styles, width)
        costs = timed_appends(document.write_markdown, frames)
        t0 = time.perf_counter()
        document.finish()
        costs[-1] += time.perf_counter() - t0
        md_runs.extend(costs)
        md_total.append(sum(costs))
        gc.collect()
        document = PaneDocument(styles, width)
        costs = timed_appends(document.write, frames)
        plain_runs.extend(costs)
        plain_total.append(sum(costs))
    whole_md = min(_timed(lambda: render_whole(reply, width, styles)) for _ in range(repeats))
    memory = {}
    for kind in ("md", "plain"):
        gc.collect()
        tracemalloc.start()
        document = PaneDocument(styles, width)
        write = document.write_markdown if kind == "md" else document.write
        for _ in range(100_000 // len(tokens) + 1):
            for frame in frames:
                write(frame)
        document.finish()
        memory[f"{kind}_mb_100k_tokens"] = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
        del document

    def whole_plain() -> None:
        document = PaneDocument(styles, width)
        document.write(reply)
        document.finish()

    whole_plain_s = min(_timed(whole_plain) for _ in range(repeats))
    return {
        "tokens": len(tokens), "appends": len(frames), "chars": len(reply),
        "md_append_p50_ms": median_ms(md_runs),
        "md_append_p95_ms": sorted(md_runs)[int(0.95 * len(md_runs))] * 1e3,
        "md_append_max_ms": max(md_runs) * 1e3,
        "plain_append_p50_ms": median_ms(plain_runs),
        "md_per_token_us": statistics.median(md_total) / len(tokens) * 1e6,
        "plain_per_token_us": statistics.median(plain_total) / len(tokens) * 1e6,
        "whole_md_ms": whole_md * 1e3, "whole_plain_ms": whole_plain_s * 1e3,
        **memory,
    }


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# -- 2. large output -------------------------------------------------------------------------

def large(text: str, step: int, markdown: bool, width: int) -> dict[str, float]:
    document = PaneDocument(PaneStyles.default(), width)
    write = document.write_markdown if markdown else document.write
    pieces = [text[i:i + step] for i in range(0, len(text), step)]
    gc.collect()
    tracemalloc.start()
    costs = timed_appends(write, pieces)
    t0 = time.perf_counter()
    document.finish()
    finish = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    tenth = max(1, len(costs) // 10)
    first, last = statistics.median(costs[:tenth]), statistics.median(costs[-tenth:])
    return {"appends": len(costs), "append_p50_us": median_ms(costs) * 1e3,
            "growth_last_vs_first": last / first if first else float("nan"),
            "total_s": sum(costs), "finish_ms": finish * 1e3,
            "peak_mb": peak / 2**20, "live_mb": current / 2**20,
            "lines": len(document.lines)}


# -- 3. the real thing -----------------------------------------------------------------------

class FourPanes(App[None]):
    """Four StreamViews fed by one 30 Hz timer from a wall-clock schedule."""

    CSS = """
    Grid { grid-size: 2 2; }
    StreamView { border: round $accent; padding: 0 1; height: 1fr; }
    """

    def __init__(self, tokens: list[str], markdown: bool) -> None:
        super().__init__()
        self.tokens = tokens
        self.markdown = markdown
        self.fed = 0
        self.t0 = 0.0
        self.last_write = 0.0
        self.finished_at: float | None = None
        self.frame_times: list[float] = []

    def compose(self) -> ComposeResult:
        with Grid():
            for i in range(PANES):
                yield StreamView(id=f"p{i}")

    def start(self) -> None:
        self.views = list(self.query(StreamView))
        self.t0 = time.perf_counter()
        self.timer = self.set_interval(1 / FRAME_HZ, self.drain)

    def drain(self) -> None:
        due = min(len(self.tokens), int((time.perf_counter() - self.t0) * RATE) + 1)
        if due > self.fed:
            text = "".join(self.tokens[self.fed:due])
            for view in self.views:
                if self.markdown:
                    view.write_markdown(text)
                else:
                    view.write(text)
            self.fed = due
            self.last_write = time.perf_counter()
        if self.fed == len(self.tokens) and self.finished_at is None:
            for view in self.views:
                view.end_stream()
            self.finished_at = time.perf_counter()
            self.timer.stop()

    def _display(self, screen, renderable) -> None:  # type: ignore[no-untyped-def]
        if renderable is None or self._batch_count:
            return
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(self.console)  # the bytes a terminal would get
        super()._display(screen, renderable)
        self.frame_times.append(time.perf_counter())


async def app_run(tokens: list[str], markdown: bool) -> dict[str, float]:
    app = FourPanes(tokens, markdown)
    async with app.run_test(headless=True, size=SIZE) as pilot:
        await pilot.pause(0.3)
        gc.collect()
        cpu0 = time.process_time()
        app.start()
        while app.finished_at is None:
            await asyncio.sleep(0.05)
        finished = app.finished_at
        await asyncio.sleep(0.5)  # let the last frames out
        cpu = time.process_time() - cpu0
        last_due = app.t0 + (len(tokens) - 1) / RATE
        shown = next((t for t in app.frame_times if t > finished), None)
        seconds = finished - app.t0
        exact = all(view.document.lines == render_whole(
            "".join(tokens), view.document.width, view.document.styles)
            for view in app.views) if markdown else True
        await pilot.exit(None)
    total = len(tokens) * PANES
    return {"tokens": total, "seconds": seconds,
            "cpu_per_token_ms": (cpu - 0.5 * _idle_cpu_rate()) / total * 1e3,
            "lag_s": (shown - last_due) if shown is not None else float("nan"),
            "fps": len([t for t in app.frame_times if app.t0 <= t <= finished]) / seconds,
            "exact": float(exact)}


_IDLE: list[float] = []


def _idle_cpu_rate() -> float:
    """CPU seconds per second of an idle app (subtracted for the 0.5 s settle)."""
    return _IDLE[0] if _IDLE else 0.0


async def idle_rate() -> float:
    app = FourPanes([], False)
    async with app.run_test(headless=True, size=SIZE) as pilot:
        await pilot.pause(0.3)
        cpu0 = time.process_time()
        await asyncio.sleep(1.0)
        rate = time.process_time() - cpu0
        await pilot.exit(None)
    return rate


# -- main ------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    reply = markdown_reply(6_000 if args.quick else 20_000)
    width = SIZE[0] // 2 - 5  # a pane's content width in the 2x2 grid

    print("== engine: Markdown-heavy reply in frames of ~15 tokens ==")
    result = engine(reply, width, repeats)
    for name, value in result.items():
        print(f"  {name:24} {value:10.3f}")
    print(f"  {'ratio md/plain per token':24} "
          f"{result['md_per_token_us'] / result['plain_per_token_us']:10.2f}")

    print("== large output ==")
    size_line = 100_000 if args.quick else 1_000_000
    line = ("lorem ipsum dolor sit amet " * (size_line // 27 + 1))[:size_line]
    newlines = "\n" * 100_000
    for label, text, step in (("1 MB line", line, 60), ("100 KB newlines", newlines, 15)):
        for markdown in (True, False):
            out = large(text, step, markdown, width)
            kind = "markdown" if markdown else "plain"
            print(f"  {label:16} {kind:8} " + "  ".join(
                f"{k} {v:.3f}" for k, v in out.items()))

    print("== app: 4 panes x 500 tok/s, 30 Hz drain, frames encoded ==")
    tokens = tokens_of(reply)
    _IDLE.append(asyncio.run(idle_rate()))
    print(f"  idle app CPU: {_IDLE[0] * 1e3:.1f} ms/s")
    rounds = 1 if args.quick else 3
    results: dict[str, list[dict[str, float]]] = {"plain": [], "markdown": []}
    for _ in range(rounds):
        for markdown in (False, True):
            results["markdown" if markdown else "plain"].append(
                asyncio.run(app_run(tokens, markdown)))
    for kind, runs in results.items():
        keys = runs[0].keys()
        print(f"  {kind:8} " + "  ".join(
            f"{k} {statistics.median(r[k] for r in runs):.3f}" for k in keys))
    md = statistics.median(r["cpu_per_token_ms"] for r in results["markdown"])
    plain = statistics.median(r["cpu_per_token_ms"] for r in results["plain"])
    print(f"  CPU per token: markdown {md:.3f} ms, plain {plain:.3f} ms, ratio {md / plain:.2f}")


if __name__ == "__main__":
    main()
