"""The workbench driven like a user: Pilot types a prompt, panes fill from real HTTP streams,
Esc cancels, the target picker, hot reload, the sidebar, Ctrl+R and Ctrl+O."""

from __future__ import annotations

from loco_tui.app import LocoApp
from loco_tui.registry import LoadedRegistry
from loco_tui.testing.script import Fault, Reply
from loco_tui.widgets.member_pane import MemberPane
from loco_tui.widgets.prompt_editor import PromptEditor
from tests.common import (
    ENSEMBLE,
    SIZE,
    ask,
    booted,
    make_app,
    provider_toml,
    quiet_settings,
    settle,
    trio_script,
    type_prompt,
    until,
)


async def test_typing_a_prompt_fills_every_pane(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "dedupe a list")
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
        assert panes["m1"].title.startswith("m1 · alpha · skeptic")
        assert "verdict: picked" in app.trace.text and "run ok" in app.trace.text
        assert app.query_one("#prompt", PromptEditor).text == ""
        assert app.focused is app.query_one("#prompt")  # ready for the next prompt


async def test_a_failed_member_shows_its_category_and_the_run_goes_on(ollama_server):
    server = ollama_server(trio_script(beta=Reply(fault=Fault.MODEL_MISSING)))
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "go")
        panes = {p.member: p for p in app.query(MemberPane)}
        assert panes["m2"].has_class("-failed")
        assert "model_missing" in panes["m2"].status
        assert panes["m1"].has_class("-done") and panes["m3"].has_class("-done")
        assert "run partial" in app.trace.text


async def test_escape_cancels_the_run_and_closes_the_streams(ollama_server):
    slow = Reply(pieces=tuple(f" w{i}" for i in range(400)), piece_delay_s=0.05)
    server = ollama_server(trio_script(alpha=slow, beta=slow, gamma=slow))
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await type_prompt(pilot, "go")
        await pilot.pause(0.4)
        assert app.controller.active_runs
        await pilot.press("escape")
        await settle(app, pilot)
        assert not app.controller.active_runs
        assert server.wait_for_no_connections(3.0)
        panes = {p.member: p for p in app.query(MemberPane)}
        assert all(panes[m].has_class("-failed") for m in ("m1", "m2", "m3"))
        assert "run cancelled" in app.trace.text


async def test_ctrl_t_picks_a_target_from_a_filtered_list(ollama_server):
    from textual.widgets import Input, OptionList

    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        assert [p.member for p in app.query("#members MemberPane")] == ["m1", "m2", "m3"]
        await pilot.press("ctrl+t")
        await pilot.pause()
        picker = app.screen
        options = picker.query_one(OptionList)
        assert options.option_count == len(app._targets)
        await pilot.press(*"role cod")
        await pilot.pause()
        assert picker.query_one(Input).value == "role cod"
        assert options.option_count == 1
        await pilot.press("enter")
        await pilot.pause()
        assert app._target.label == "role coder"
        assert len(app.query("#members MemberPane")) == 1
        assert not app.query_one("#judge").display
        await ask(app, pilot, "fix it")
        panes = list(app.query("#members MemberPane"))
        assert [p.member for p in panes] == ["coder"]
        assert panes[0].text == "Alpha says use a set."


async def test_saving_the_registry_reloads_it_and_a_broken_save_keeps_the_last_good(
    ollama_server, tmp_path
):
    from loco_tui.registry import load_registry
    from loco_tui.widgets.sidebar import ModelSidebar

    server = ollama_server(trio_script())
    path = tmp_path / "loco.toml"
    good = provider_toml(server.url) + ENSEMBLE
    path.write_text(good)
    app = LocoApp(LoadedRegistry(load_registry(path), path=path),
                  settings=quiet_settings(watch_config=True))
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await pilot.pause(0.5)  # the watcher is up
        path.write_text(good + '\n[ensembles.duo]\nmembers = [{ model = "alpha" }, '
                        '{ model = "beta" }]\n')
        await until(pilot, lambda: "duo" in app.controller.registry.ensembles)
        assert any(t.name == "duo" for t in app._targets)

        path.write_text(good + "\n[models.broken\n")
        await until(pilot, lambda: app.registry_error is not None)
        assert "loco.toml:" in app.registry_error
        assert "duo" in app.controller.registry.ensembles  # the last good registry stays
        assert "Registry error" in str(app.query_one(ModelSidebar).render())

        path.write_text(good)
        await until(pilot, lambda: app.registry_error is None)
        assert "duo" not in app.controller.registry.ensembles


async def test_the_sidebar_marks_models_the_server_lacks_and_models_in_memory(ollama_server):
    from loco_tui.widgets.sidebar import ModelSidebar

    script = trio_script()
    del script.replies["beta:3b"]  # the coder chain names it; the server does not have it
    script.loaded = {"alpha:7b"}
    app = make_app(ollama_server(script).url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await until(pilot, lambda: bool(app.controller.pool.health))
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
    path.write_text("# my notes\n" + provider_toml(server.url) + ENSEMBLE)
    before = path.read_bytes()
    registry = load_registry(path)
    app = LocoApp(LoadedRegistry(registry, path=path, base=registry),
                  settings=quiet_settings())
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
        app._target = next(t for t in app._targets if t.label == "role coder")
        await ask(app, pilot, "go")
        assert [p.text for p in app.query("#members MemberPane")] == [
            "Beta says sort first then scan."]
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
        await ask(app, pilot, "read main.go")
        await pilot.press("ctrl+o")
        await pilot.pause()
        shown = str(app.screen.query_one("#parse-trace", Static).render())
        assert "m2 · beta" in shown
        assert '"format": "hermes"' in shown and '"name": "read_file"' in shown
        assert "classification" in shown and '"kind": "tool_call"' in shown
        await pilot.press("escape")
        await pilot.pause()
        assert not app.screen.query("#parse-trace")


async def test_a_refused_prompt_stays_in_the_box(ollama_server):
    slow = Reply(pieces=tuple(f" w{i}" for i in range(200)), piece_delay_s=0.05)
    server = ollama_server(trio_script(alpha=slow, beta=slow, gamma=slow))
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await type_prompt(pilot, "first")
        await pilot.pause(0.3)
        await type_prompt(pilot, "second")
        await pilot.pause(0.1)
        assert app.query_one("#prompt", PromptEditor).text == "second"
        await pilot.press("escape")
        await settle(app, pilot)

