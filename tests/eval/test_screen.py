"""The eval screen over a real SQLite store holding evals recorded against the fake server:
the list, the comparison table of the highlighted eval, refresh, and hostile names."""

from __future__ import annotations

from rich.console import Console
from textual.app import App
from textual.widgets import OptionList, Static

from loco_tui.screens.eval import EvalScreen, comparison
from loco_tui.store import Store
from tests.eval.support import (
    SUITE,
    judge_picking,
    picks_a_right_one_except_on_two,
    registry_for,
    run_eval,
    script,
)

NOW = 2_000_000_000.0


class Host(App[None]):
    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.dismissed = False

    def on_mount(self) -> None:
        self.push_screen(EvalScreen(self.store, now=lambda: NOW), self._on_dismiss)

    def _on_dismiss(self, _result: None) -> None:
        self.dismissed = True


def text_of(renderable: object) -> str:
    console = Console(width=160, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


async def until(pilot, condition, timeout: float = 10.0) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition() and loop.time() < deadline:
        await pilot.pause(0.05)
    assert condition()


async def test_the_screen_lists_evals_and_shows_the_comparison(ollama_server, store):
    server = ollama_server(script(judge_picking(picks_a_right_one_except_on_two)))
    registry = registry_for(server.url)
    _, older = await run_eval(registry, "single:coder", store=store)
    _, newer = await run_eval(registry, "single:coder,ensemble:trio", store=store)

    app = Host(store)
    async with app.run_test(size=(150, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, EvalScreen)
        await until(pilot, lambda: screen.summary is not None)
        options = screen.query_one("#eval-list", OptionList)
        assert [r.id for r in screen.records] == [newer.eval_id, older.eval_id]
        assert options.option_count == 2 and options.highlighted == 0
        summary = screen.summary
        assert summary is not None and summary.result.eval_id == newer.eval_id
        table = text_of(screen.query_one("#eval-table", Static).content)
        assert "single:coder" in table and "ensemble:trio" in table
        assert "3/4" in table and "75%" in table   # single right 3 of 4
        assert "Oracle" in table and "75% 3/4" in table
        assert "67% 2/3" in table                 # the judge's accuracy
        assert "Paired comparisons" in table

        await pilot.press("down")
        await until(pilot, lambda: screen.summary is not None
                    and screen.summary.result.eval_id == older.eval_id)
        assert "Ensembles" not in text_of(screen.query_one("#eval-table", Static).content)

        # An eval recorded meanwhile shows after a refresh; the highlight stays put.
        _, newest = await run_eval(registry, "single:coder", store=store)
        await pilot.press("r")
        await until(pilot, lambda: len(screen.records) == 3)
        assert options.get_option_at_index(options.highlighted).id == older.eval_id

        await pilot.press("escape")
        await pilot.pause()
        assert app.dismissed and newest.eval_id in [r.id for r in screen.records]


async def test_with_no_eval_the_screen_says_how_to_make_one(store):
    app = Host(store)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        status = screen.query_one("#eval-status", Static)
        await until(pilot, lambda: "No evals yet" in str(status.content))
        assert screen.summary is None


async def test_hostile_suite_names_and_case_ids_are_shown_neutralised(ollama_server, store):
    server = ollama_server(script(judge_picking(picks_a_right_one_except_on_two)))
    hostile = SUITE.replace('name = "answers"', 'name = "evil\\u001b]52;c;aGk=\\u0007"')
    await run_eval(registry_for(server.url), "single:coder", suite=hostile, store=store)
    app = Host(store)
    async with app.run_test(size=(150, 40)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.summary is not None)
        row = screen.query_one("#eval-list", OptionList).get_option_at_index(0).prompt
        assert "evil␛]52;c;aGk=␇" in str(row) and "\x1b" not in str(row)
        assert screen.summary is not None
        rendered = text_of(comparison(screen.summary))
        assert "\x1b" not in rendered and "evil␛]52" in rendered
