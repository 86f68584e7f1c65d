"""The workbench driven like a user: Pilot types a prompt, panes fill from real HTTP streams;
snapshots of the idle and finished screens (SVGs in tests/__snapshots__/)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Input, RichLog

from loco_tui.app import LocoApp, UiSettings
from loco_tui.registry import LoadedRegistry
from loco_tui.testing.fake_ollama import FakeOllama
from loco_tui.testing.script import Fault, Reply
from loco_tui.widgets.member_pane import MemberPane
from tests.common import ENSEMBLE, registry_for, trio_script

SIZE = (130, 40)
QUIET = UiSettings(show_rates=False, watch_config=False, health_interval_s=3600, seed=7)


def make_app(url: str) -> LocoApp:
    loaded = LoadedRegistry(registry_for(url, ENSEMBLE), path=Path("loco.toml"))
    return LocoApp(loaded, settings=QUIET)


async def settle(app: LocoApp, pilot, timeout: float = 10.0) -> None:
    """Wait until the run is over and every queued event is on screen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await pilot.pause(0.05)
    while app.controller.active_runs and loop.time() < deadline:
        await pilot.pause(0.05)
    await pilot.pause(0.1)
    app._drain()
    await pilot.pause()


async def booted(app: LocoApp, pilot) -> None:
    """The controller starts after the first frame; wait for it."""
    while app.controller is None:
        await pilot.pause(0.01)


async def wait_for_health(app: LocoApp, pilot) -> None:
    await booted(app, pilot)
    while not app.controller.pool.health:
        await pilot.pause(0.02)
    await pilot.pause()


