"""The history screen over a real SQLite store, driven with Pilot: rows newest first with
title, when, status, turns and models; hostile titles shown plainly; debounced FTS search
and an honest "nothing matches"; reopen, close, delete with confirmation, rename; pages
loaded as the user moves (never everything); store errors as one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Input

from loco_tui.screens.history import ConfirmDelete, HistoryScreen, SessionList, when
from loco_tui.store import SessionSummary, Store
from tests.ui.hosts import HistoryHost
from tests.ui.seed import NOW, record_session, replicate, set_times

HOSTILE = "explain \x1b]52;c;cGF3bmVk\x07 sets [bold red]loud[/] [@click=app.quit]x[/]"


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "loco.db"


async def seed_three(path: Path) -> dict[str, str]:
    async with await Store.open(path) as store:
        ids = {
            "flaky": await record_session(store, ["fix the flaky retry test",
                                                  "now make it shorter"]),
            "hostile": await record_session(store, [HOSTILE], ensemble="duo"),
            "csv": await record_session(store, ["parse a csv with quotes"], ensemble="duo",
                                        beta_fails=True),
        }
    set_times(path, {ids["flaky"]: NOW - 180, ids["hostile"]: NOW - 86400 - 3600,
                     ids["csv"]: NOW - 40 * 86400})
    return ids


async def opened(pilot, app: HistoryHost) -> HistoryScreen:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, HistoryScreen)
    return screen


def row_texts(screen: HistoryScreen) -> list[str]:
    options = screen.session_list.options
    return [str(option.prompt) for option in options]


def status(screen: HistoryScreen) -> str:
    return str(screen.query_one("#history-status").render())


async def settle(pilot, app, seconds: float = 0.3) -> None:
    await pilot.pause(seconds)
    await app.workers.wait_for_complete()
    await pilot.pause()


# -- the rows --------------------------------------------------------------------------------
def test_dates_read_as_people_say_them() -> None:
    assert when(NOW - 20, NOW) == "just now"
    assert when(NOW + 300, NOW) == "just now"
    assert when(NOW - 180, NOW) == "3 min ago"
    assert when(NOW - 5 * 3600, NOW) == "5 h ago"
    assert when(NOW - 86400, NOW) == "yesterday"
    assert when(NOW - 40 * 86400, NOW) == "2 Feb"
    assert when(NOW - 400 * 86400, NOW) == "2025-02-07"


async def test_sessions_are_listed_newest_first_with_their_facts(db) -> None:
    await seed_three(db)
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        rows = row_texts(screen)
        assert len(rows) == 3
        assert rows[0] == "fix the flaky retry test\n  3 min ago  ·  ✓ ok  ·  2 turns  ·  alpha"
        assert rows[1].startswith("explain ␛]52;c;cGF3bmVk␇ sets [bold red]loud[/]")
        assert rows[1].endswith("yesterday  ·  ✓ ok  ·  1 turn  ·  alpha, arbiter, beta")
        # beta was missing: the run is partial, and only the model that answered is listed
        # (a lone survivor needs no judge).
        assert rows[2] == "parse a csv with quotes\n  2 Feb  ·  ◐ partial  ·  1 turn  ·  alpha"
        assert status(screen) == "3 sessions, most recent first"
        assert app.focused is screen.query_one("#history-search")


async def test_hostile_titles_are_shown_as_typed_never_as_markup_or_controls(db) -> None:
    await seed_three(db)
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await opened(pilot, app)
        list_ = screen.session_list
        shown = "\n".join(list_.render_line(y).text
                          for y in range(list_.scrollable_content_region.height))
        assert "[bold red]loud[/] [@click=app.quit]x[/]" in shown
        assert "\x1b" not in shown and "\x07" not in shown
        await pilot.click(SessionList, offset=(20, 3))  # on the hostile title: no action
        await pilot.pause()
        assert app.is_running


async def test_a_renamed_session_shows_its_title_and_an_empty_store_says_so(db) -> None:
    ids = await seed_three(db)
    async with await Store.open(db) as store:
        await store.rename_session(ids["csv"], "CSV parsing notes")
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        assert row_texts(screen)[2].startswith("CSV parsing notes\n")
    empty = HistoryHost(db.with_name("empty.db"), now=NOW)
    async with empty.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, empty)
        assert row_texts(screen) == []
        assert status(screen).startswith("No sessions yet")


# -- search ----------------------------------------------------------------------------------
class CountingStore(Store):
    """The real store, counting the list queries the screen makes."""

    searches: list[str | None]

    async def sessions(self, limit: int = 50, offset: int = 0,
                       search: str | None = None) -> list[SessionSummary]:
        self.searches.append(search)
        return await super().sessions(limit, offset, search)


async def test_typing_searches_once_after_a_pause(db) -> None:
    await seed_three(db)
    # A long pause, so a slow machine's gaps between keys never pass for one.
    app = HistoryHost(db, now=NOW, debounce_s=1.0)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        store = CountingStore(screen.store.db)
        store.searches = []
        screen.store = store
        await pilot.press(*"csv quo")
        assert store.searches == []  # nothing while typing
        assert len(row_texts(screen)) == 3
        await settle(pilot, app, 1.2)
        assert store.searches == ["csv quo"]  # one query, for the whole text
        assert [r.split("\n")[0] for r in row_texts(screen)] == ["parse a csv with quotes"]
        assert status(screen) == "1 session matches “csv quo”"


async def test_search_finds_answers_too_and_says_when_nothing_matches(db) -> None:
    await seed_three(db)
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        # Words of the answers, not the prompts: the duo's judge picked beta's answer.
        await pilot.press(*"alpha answers")
        await settle(pilot, app)
        assert [r.split("\n")[0] for r in row_texts(screen)] == [
            "fix the flaky retry test", "parse a csv with quotes"]
        await pilot.press(*" zebra")
        await settle(pilot, app)
        assert row_texts(screen) == []
        assert status(screen) == "No session matches “alpha answers zebra”."
        for _ in range(len(" zebra")):
            await pilot.press("backspace")
        await settle(pilot, app)
        assert len(row_texts(screen)) == 2


async def test_operators_and_quotes_in_a_search_are_plain_words(db) -> None:
    await seed_three(db)
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        await pilot.press(*'"flaky OR')
        await settle(pilot, app)
        assert row_texts(screen) == []  # "OR" is a word no session holds
        assert "History unavailable" not in status(screen)


# -- choosing and closing --------------------------------------------------------------------
async def test_enter_in_the_list_reopens_the_highlighted_session(db) -> None:
    ids = await seed_three(db)
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await opened(pilot, app)
        await pilot.press("down")  # from the search box onto the first row
        assert app.focused is app.screen.query_one(SessionList)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.results == [ids["hostile"]]
        assert not isinstance(app.screen, HistoryScreen)


async def test_enter_in_the_search_box_opens_the_first_match(db) -> None:
    ids = await seed_three(db)
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await opened(pilot, app)
        await pilot.press(*"csv", "enter")  # before the search ran: it runs, then opens
        await settle(pilot, app)
        assert app.results == [ids["csv"]]


async def test_escape_closes_without_choosing(db) -> None:
    await seed_three(db)
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await opened(pilot, app)
        await pilot.press("down", "escape")
        await pilot.pause()
        assert app.results == [None]


async def test_up_from_the_first_row_and_letters_typed_in_the_list_go_to_the_search(db) -> None:
    await seed_three(db)
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        search = screen.query_one("#history-search", Input)
        await pilot.press("down", "up")
        assert app.focused is search
        await pilot.press("down", "q")  # a letter: into the search, never a quit
        assert app.focused is search and search.value == "q"
        assert app.is_running


# -- delete ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("keys", "deleted"), [
    (("y",), True), (("enter",), True), (("n",), False), (("escape",), False)])
async def test_d_deletes_the_highlighted_session_after_a_confirmation(db, keys, deleted) -> None:
    ids = await seed_three(db)
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        await pilot.press("down", "down", "d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDelete)
        await pilot.press(*keys)
        await settle(pilot, app, 0.1)
        assert app.screen is screen  # the history screen stays open either way
        remaining = [s.id for s in await app.store.sessions()]
        if deleted:
            assert remaining == [ids["flaky"], ids["csv"]]
            assert [r.split("\n")[0] for r in row_texts(screen)] == [
                "fix the flaky retry test", "parse a csv with quotes"]
            assert screen.session_list.highlighted == 1
            assert status(screen).startswith("Deleted “explain")
        else:
            assert remaining == [ids["flaky"], ids["hostile"], ids["csv"]]
            assert len(row_texts(screen)) == 3


async def test_d_typed_in_the_search_box_is_a_letter(db) -> None:
    await seed_three(db)
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        await pilot.press("d", "r")
        assert screen.query_one("#history-search", Input).value == "dr"
        assert app.screen is screen


async def test_a_locked_database_keeps_the_row_and_says_why(db) -> None:
    ids = await seed_three(db)
    app = HistoryHost(db, now=NOW, busy_timeout_s=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        blocker = sqlite3.connect(db, timeout=0)
        blocker.execute("BEGIN IMMEDIATE")  # another program writing
        try:
            await pilot.press("down", "d", "y")
            await settle(pilot, app, 0.2)
            assert status(screen).startswith("Not deleted: ")
            assert "locked" in status(screen)
            assert "\n" not in status(screen)
            assert len(row_texts(screen)) == 3
        finally:
            blocker.rollback()
            blocker.close()
        assert ids["flaky"] in [s.id for s in await app.store.sessions()]


# -- rename ----------------------------------------------------------------------------------
async def test_r_renames_inline_and_enter_saves(db) -> None:
    ids = await seed_three(db)
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        await pilot.press("down", "r")
        field = screen.query_one("#history-rename", Input)
        assert app.focused is field and field.value == "fix the flaky retry test"
        await pilot.press("end")  # the title is selected: typing would replace it
        for _ in range(len("retry test")):
            await pilot.press("backspace")
        await pilot.press(*"tests, shorter", "enter")
        await settle(pilot, app, 0.1)
        assert (await app.store.session_summary(ids["flaky"])).title == "fix the flaky tests, shorter"
        assert row_texts(screen)[0].startswith("fix the flaky tests, shorter\n  3 min ago")
        assert app.focused is screen.session_list
        assert not screen.query_one("#history-rename-row").display
        assert app.screen is screen


async def test_escape_cancels_a_rename_without_closing_the_screen(db) -> None:
    ids = await seed_three(db)
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        await pilot.press("down", "r", *" and more", "escape")
        await pilot.pause()
        assert app.screen is screen and app.results == []
        assert (await app.store.session_summary(ids["flaky"])).title == "fix the flaky retry test"
        assert app.focused is screen.session_list
        assert not screen.query_one("#history-rename-row").display


# -- paging ----------------------------------------------------------------------------------
async def test_rows_load_a_page_at_a_time_as_the_highlight_moves(db) -> None:
    ids = await seed_three(db)
    replicate(db, ids["flaky"], 250, start=NOW - 100 * 86400, step_s=3600)
    app = HistoryHost(db, now=NOW, page_size=100)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        assert len(screen.rows) == 100  # one page, not 253 sessions
        assert status(screen) == "100+ sessions, most recent first"
        await pilot.press("down", "end")  # to the last loaded row: the next page comes
        await settle(pilot, app, 0.1)
        assert len(screen.rows) == 200
        await pilot.press("end")
        await settle(pilot, app, 0.1)
        rows = screen.rows
        assert len(rows) == 253 and status(screen) == "253 sessions, most recent first"
        assert len({r.id for r in rows}) == 253
        assert [r.updated_at for r in rows] == sorted((r.updated_at for r in rows), reverse=True)
        assert rows[-1].title == "fix the flaky retry test #249"


async def test_scrolling_the_view_loads_the_next_page(db) -> None:
    ids = await seed_three(db)
    replicate(db, ids["flaky"], 250, start=NOW - 100 * 86400, step_s=3600)
    app = HistoryHost(db, now=NOW, page_size=100)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        assert len(screen.rows) == 100
        screen.session_list.scroll_end(animate=False, immediate=True)  # a mouse wheel
        await settle(pilot, app, 0.1)
        assert len(screen.rows) == 200
        assert screen.session_list.highlighted is None  # the view moved, not the highlight


# -- errors ----------------------------------------------------------------------------------
async def test_a_store_that_fails_shows_one_line_not_a_crash(db) -> None:
    await seed_three(db)
    app = HistoryHost(db, now=NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await opened(pilot, app)
        await app.store.aclose()  # the database went away under the screen
        await pilot.press(*"csv")
        await settle(pilot, app)
        line = status(screen)
        assert line.startswith("History unavailable: cannot read ")
        assert "\n" not in line
        assert screen.query_one("#history-status").has_class("-error")
        assert app.is_running
