"""Config discovery order, $LOCO_HOME, load_configured, check_config."""

from __future__ import annotations

from pathlib import Path

import pytest

from loco_tui.registry import (
    RegistryError,
    check_config,
    data_dir,
    discover_config,
    load_configured,
    save_role_override,
    user_config_path,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = (ROOT / "config" / "loco.toml").read_text("utf-8")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment: empty cwd, private config and data dirs, no $LOCO_CONFIG."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("LOCO_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("LOCO_HOME", str(tmp_path / "home"))
    return tmp_path


def write(path: Path, text: str = SAMPLE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_nothing_found_means_the_builtin_default(env: Path) -> None:
    assert discover_config(None) is None
    loaded = load_configured()
    assert loaded.path is None and loaded.source == "<built-in default>"
    assert loaded.registry.roles["judge"] == ["smol-judge"]
    assert check_config(None) == []


def test_discovery_order(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = write(env / "xdg-config" / "loco" / "loco.toml")
    assert user_config_path() == user
    assert discover_config(None) == user

    local = write(env / "work" / "loco.toml")
    assert discover_config(None) == local  # ./loco.toml beats the user config dir

    from_env = write(env / "elsewhere" / "env.toml")
    monkeypatch.setenv("LOCO_CONFIG", str(from_env))
    assert discover_config(None) == from_env  # $LOCO_CONFIG beats ./loco.toml

    explicit = write(env / "explicit.toml")
    assert discover_config(explicit) == explicit  # --config beats everything

    # A relative --config is made absolute (the watcher and overrides need a stable path).
    assert discover_config(Path("loco.toml")) == local


def test_explicit_paths_must_exist(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(env / "work" / "loco.toml")  # would be found, but must not be fallen back to
    with pytest.raises(RegistryError) as err:
        discover_config(env / "nope.toml")
    assert str(err.value) == f"{env / 'nope.toml'}: config file not found (given with --config)"

    monkeypatch.setenv("LOCO_CONFIG", str(env / "gone.toml"))
    with pytest.raises(RegistryError) as err:
        discover_config(None)
    assert str(err.value) == f"{env / 'gone.toml'}: config file not found (named by $LOCO_CONFIG)"
    with pytest.raises(RegistryError, match="is a directory"):
        discover_config(env)
    # An empty $LOCO_CONFIG counts as unset.
    monkeypatch.setenv("LOCO_CONFIG", "")
    assert discover_config(None) == env / "work" / "loco.toml"


def test_check_config(env: Path) -> None:
    assert check_config(None) == []
    assert check_config(env / "missing.toml") == [
        f"{env / 'missing.toml'}: config file not found (given with --config)"
    ]
    bad = write(env / "bad.toml", '[models.x]\nprovider = "p"\nmodel = "m"\n')
    assert check_config(bad) == [f"{bad}:2: models.x.provider: unknown provider 'p' (known: none defined)"]
    write(env / "work" / "loco.toml", "[roles]\nx = 1\n")
    assert check_config(None) == [
        f"{env / 'work' / 'loco.toml'}:2: roles.x: input should be a model id or an array "
        "of model ids (got integer 1)"
    ]


def test_data_dir_respects_loco_home(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert data_dir() == env / "home"
    assert (env / "home").is_dir()  # created on demand
    monkeypatch.delenv("LOCO_HOME")
    assert data_dir() == env / "xdg-data" / "loco"
    assert (env / "xdg-data" / "loco").is_dir()


def test_load_configured_applies_this_registrys_overrides(env: Path) -> None:
    config = write(env / "work" / "loco.toml")
    save_role_override(data_dir(), "coder", ["smol"], config)
    save_role_override(data_dir(), "judge", ["ghost", "smol"], config)
    save_role_override(data_dir(), "coder", ["qwen-coder"], None)  # the built-in's scope
    loaded = load_configured()
    assert loaded.path == config
    assert loaded.registry.roles["coder"] == ["smol"]
    assert loaded.registry.roles["judge"] == ["smol"]
    assert loaded.overrides_applied == {"coder": ["smol"], "judge": ["smol"]}
    assert loaded.warnings == ["role override 'judge': dropped 'ghost' (not in the registry)"]
    # Overrides can be skipped (e.g. `loco check`, `loco models --raw`).
    assert load_configured(overrides=False).registry.roles["coder"] == ["qwen-coder", "smol"]
    # The built-in registry has its own scope; 'qwen-coder' is not one of its models.
    config.unlink()
    builtin = load_configured()
    assert builtin.path is None and builtin.registry.roles["coder"] == ["smol"]
    assert builtin.overrides_applied == {}
    assert builtin.warnings == ["role override 'coder' dropped: 'qwen-coder' not in the registry"]


def test_load_configured_raises_on_a_broken_registry(env: Path) -> None:
    write(env / "work" / "loco.toml", "[roles\n")
    with pytest.raises(RegistryError) as err:
        load_configured()
    assert err.value.issues[0].line == 1
