"""A hostile or broken registry file gets a clear error and loses nothing: no traceback, the
hot-reload watcher keeps watching, the last good registry stays."""

from __future__ import annotations

import asyncio

import pytest

from loco_tui.registry import RegistryError, load_registry_text
from tests.common import ENSEMBLE, loco, provider_toml, trio_script

DEEP = "[roles]\ncoder = " + "[" * 20000 + "]" * 20000 + "\n"


def test_deep_nesting_is_an_error_with_the_file_name_not_a_traceback(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text(DEEP)
    result = loco("check", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert f"{path}: too deeply nested" in result.stderr


def test_deep_inline_tables_too():
    text = "[roles]\ncoder = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n"
    with pytest.raises(RegistryError) as caught:
        load_registry_text(text, "x.toml")
    assert "too deeply nested" in str(caught.value)


async def test_the_watcher_survives_a_deeply_nested_save(ollama_server, tmp_path):
    from loco_tui.app import LocoApp, UiSettings
    from loco_tui.registry import LoadedRegistry, load_registry

    server = ollama_server(trio_script())
    path = tmp_path / "loco.toml"
    good = provider_toml(server.url) + ENSEMBLE
    path.write_text(good)
    app = LocoApp(LoadedRegistry(load_registry(path), path=path),
                  settings=UiSettings(show_rates=False, watch_config=True,
                                      health_interval_s=3600))

    async def until(condition, timeout: float = 8.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition() and loop.time() < deadline:
            await pilot.pause(0.05)
        assert condition()

    async with app.run_test(size=(130, 40)) as pilot:
        while app.controller is None:
            await pilot.pause(0.01)
        await pilot.pause(0.5)
        path.write_text(DEEP)
        await until(lambda: app.registry_error is not None)
        assert "too deeply nested" in app.registry_error
        # Still watching: a good save is picked up.
        path.write_text(good + '\n[ensembles.duo]\nmembers = [{ model = "alpha" }, '
                        '{ model = "beta" }]\n')
        await until(lambda: "duo" in app.controller.registry.ensembles)
        assert app.registry_error is None
