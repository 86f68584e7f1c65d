"""SVG snapshots of the prompt editor and the history screen (plain `def`: snap_compare runs
its own event loop). Fixed data, a fixed clock and no cursor blink keep them stable."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.pilot import Pilot

from loco_tui.prompt_history import PromptHistory
from tests.ui.hosts import EditorHost, HistoryHost
from tests.ui.seed import NOW, record_session, set_times

HOSTILE = "explain \x1b[31mpython sets [bold]loudly[/] please"


def seeded(path: Path) -> Path:
    async def seed() -> dict[str, str]:
        from loco_tui.store import Store

        async with await Store.open(path) as store:
            ids = {
                "flaky": await record_session(store, ["fix the flaky retry test",
                                                      "now make it shorter"]),
                "hostile": await record_session(store, [HOSTILE], ensemble="duo"),
                "csv": await record_session(store, ["parse a csv file with quoted fields"],
                                            ensemble="duo", beta_fails=True),
            }
            await store.rename_session(ids["csv"], "CSV parsing (renamed)")
        return ids

    ids = asyncio.run(seed())
    set_times(path, {ids["flaky"]: NOW - 180, ids["hostile"]: NOW - 86400 - 3600,
                     ids["csv"]: NOW - 40 * 86400})
    return path


def test_snapshot_editor_empty(snap_compare) -> None:
    assert snap_compare(EditorHost(PromptHistory(None)), terminal_size=(80, 12))


def test_snapshot_editor_with_three_lines(snap_compare) -> None:
    app = EditorHost(PromptHistory(None), text="Why does this fail?\n```python\nmean([])")
    assert snap_compare(app, terminal_size=(80, 12))


def test_snapshot_history_screen(snap_compare, tmp_path) -> None:
    app = HistoryHost(seeded(tmp_path / "loco.db"), now=NOW)

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.press("down", "down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(90, 20), run_before=run_before)


def test_snapshot_delete_confirmation(snap_compare, tmp_path) -> None:
    app = HistoryHost(seeded(tmp_path / "loco.db"), now=NOW)

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.press("down", "d")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(90, 20), run_before=run_before)
