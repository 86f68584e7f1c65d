"""Which registry to use, where Loco's data lives, and the built-in default registry.

Config discovery, first match wins:

1. ``--config PATH`` (``explicit``): must exist;
2. ``$LOCO_CONFIG``: must exist;
3. ``./loco.toml`` in the current directory;
4. ``loco.toml`` in the user config dir (``platformdirs.user_config_dir("loco")``, e.g.
   ``~/.config/loco/loco.toml``);
5. nothing: the built-in default registry (``default.toml`` next to this module: the bundled
   embedded SmolLM2 model in every role).

A path given explicitly (1, 2) that does not exist is an error, never a silent fallback to
the next candidate: the user asked for that file.

Data (SQLite store, role overrides) lives in ``$LOCO_HOME`` if set, else in
``platformdirs.user_data_dir("loco")``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import platformdirs

from loco_tui.registry.load import RegistryError, load_registry, load_registry_text
from loco_tui.registry.schema import Registry
from loco_tui.registry.toml_file import ConfigIssue

CONFIG_NAME = "loco.toml"
BUILTIN_SOURCE = "<built-in default>"


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir("loco")) / CONFIG_NAME


def discover_config(explicit: Path | None = None) -> Path | None:
    """The registry file to load, or None for the built-in default (see module docs)."""
    if explicit is not None:
        return _must_exist(Path(explicit), "given with --config")
    env = os.environ.get("LOCO_CONFIG", "").strip()
    if env:
        return _must_exist(Path(env), "named by $LOCO_CONFIG")
    local = Path.cwd() / CONFIG_NAME
    if local.is_file():
        return local
    user = user_config_path()
    if user.is_file():
        return user
    return None


def _must_exist(path: Path, how: str) -> Path:
    path = path.expanduser()
    if not path.exists():
        raise RegistryError([ConfigIssue(str(path), None, None, f"config file not found ({how})")])
    if path.is_dir():
        raise RegistryError(
            [ConfigIssue(str(path), None, None, f"is a directory, not a TOML file ({how})")]
        )
    return path.absolute()


def data_dir() -> Path:
    """Where Loco keeps its data: ``$LOCO_HOME``, else the user data dir (created here)."""
    env = os.environ.get("LOCO_HOME", "").strip()
    path = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("loco"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_registry_text() -> str:
    return resources.files("loco_tui.registry").joinpath("default.toml").read_text("utf-8")


def default_registry() -> Registry:
    """The built-in registry used when no config file exists (validated like any other)."""
    return load_registry_text(default_registry_text(), source=BUILTIN_SOURCE)


def load_path(path: Path | None) -> Registry:
    """Load a registry file, or the built-in default for None."""
    return default_registry() if path is None else load_registry(path)


@dataclass
class LoadedRegistry:
    """The registry in effect: what was loaded, from where, and which overrides apply."""

    registry: Registry
    path: Path | None  # None: the built-in default
    overrides_applied: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # overrides dropped, broken file, ...
    label: str | None = None  # how a registry that has no file came to be (auto-detected)
    # The registry exactly as built from its source, before any role override.
    base: Registry | None = None

    @property
    def source(self) -> str:
        if self.label is not None:
            return self.label
        return BUILTIN_SOURCE if self.path is None else str(self.path)

    @property
    def scope(self) -> Path | str | None:
        """What role overrides are keyed by (see ``overrides.scope_key``)."""
        return self.path if self.path is not None else self.label

    @property
    def saved_path(self) -> Path:
        """The file Loco owns for this registry's saved ensembles (see ``saved.py``)."""
        from loco_tui.registry.saved import saved_path

        return saved_path(self.scope)

    def with_overrides(self, data: Path | None = None) -> LoadedRegistry:
        """This registry with what Loco keeps for its scope: the ensembles saved from the
        model picker merged in, then the role overrides applied. Saved ensembles and
        overrides that no longer fit are left out and said in ``warnings``."""
        from loco_tui.registry.overrides import load_overrides, resolve_overrides
        from loco_tui.registry.saved import merge_saved, saved_path

        base = self.base if self.base is not None else self.registry
        data = data if data is not None else data_dir()
        merged, saved_warnings = merge_saved(base, saved_path(self.scope, data))
        found = load_overrides(data, self.scope)
        loaded = LoadedRegistry(merged, self.path, label=self.label, base=base,
                                warnings=[*saved_warnings, *found.warnings])
        if found:
            loaded.registry, loaded.overrides_applied, dropped = resolve_overrides(merged, found)
            loaded.warnings.extend(dropped)
        return loaded


def load_configured(
    explicit: Path | None = None, *, data: Path | None = None, overrides: bool = True
) -> LoadedRegistry:
    """Discover, load and validate the registry, then apply this registry's role overrides.

    Raises RegistryError when the file is missing (explicit/$LOCO_CONFIG) or invalid.
    ``data`` defaults to ``data_dir()``; ``overrides=False`` skips the overrides file.
    """
    path = discover_config(explicit)
    registry = load_path(path)
    loaded = LoadedRegistry(registry=registry, path=path, base=registry)
    return loaded.with_overrides(data) if overrides else loaded


def check_config(path: Path | None) -> list[str]:
    """``loco check``: empty when the registry is valid, else ``file:line: message`` lines.

    ``path`` is the ``--config`` value; None runs the usual discovery (and checks the
    built-in default when nothing is found).
    """
    try:
        load_path(discover_config(path))
    except RegistryError as exc:
        return exc.lines()
    return []