async def test_typing_a_prompt_fills_every_pane(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await pilot.click("#prompt")
        await pilot.press(*"dedupe a list", "enter")
        await settle(app, pilot)
        panes = {p.member: p for p in app.query(MemberPane)}
        assert set(panes) == {"m1", "m2", "m3", "judge"}
        assert panes["m1"].text == "Alpha says use a set."
        assert panes["m2"].text == "Beta says sort first then scan."
        assert panes["m3"].text == "Gamma says a dict keeps order."
        assert '"winner": "B"' in panes["judge"].text
        for member in ("m1", "m2", "m3"):
            assert panes[member].has_class("-done")
        winners = [p for p in panes.values() if p.has_class("-winner")]
        assert len(winners) == 1 and winners[0].member != "judge"
        assert str(panes["m1"].border_title).startswith("m1 · alpha · skeptic")
        trace = "\n".join(line.text for line in app.query_one("#trace", RichLog).lines)
        assert "verdict: picked" in trace and "run ok" in trace
        assert app.query_one("#prompt", Input).value == ""


async def test_a_failed_member_shows_its_category_and_the_run_goes_on(ollama_server):
    server = ollama_server(trio_script(beta=Reply(fault=Fault.MODEL_MISSING)))
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await pilot.press(*"go", "enter")
        await settle(app, pilot)
        panes = {p.member: p for p in app.query(MemberPane)}
        assert panes["m2"].has_class("-failed")
        assert "model_missing" in str(panes["m2"].border_subtitle)
        assert panes["m1"].has_class("-done") and panes["m3"].has_class("-done")
        trace = "\n".join(line.text for line in app.query_one("#trace", RichLog).lines)
        assert "run partial" in trace


async def test_escape_cancels_the_run_and_closes_the_streams(ollama_server):
    slow = Reply(pieces=tuple(f" w{i}" for i in range(400)), piece_delay_s=0.05)
    server = ollama_server(trio_script(alpha=slow, beta=slow, gamma=slow))
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await pilot.press(*"go", "enter")
        await pilot.pause(0.4)
        assert app.controller.active_runs
        await pilot.press("escape")
        await settle(app, pilot)
        assert not app.controller.active_runs
        assert await asyncio.to_thread(server.wait_for_no_connections, 3.0)
        panes = {p.member: p for p in app.query(MemberPane)}
        assert all(panes[m].has_class("-failed") for m in ("m1", "m2", "m3"))
        trace = "\n".join(line.text for line in app.query_one("#trace", RichLog).lines)
        assert "run cancelled" in trace


async def test_ctrl_t_cycles_targets_and_shows_their_panes(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        assert [p.member for p in app.query("#members MemberPane")] == ["m1", "m2", "m3"]
        await pilot.press("ctrl+t")
        assert app._target.label == "auto-route"
        assert len(app.query("#members MemberPane")) == 1
        assert not app.query_one("#judge").display
        await pilot.press("ctrl+t")
        assert app._target.label == "role coder"
        await pilot.press(*"fix it", "ctrl+j")  # what most terminals send for Ctrl+Enter
        await settle(app, pilot)
        panes = list(app.query("#members MemberPane"))
        assert [p.member for p in panes] == ["coder"]
        assert panes[0].text == "Alpha says use a set."


# -- snapshots (plain `def`: snap_compare runs its own event loop) -----------------------------

@pytest.fixture
def snapshot_server():
    with FakeOllama(trio_script()) as server:
        yield server


def test_snapshot_idle(snap_compare, snapshot_server):
    app = make_app(snapshot_server.url)

    async def ready(pilot):
        app.query_one(Input).cursor_blink = False
        await wait_for_health(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_snapshot_after_a_run(snap_compare, snapshot_server):
    app = make_app(snapshot_server.url)

    async def run(pilot):
        app.query_one(Input).cursor_blink = False
        await wait_for_health(app, pilot)
        await pilot.press(*"dedupe a list", "enter")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


async def test_saving_the_registry_reloads_it_and_a_broken_save_keeps_the_last_good(
    ollama_server, tmp_path
):
    from loco_tui.registry import load_registry
    from loco_tui.widgets.sidebar import ModelSidebar

    server = ollama_server(trio_script())
    path = tmp_path / "loco.toml"
    good = f'[providers.local]\nkind = "ollama"\nhost = "{server.url}"\n' + ENSEMBLE
    path.write_text(good)
    settings = UiSettings(show_rates=False, watch_config=True, health_interval_s=3600, seed=7)
    app = LocoApp(LoadedRegistry(load_registry(path), path=path), settings=settings)

    async def until(condition, timeout: float = 8.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition() and loop.time() < deadline:
            await pilot.pause(0.05)
        assert condition()

    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await pilot.pause(0.5)  # the watcher is up
        path.write_text(good + '\n[ensembles.duo]\nmembers = [{ model = "alpha" }, '
                        '{ model = "beta" }]\n')
        await until(lambda: "duo" in app.controller.registry.ensembles)
        assert any(t.name == "duo" for t in app._targets)

        path.write_text(good + "\n[models.broken\n")
        await until(lambda: app.registry_error is not None)
        assert "loco.toml:" in app.registry_error
        assert "duo" in app.controller.registry.ensembles  # the last good registry stays
        sidebar = str(app.query_one(ModelSidebar).render())
        assert "Registry error" in sidebar

        path.write_text(good)
        await until(lambda: app.registry_error is None)
        assert "duo" not in app.controller.registry.ensembles


async def test_the_sidebar_marks_models_the_server_lacks_and_models_in_memory(ollama_server):
    from loco_tui.widgets.sidebar import ModelSidebar

    script = trio_script()
    del script.replies["beta:3b"]  # the coder chain names it; the server does not have it
    script.loaded = {"alpha:7b"}
    app = make_app(ollama_server(script).url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_health(app, pilot)
        app._refresh_sidebar()
        shown = str(app.query_one(ModelSidebar).render())
        lines = {line.split()[1]: line for line in shown.splitlines() if "●" in line}
        assert "◆" in lines["alpha"] and "not installed" not in lines["alpha"]
        assert "not installed" in lines["beta"] and "◆" not in lines["beta"]
        assert "not installed" not in lines["arbiter"]
        assert "down" not in lines["local"]


async def test_ctrl_r_switches_the_model_a_role_uses_first_without_touching_the_registry(
    ollama_server, tmp_path
):
    from textual.widgets import OptionList

    from loco_tui.registry import data_dir, load_overrides, load_registry

    server = ollama_server(trio_script())
    path = tmp_path / "loco.toml"
    path.write_text(f'# my notes\n[providers.local]\nkind = "ollama"\nhost = "{server.url}"\n'
                    + ENSEMBLE)
    before = path.read_bytes()
    app = LocoApp(LoadedRegistry(load_registry(path), path=path), settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await pilot.press("ctrl+r")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        options.highlighted = ids.index("coder\x00beta")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.controller.registry.roles["coder"] == ["beta", "alpha"]
        # The switch is live: the next run of the role starts on beta.
        await pilot.press("ctrl+t", "ctrl+t")
        assert app._target.label == "role coder"
        await pilot.press(*"go", "enter")
        await settle(app, pilot)
        assert [p.text for p in app.query("#members MemberPane")] == ["Beta says sort first then scan."]
    assert path.read_bytes() == before  # the user's file, comments and all, is untouched
    assert load_overrides(data_dir(), path) == {"coder": ["beta", "alpha"]}


async def test_ctrl_o_shows_how_the_parser_read_each_reply(ollama_server):
    from textual.widgets import Static

    hermes = ('I will read it first.\n<tool_call>\n{"name": "read_file", '
              '"arguments": {"path": "main.go"}}\n</tool_call>')
    server = ollama_server(trio_script(beta=Reply.text(hermes, piece_delay_s=0.005)))
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await pilot.press(*"read main.go", "enter")
        await settle(app, pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        shown = str(app.screen.query_one("#parse-trace", Static).render())
        assert "m2 · beta" in shown
        assert '"format": "hermes"' in shown and '"name": "read_file"' in shown
        assert "classification" in shown and '"kind": "tool_call"' in shown
        await pilot.press("escape")
        await pilot.pause()
        assert not app.screen.query("#parse-trace")
