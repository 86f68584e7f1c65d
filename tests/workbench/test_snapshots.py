"""SVG snapshots of the real workbench (tests/workbench/__snapshots__/): idle, after a run,
Markdown panes, a zoomed pane, the conversation, the history screen, and 80x24. Plain `def`
tests: snap_compare runs its own event loop."""

from __future__ import annotations

import time

import pytest

from loco_tui.testing.fake_ollama import FakeOllama
from loco_tui.testing.script import Reply
from tests.common import make_app, settle, trio_script, until
from tests.workbench.test_panes import MARKDOWN

SIZE = (130, 40)


@pytest.fixture
def server():
    with FakeOllama(trio_script(alpha=Reply.text(MARKDOWN))) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


async def ready(app, pilot) -> None:
    app.prompt.cursor_blink = False
    while app.controller is None or not app._history_ready.is_set():
        await pilot.pause(0.01)
    while not app.controller.pool.health:
        await pilot.pause(0.02)
    app._refresh_sidebar()
    await pilot.pause()


async def run_prompt(app, pilot, text: str) -> None:
    app.prompt.text = text
    await pilot.press("enter")
    await settle(app, pilot)
    await pilot.pause(0.1)


class TestWorkbench:
    def test_idle(self, snap_compare, server):
        app = make_app(server.url)
        assert snap_compare(app, terminal_size=SIZE, run_before=lambda p: ready(app, p))

    def test_after_a_run_with_markdown_panes(self, snap_compare, server):
        app = make_app(server.url)

        async def run(pilot):
            await ready(app, pilot)
            await run_prompt(app, pilot, "dedupe a list")

        assert snap_compare(app, terminal_size=SIZE, run_before=run)

    def test_a_zoomed_pane(self, snap_compare, server):
        app = make_app(server.url)

        async def run(pilot):
            await ready(app, pilot)
            await run_prompt(app, pilot, "dedupe a list")
            app.query("#members MemberPane").first().focus()
            await pilot.press("z")
            await pilot.pause(0.1)

        assert snap_compare(app, terminal_size=SIZE, run_before=run)

    def test_the_conversation_below_the_panes(self, snap_compare, server):
        app = make_app(server.url)

        async def run(pilot):
            await ready(app, pilot)
            await run_prompt(app, pilot, "dedupe a list")
            await run_prompt(app, pilot, "make it shorter")

        assert snap_compare(app, terminal_size=SIZE, run_before=run)

    def test_80x24(self, snap_compare, server):
        app = make_app(server.url)

        async def run(pilot):
            await ready(app, pilot)
            await run_prompt(app, pilot, "dedupe a list")

        assert snap_compare(app, terminal_size=(80, 24), run_before=run)

    def test_the_history_screen(self, snap_compare, server):
        from loco_tui.screens.history import HistoryScreen

        app = make_app(server.url)

        async def run(pilot):
            await ready(app, pilot)
            await run_prompt(app, pilot, "dedupe a list")
            await run_prompt(app, pilot, "make it shorter")
            app.action_new_session()
            await run_prompt(app, pilot, "write a haiku about queues")
            # Relative dates are told a fixed "now": one minute after the newest session.
            sessions = await app.store.sessions()
            now = max(s.updated_at for s in sessions) + 60
            app.push_screen(HistoryScreen(app.store, now=lambda: now))
            await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
            await pilot.pause(0.3)

        assert snap_compare(app, terminal_size=SIZE, run_before=run)
