"""A live role switch applies only to the registry it was made on, shows in the sidebar,
is dropped with a visible note when it no longer fits, and can be reset."""

from __future__ import annotations

from loco_tui.app import LocoApp, UiSettings
from loco_tui.registry import (
    LoadedRegistry,
    data_dir,
    load_configured,
    load_overrides,
    save_role_override,
)
from tests.common import ENSEMBLE, registry_for, trio_script

QUIET = UiSettings(show_rates=False, watch_config=False, health_interval_s=3600, seed=7)
DETECTED = "<auto-detected: ollama at http://127.0.0.1:11434>"


def test_a_switch_made_on_detected_servers_never_reaches_the_built_in_registry(ollama_server):
    server = ollama_server(trio_script())
    detected = registry_for(server.url, ENSEMBLE)
    save_role_override(data_dir(), "judge", ["alpha"], config=DETECTED)
    loaded = LoadedRegistry(detected, None, label=DETECTED, base=detected).with_overrides()
    assert loaded.registry.roles["judge"] == ["alpha"]
    builtin = load_configured(None)
    assert builtin.registry.roles["judge"] == ["smol-judge"]
    assert not builtin.overrides_applied


async def test_ctrl_r_on_detected_servers_saves_under_their_scope_and_can_be_reset(
    ollama_server,
):
    from textual.widgets import OptionList

    from loco_tui.widgets.sidebar import ModelSidebar

    server = ollama_server(trio_script())
    registry = registry_for(server.url, ENSEMBLE)
    app = LocoApp(LoadedRegistry(registry, None, label=DETECTED, base=registry), settings=QUIET)
    async with app.run_test(size=(130, 40)) as pilot:
        while app.controller is None:
            await pilot.pause(0.01)
        await pilot.press("ctrl+r")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        options.highlighted = ids.index("coder\x00beta")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.controller.registry.roles["coder"] == ["beta", "alpha"]
        assert load_overrides(data_dir(), DETECTED) == {"coder": ["beta", "alpha"]}
        assert load_overrides(data_dir(), None) == {}  # not the built-in scope
        assert "coder ⇄ switched" in str(app.query_one(ModelSidebar).render())

        await pilot.press("ctrl+r")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        options.highlighted = ids.index("coder\x00reset")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.controller.registry.roles["coder"] == ["alpha", "beta"]
        assert load_overrides(data_dir(), DETECTED) == {}
        assert "switched" not in str(app.query_one(ModelSidebar).render())
        assert "back to the registry's chain" in app.trace.text


async def test_a_switch_that_no_longer_fits_is_dropped_with_a_visible_note(
    ollama_server, tmp_path
):
    from loco_tui.registry import load_registry
    from loco_tui.widgets.sidebar import ModelSidebar
    from tests.common import provider_toml

    server = ollama_server(trio_script())
    path = tmp_path / "loco.toml"
    path.write_text(provider_toml(server.url) + ENSEMBLE)
    save_role_override(data_dir(), "coder", ["removed-model"], config=path)
    registry = load_registry(path)
    loaded = LoadedRegistry(registry, path, base=registry).with_overrides()
    assert loaded.registry.roles["coder"] == ["alpha", "beta"]
    app = LocoApp(loaded, settings=QUIET)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause(0.2)
        shown = str(app.query_one(ModelSidebar).render())
        assert "role override 'coder' dropped" in shown
        assert "role override 'coder' dropped" in app.trace.text
