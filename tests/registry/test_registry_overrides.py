"""Live role switches: written to the data dir with tomli-w, never into the user's file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from loco_tui.registry import (
    apply_overrides,
    clear_overrides,
    clear_role_override,
    default_registry,
    load_configured,
    load_overrides,
    load_registry,
    overrides_path,
    resolve_overrides,
    save_role_override,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "loco.toml"


def test_round_trip(tmp_path: Path) -> None:
    config = tmp_path / "loco.toml"
    assert load_overrides(tmp_path, config) == {}
    save_role_override(tmp_path, "coder", ["smol", "qwen-coder"], config)
    save_role_override(tmp_path, "judge", "smol", config)
    assert load_overrides(tmp_path, config) == {"coder": ["smol", "qwen-coder"], "judge": ["smol"]}
    assert load_overrides(tmp_path, None) == {}  # scoped by registry file
    assert load_overrides(tmp_path, tmp_path / "other.toml") == {}
    # The same file reached through another spelling of its path is the same scope.
    assert load_overrides(tmp_path, tmp_path / "." / "loco.toml")["judge"] == ["smol"]

    assert clear_role_override(tmp_path, "coder", config) is True
    assert clear_role_override(tmp_path, "coder", config) is False
    assert load_overrides(tmp_path, config) == {"judge": ["smol"]}
    assert clear_overrides(tmp_path, config) is True
    assert load_overrides(tmp_path, config) == {}
    assert clear_overrides(tmp_path, config) is False
    text = overrides_path(tmp_path).read_text()
    assert text.startswith("# Live role switches")
    tomllib.loads(text)


def test_save_rejects_nonsense(tmp_path: Path) -> None:
    for role, chain in [("", ["a"]), ("coder", []), ("coder", [""]), ("coder", [3])]:
        with pytest.raises(ValueError):
            save_role_override(tmp_path, role, chain)  # type: ignore[arg-type]


def test_user_registry_is_untouched_by_a_role_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("LOCO_HOME", str(home))
    config = tmp_path / "loco.toml"
    config.write_bytes(SAMPLE.read_bytes())
    before = config.read_bytes()
    assert b"# keys come from the environment" in before

    loaded = load_configured(config)
    assert loaded.registry.roles["coder"] == ["qwen-coder", "smol"]
    save_role_override(home, "coder", ["smol"], loaded.path)

    assert config.read_bytes() == before  # byte-identical: comments survive
    again = load_configured(config)
    assert again.registry.roles["coder"] == ["smol"]
    assert again.overrides_applied == {"coder": ["smol"]}
    assert overrides_path(home).exists()


def test_broken_overrides_file_is_ignored_with_a_warning(tmp_path: Path) -> None:
    path = overrides_path(tmp_path)
    path.write_text("[registries\n")
    found = load_overrides(tmp_path, None)
    assert found == {}
    assert len(found.warnings) == 1 and "ignored the role overrides file" in found.warnings[0]

    path.write_text('registries = "x"\n')
    assert load_overrides(tmp_path, None).warnings

    # Malformed entries are skipped one by one.
    path.write_text('[registries."<built-in>".roles]\ncoder = ["smol"]\njudge = 3\nx = []\n')
    found = load_overrides(tmp_path, None)
    assert found == {"coder": ["smol"]}
    assert len(found.warnings) == 2

    # Saving over a broken file keeps the broken one aside and starts fresh.
    path.write_text("[registries\n")
    save_role_override(tmp_path, "coder", ["smol"])
    assert load_overrides(tmp_path, None) == {"coder": ["smol"]}
    assert (tmp_path / "overrides.toml.broken").read_text() == "[registries\n"


def test_load_configured_survives_a_broken_overrides_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCO_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    overrides_path(tmp_path).write_text("\x00 nonsense")
    loaded = load_configured()
    assert loaded.registry.roles["coder"] == ["smol"]
    assert loaded.warnings and "overrides" in loaded.warnings[0]


def test_apply_overrides_drops_what_no_longer_exists() -> None:
    reg = load_registry(SAMPLE)
    new, applied, dropped = resolve_overrides(
        reg,
        {"coder": ["gone", "smol"], "judge": ["gone"], "nope": ["smol"], "writer": ["smol"]},
    )
    assert applied == {"coder": ["smol"], "writer": ["smol"]}
    assert dropped == [
        "role override 'coder': dropped 'gone' (not in the registry)",
        "role override 'judge' dropped: 'gone' not in the registry",
        "role override 'nope' dropped: the registry has no such role",
    ]
    assert new.roles["coder"] == ["smol"] and new.roles["judge"] == ["qwen-coder"]
    assert new is not reg and reg.roles["coder"] == ["qwen-coder", "smol"]  # not mutated
    assert new.reference_errors() == []
    assert apply_overrides(reg, {"planner": ["smol"]}).roles["planner"] == ["smol"]
    assert apply_overrides(reg, {}) is reg


def test_apply_overrides_to_the_default_registry() -> None:
    reg = apply_overrides(default_registry(), {"judge": ["smol"]})
    assert reg.roles["judge"] == ["smol"]
    assert reg.ensembles["default"].judge == "judge"
