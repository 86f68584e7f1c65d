"""Ensembles picked in the UI: run once as a throwaway, or saved into the file Loco owns
beside the registry, which loads with the registry, survives a hot reload of the user's file,
and is checked like the rest (file:line warnings, never a failure). The new registry keys
are validated by `loco check`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from loco_tui.events import MemberStarted, RunFinished
from loco_tui.orchestrator import RunRequest
from loco_tui.registry import (
    LoadedRegistry,
    RegistryHolder,
    load_configured,
    load_registry,
    picked_ensemble,
    save_ensemble,
    saved_path,
    watch_registry,
)
from loco_tui.store import Store
from loco_tui.testing.script import Reply, Script
from tests.common import loco
from tests.compare.support import run, two_servers

USER = """[providers.p]
kind = "embedded"
[models.a]
provider = "p"
model = "smollm2"
[models.b]
provider = "p"
model = "other"
[roles]
judge = "a"
[ensembles.mine]
members = [{ model = "a" }, { model = "b" }]
"""


def user_file(tmp_path: Path, text: str = USER) -> Path:
    path = tmp_path / "loco.toml"
    path.write_text(text)
    return path


def test_a_saved_ensemble_goes_beside_the_registry_and_loads_with_it(tmp_path: Path):
    path = user_file(tmp_path)
    saved = save_ensemble("duel", [{"model": "a"}, {"provider": "p", "model": "big.gguf"}],
                          scope=path, registry=load_registry(path), blind=True, debias=True)
    assert saved == tmp_path / "loco.ensembles.local.toml" == saved_path(path)
    assert path.read_text() == USER  # the user's file is never rewritten
    loaded = load_configured(path)
    duel = loaded.registry.ensembles["duel"]
    assert (duel.blind, duel.debias, duel.verdict) == (True, True, "pick")
    assert [m.model_id for m in duel.members] == ["a", "p/big.gguf"]
    assert loaded.warnings == []
    # Saved again under the same name: replaced, not duplicated.
    save_ensemble("duel", [{"model": "b"}, {"model": "a"}], judge=None, scope=path)
    again = load_configured(path).registry.ensembles["duel"]
    assert [m.model for m in again.members] == ["b", "a"] and again.judge is None
    assert "the registry itself defines" in _refused(path, "mine")


def _refused(path: Path, name: str) -> str:
    with pytest.raises(ValueError) as caught:
        save_ensemble(name, [{"model": "a"}], scope=path, registry=load_registry(path))
    return str(caught.value)


def test_an_entry_naming_what_the_registry_lacks_is_refused_when_saved(tmp_path: Path):
    path = user_file(tmp_path)
    with pytest.raises(ValueError, match="unknown model 'ghost'"):
        save_ensemble("x", [{"model": "ghost"}], scope=path, registry=load_registry(path))


def test_broken_saved_entries_are_warnings_with_their_line(tmp_path: Path):
    path = user_file(tmp_path)
    saved_path(path).write_text(
        '[ensembles.good]\nmembers = [{ model = "a" }]\n\n'
        '[ensembles.ghost]\nmembers = [{ model = "a" }, { model = "nope" }]\n\n'
        '[ensembles.typo]\nmembers = [{ model = "a" }]\nblnd = true\n\n'
        '[ensembles.mine]\nmembers = [{ model = "b" }]\n')
    loaded = load_configured(path)
    assert set(loaded.registry.ensembles) == {"mine", "good"}
    assert loaded.registry.ensembles["mine"].members[0].model == "a"  # the user's own wins
    where = str(saved_path(path))
    assert any(w.startswith(f"{where}:5:") and "unknown model 'nope'" in w
               for w in loaded.warnings), loaded.warnings
    assert any(w.startswith(f"{where}:9:") and "unknown key 'blnd'" in w
               and "did you mean 'blind'" in w for w in loaded.warnings), loaded.warnings
    assert any(w.startswith(f"{where}:11:") and "it wins over the saved one" in w
               for w in loaded.warnings), loaded.warnings
    # A file that is not TOML at all: one warning, the registry loads.
    saved_path(path).write_text("[ensembles.\n")
    loaded = load_configured(path)
    assert set(loaded.registry.ensembles) == {"mine"}
    assert len(loaded.warnings) == 1 and "ignored the saved ensembles" in loaded.warnings[0]
    # `loco check` checks the user's file; the saved one never fails it.
    assert loco("check", str(path)).returncode == 0


def test_the_built_in_registry_keeps_its_saved_ensembles_in_the_data_dir(tmp_path: Path):
    data = tmp_path / "data"
    saved = save_ensemble("pair", [{"model": "smol"}, {"model": "smol-judge"}], scope=None,
                          data=data)
    assert saved == data / "builtin.ensembles.local.toml"
    loaded = LoadedRegistry(load_configured(None).registry, None).with_overrides(data)
    assert "pair" in loaded.registry.ensembles and "default" in loaded.registry.ensembles
    holder = RegistryHolder(None, data=data)
    assert "pair" in holder.current.ensembles


async def test_a_saved_ensemble_survives_a_hot_reload_of_the_users_file(tmp_path: Path):
    path = user_file(tmp_path)
    save_ensemble("duel", [{"model": "a"}, {"model": "b"}], scope=path)
    watcher = watch_registry(path, debounce_ms=50)
    try:
        task = asyncio.ensure_future(watcher.__anext__())
        await asyncio.sleep(0.2)
        path.write_text(USER + '[models.c]\nprovider = "p"\nmodel = "third"\n')
        reloaded = await asyncio.wait_for(task, 5)
        # What the workbench does with a reload: the user's file, then what Loco keeps.
        loaded = LoadedRegistry(reloaded, path, base=reloaded).with_overrides()
        assert "c" in loaded.registry.models and "duel" in loaded.registry.ensembles

        # Saving from the picker is a change the watcher sees too.
        task = asyncio.ensure_future(watcher.__anext__())
        await asyncio.sleep(0.2)
        save_ensemble("trio", [{"model": "a"}, {"model": "b"}, {"model": "c"}], scope=path)
        reloaded = await asyncio.wait_for(task, 5)
        loaded = LoadedRegistry(reloaded, path, base=reloaded).with_overrides()
        assert {"duel", "trio", "mine"} <= set(loaded.registry.ensembles)
    finally:
        await watcher.aclose()


THROWAWAY = """
[models.arbiter]
provider = "lab"
model = "arbiter"
[roles]
judge = "arbiter"
"""


async def test_a_throwaway_ensemble_of_two_servers_models_runs_and_is_recorded(
        ollama_server, openai_server, tmp_path: Path):
    local = ollama_server(Script().add("qwen2.5:7b", Reply.text("Qwen answers.")))
    lab = openai_server(Script().add("llama-3", Reply.text("Llama answers.")).add(
        "arbiter", Reply.text("x", constrained=Reply.verdict("A"))))
    registry = two_servers(local.url, lab.base_url, THROWAWAY)
    picked = picked_ensemble([{"provider": "local", "model": "qwen2.5:7b"},
                              {"provider": "lab", "model": "llama-3"}], blind=True)
    async with await Store.open(tmp_path / "loco.db") as store:
        events = await run(registry, RunRequest("which?", ensemble_config=picked), store=store)
        stats = {s.model for s in await store.stats()}
    assert events[0].type == "run_started" and events[0].blind is True  # type: ignore[union-attr]
    assert events[0].target == "picked"  # type: ignore[union-attr]
    started = {(e.member, e.model, e.provider) for e in events if isinstance(e, MemberStarted)}
    assert {("m1", "local/qwen2.5:7b", "local"), ("m2", "lab/llama-3", "lab")} <= started
    assert isinstance(events[-1], RunFinished) and events[-1].status == "ok"
    assert {"local/qwen2.5:7b", "lab/llama-3", "arbiter"} <= stats
    bad = picked_ensemble([{"provider": "nowhere", "model": "x"}, {"model": "arbiter"}])
    failed = await run(registry, RunRequest("which?", ensemble_config=bad))
    assert isinstance(failed[-1], RunFinished) and failed[-1].status == "failed"
    assert "unknown provider 'nowhere'" in (failed[-1].message or "")


def test_loco_check_validates_the_new_keys(tmp_path: Path):
    bad = USER.replace('kind = "embedded"', 'kind = "embedded"\nmax_parallel = 0').replace(
        '[ensembles.mine]\n', '[ensembles.mine]\ndebias = "yes"\nblind = 2\n')
    result = loco("check", str(user_file(tmp_path, bad)))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert any(":3:" in line and "max_parallel" in line for line in lines), lines
    # TOML has booleans: "yes" is not one.
    assert any(":13:" in line and "debias: input should be true or false" in line
               for line in lines), lines
    assert any(":14:" in line and "blind" in line for line in lines), lines
    good = USER.replace('kind = "embedded"', 'kind = "embedded"\nmax_parallel = 2').replace(
        '[ensembles.mine]\n', '[ensembles.mine]\ndebias = true\nblind = true\n')
    assert loco("check", str(user_file(tmp_path, good))).returncode == 0
