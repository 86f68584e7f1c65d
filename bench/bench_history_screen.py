"""Opening the history screen on 10,000 stored sessions, against baselines in the same process.

Target: from ``push_screen`` to the first frame that shows rows < 300 ms (issue 14).

The history: two dozen real sessions recorded through the real Store and Recorder (runs of a
role, ensembles with a failing member, follow-up turns that carry their thread), copied with
the store's own schema (every column of sessions, runs, calls, events and parse results, so
added columns come along) until the file holds 10,000 sessions spread over 90 days. The
copies are read back through ``Store.sessions`` and ``Store.session`` before timing.

One headless app (100x40) pushes and pops screens repeatedly; each frame is encoded to
terminal bytes (``render_segments``, which the headless driver skips) so a frame costs what
it costs in a terminal. Times are from ``push_screen`` to the first frame of that screen
that shows what is measured, medians of interleaved repeats:

- bare: a screen of the same layout (heading, search box, status line, list, footer) that
  reads no store: what any screen costs to push and draw;
- empty store: the history screen over an empty database (its first page is empty);
- 10,000 sessions: the history screen until its first page of rows is on screen; the rows
  loaded by then (one page, never all);
- search: from the moment a search runs (after the 150 ms typing pause, which is a choice,
  not a cost) to its rows on screen; next page: from End on the last loaded row to the
  frame with the next page appended;
- the store alone: ``Store.sessions(limit=100)`` on the same file, for the share of the
  query in the total.

Run: .venv/bin/python bench/bench_history_screen.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual._compositor import CompositorUpdate
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, OptionList, Static

from loco_tui.controller import Controller
from loco_tui.orchestrator import RunRequest
from loco_tui.providers.pool import ProviderPool
from loco_tui.registry import Registry, load_registry_text
from loco_tui.screens.history import HistoryScreen
from loco_tui.sessions import new_session_id
from loco_tui.store import Store
from loco_tui.testing.fake_provider import scripted_factory
from loco_tui.testing.script import Fault, Reply, Script

REGISTRY = """
[providers.local]
kind = "ollama"
host = "http://unused"
[models.alpha]
provider = "local"
model = "alpha"
[models.beta]
provider = "local"
model = "beta"
[models.arbiter]
provider = "local"
model = "arbiter"
[roles]
coder = "alpha"
judge = "arbiter"
[ensembles.duo]
members = [{ model = "alpha" }, { model = "beta" }]
judge = "judge"
"""
VERDICT = 'A reads best.\n{"winner": "A", "mode": "pick", "confidence": 0.8, "reason": "clear"}'
PROMPTS = ["dedupe a list of emails", "parse a csv file with quotes", "explain python sets",
           "write a retry loop with backoff", "why does my regex not match",
           "review this sql migration", "summarise the design doc", "fix the flaky test"]
FOLLOW_UPS = ["now make it shorter", "add type hints", "explain the second step"]
TARGET_SESSIONS = 10_000
SIZE = (100, 40)
TARGET_MS = 300


def registry() -> Registry:
    return load_registry_text(REGISTRY, "bench.toml")


def script(beta_fails: bool) -> Script:
    words = " ".join(f"word{i}" for i in range(20))
    return (Script().add("alpha", Reply.text(f"Alpha: {words}"))
            .add("beta", Reply(fault=Fault.DROP, fault_after=3, pieces=("a",) * 8)
                 if beta_fails else Reply.text(f"Beta: {words}"))
            .add("arbiter", Reply.text(VERDICT)))


# -- the history -------------------------------------------------------------------------
async def record_templates(path: Path) -> int:
    """Real sessions of every shape, recorded by the store's Recorder into ``path``."""
    reg = registry()
    count = 0
    async with await Store.open(path) as store:
        for i, prompt in enumerate(PROMPTS):
            for shape in range(3):
                session_id = new_session_id() + f"-{i}{shape}"
                turns = [prompt, *FOLLOW_UPS[: shape]]
                for turn, text in enumerate(turns):
                    thread = tuple((await store.session(session_id)).turns) if turn else ()
                    controller = Controller(reg, pool=ProviderPool(
                        reg, factory=scripted_factory(script(beta_fails=shape == 1))),
                        store=store)
                    await controller.run(RunRequest(
                        text, role="coder" if shape == 0 else None,
                        ensemble=None if shape == 0 else "duo",
                        session=session_id, turn=turn, thread=thread), seed=turn)
                    await controller.aclose()
                    assert controller.history_error is None, controller.history_error
                count += 1
    return count


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def replicate(path: Path, templates: int) -> None:
    """Copy the template sessions (every column of their rows) until the file holds
    TARGET_SESSIONS sessions, the copies spread over the last 90 days."""
    copies = -(-TARGET_SESSIONS // templates)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    # What each copied column becomes: ids get the copy's suffix, times move back.
    rename = {"id", "session_id", "run_id"}
    shifted = {"created_at", "updated_at", "started_at", "finished_at"}
    tables = ("sessions", "runs", "calls", "events", "parse_results")
    plans: dict[str, tuple[str, str]] = {}
    for table in tables:
        conn.execute(f"CREATE TEMP TABLE t_{table} AS SELECT * FROM {table}")
        # runs.num is the FTS rowid: new rows get their own.
        cols = [c for c in _columns(conn, table) if not (table == "runs" and c == "num")]
        values = [f"{c} || :sfx" if c in rename else f"{c} - :shift" if c in shifted else c
                  for c in cols]
        plans[table] = (", ".join(cols), ", ".join(values))
    now = time.time()
    conn.execute("BEGIN")
    for i in range(1, copies):
        params = {"sfx": f"-{i:05d}", "shift": (copies - i) / copies * 90 * 86400}
        for table in tables:
            cols, values = plans[table]
            conn.execute(f"INSERT INTO {table} ({cols}) SELECT {values} FROM t_{table}", params)
    conn.execute("COMMIT")
    conn.execute("UPDATE sessions SET updated_at = min(updated_at, ?)", (now,))
    # Whole copies overshoot by a few: the oldest go (with their runs, by cascade).
    conn.execute("DELETE FROM sessions WHERE id IN (SELECT id FROM sessions "
                 "ORDER BY updated_at LIMIT max((SELECT count(*) FROM sessions) - ?, 0))",
                 (TARGET_SESSIONS,))
    conn.close()


async def verify(path: Path) -> dict[str, Any]:
    """The copies read back through the store as real sessions do."""
    async with await Store.open(path) as store:
        (count,), = await store.db.fetchall("SELECT count(*) FROM sessions")
        (runs,), = await store.db.fetchall("SELECT count(*) FROM runs")
        page = await store.sessions(limit=100)
        assert len(page) == 100 and all(s.turns and s.models for s in page)
        oldest = (await store.sessions(limit=1, offset=count - 1))[0]
        session = await store.session(oldest.id)
        assert len(session.turns) == oldest.turns and session.turns[0].prompt
        found = await store.sessions(limit=5, search="retry backoff")
        assert found and all("retry" in (s.first_prompt or "") for s in found)
    return {"sessions": count, "runs": runs, "mb": path.stat().st_size / 1e6}


# -- the app -----------------------------------------------------------------------------
class BareScreen(Screen[None]):
    """The history screen's layout with nothing behind it."""

    DEFAULT_CSS = HistoryScreen.DEFAULT_CSS.replace("HistoryScreen", "BareScreen")

    def compose(self) -> ComposeResult:
        with Horizontal(id="history-head"):
            yield Label("History", id="history-heading")
            yield Label("Enter opens · d deletes · r renames · Esc closes", id="history-keys")
        yield Input(placeholder="Search prompts and answers…", id="history-search")
        yield Static("", id="history-status", markup=False)
        yield OptionList(id="history-list", markup=False)
        yield Footer()


class BenchApp(App[None]):
    """Stamps the first frame, sent as a terminal would get it, for which ``waiting``
    says yes."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: Callable[[Screen[Any]], bool] | None = None
        self.shown = asyncio.Event()
        self.shown_at = 0.0

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        if isinstance(renderable, CompositorUpdate) and not self._batch_count:
            renderable.render_segments(self.console)  # the bytes a terminal would get
        super()._display(screen, renderable)
        if self.waiting is not None and renderable is not None and self.waiting(screen):
            self.shown_at = time.perf_counter()
            self.waiting = None
            self.shown.set()

    async def until(self, condition: Callable[[Screen[Any]], bool],
                    start: Callable[[], object]) -> float:
        """Seconds from ``start()`` to the first frame for which ``condition`` holds."""
        self.shown.clear()
        self.waiting = condition
        t0 = time.perf_counter()
        start()
        await asyncio.wait_for(self.shown.wait(), 10)
        return self.shown_at - t0


def status_of(screen: Screen[Any]) -> str:
    return str(screen.query_one("#history-status", Static).render())


def page_shown(screen: Screen[Any]) -> bool:
    """The history screen's first page is applied (rows, or "No sessions yet")."""
    return (isinstance(screen, HistoryScreen) and screen.is_mounted
            and status_of(screen) not in ("Loading…", "Searching…"))


async def measure(store_path: Path, empty_path: Path, repeats: int) -> dict[str, Any]:
    app = BenchApp()
    times: dict[str, list[float]] = {k: [] for k in ("bare", "empty", "full", "search", "page")}
    loaded: list[int] = []
    async with app.run_test(headless=True, size=SIZE) as pilot:
        full_store = await Store.open(store_path)
        empty_store = await Store.open(empty_path)
        try:
            for i in range(repeats + 1):  # the first round warms imports and caches
                bare = BareScreen()
                t_bare = await app.until(lambda s, b=bare: s is b,
                                         lambda b=bare: app.push_screen(b))
                app.pop_screen()
                await pilot.pause()

                empty = HistoryScreen(empty_store)
                t_empty = await app.until(page_shown, lambda e=empty: app.push_screen(e))
                assert status_of(empty).startswith("No sessions yet"), status_of(empty)
                app.pop_screen()
                await pilot.pause()

                full = HistoryScreen(full_store)
                t_full = await app.until(
                    lambda s: page_shown(s) and bool(s.session_list.option_count),  # type: ignore[attr-defined]
                    lambda f=full: app.push_screen(f))
                rows_at_first_frame = full.session_list.option_count
                await app.workers.wait_for_complete()

                t_search = await app.until(
                    lambda s: page_shown(s) and "retry backoff" in status_of(s),
                    lambda f=full: f._run_search("retry backoff"))
                assert full.session_list.option_count > 0
                await app.workers.wait_for_complete()
                full._run_search("")
                await app.workers.wait_for_complete()
                await pilot.pause()

                full.session_list.focus()
                full.session_list.highlighted = 0
                before = full.session_list.option_count
                t_page = await app.until(
                    lambda s, n=before: (isinstance(s, HistoryScreen)
                                         and s.session_list.option_count > n),
                    lambda f=full: f.session_list.action_last())
                app.pop_screen()
                await pilot.pause()
                if i:
                    times["bare"].append(t_bare)
                    times["empty"].append(t_empty)
                    times["full"].append(t_full)
                    times["search"].append(t_search)
                    times["page"].append(t_page)
                    loaded.append(rows_at_first_frame)
        finally:
            await full_store.aclose()
            await empty_store.aclose()
    out: dict[str, Any] = {k: statistics.median(v) for k, v in times.items()}
    out["p90_full"] = sorted(times["full"])[int(0.9 * (len(times["full"]) - 1))]
    out["rows_at_first_frame"] = max(loaded)
    return out


async def create_empty(path: Path) -> None:
    async with await Store.open(path):
        pass


async def query_alone(path: Path, repeats: int) -> float:
    async with await Store.open(path) as store:
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            await store.sessions(limit=100)
            samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 5 if args.quick else 21
    with tempfile.TemporaryDirectory(prefix="loco-bench-history-") as folder:
        path, empty = Path(folder) / "loco.db", Path(folder) / "empty.db"
        t0 = time.perf_counter()
        templates = asyncio.run(record_templates(path))
        replicate(path, templates)
        facts = asyncio.run(verify(path))
        asyncio.run(create_empty(empty))
        seeded_s = time.perf_counter() - t0
        print(f"history: {facts['sessions']:,} sessions, {facts['runs']:,} runs "
              f"({facts['mb']:.0f} MB, {templates} recorded, seeded in {seeded_s:.1f} s)")
        figures = asyncio.run(measure(path, empty, repeats))
        query_s = asyncio.run(query_alone(path, repeats))
    ms = {k: v * 1e3 for k, v in figures.items() if isinstance(v, float)}
    print(f"push -> first frame, headless {SIZE[0]}x{SIZE[1]}, median of {repeats}:")
    print(f"  bare screen, same layout         {ms['bare']:7.1f} ms  (baseline)")
    print(f"  history, empty store             {ms['empty']:7.1f} ms  "
          f"({ms['empty'] / ms['bare']:.2f}x bare)")
    print(f"  history, 10,000 sessions         {ms['full']:7.1f} ms  "
          f"({ms['full'] / ms['bare']:.2f}x bare, {ms['full'] / ms['empty']:.2f}x empty; "
          f"p90 {ms['p90_full']:.1f} ms; target < {TARGET_MS})")
    print(f"    rows loaded at that frame      {figures['rows_at_first_frame']:7d}     "
          f"(of {facts['sessions']:,})")
    print(f"    of which Store.sessions(100)   {query_s * 1e3:7.1f} ms")
    print(f"  search run -> its rows           {ms['search']:7.1f} ms  (after the 150 ms pause)")
    print(f"  End on last row -> next page     {ms['page']:7.1f} ms")
    verdict = "meets" if ms["full"] < TARGET_MS else "MISSES"
    print(f"{verdict} the target: first rows in {ms['full']:.0f} ms < {TARGET_MS} ms")


if __name__ == "__main__":
    main()
