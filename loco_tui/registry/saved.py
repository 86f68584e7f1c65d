"""Ensembles saved from the model picker, in a file Loco owns beside the registry.

Loco never rewrites the user's registry. An ensemble picked in the UI and saved by name goes
to ``<registry stem>.ensembles.local.toml`` next to the registry file (``loco.toml`` ->
``loco.ensembles.local.toml``); a registry without a file (the built-in one, or one detected
from the servers that answered) keeps its saved ensembles in the data dir
(``builtin.ensembles.local.toml``, ``detected.ensembles.local.toml``). The file holds
``[ensembles.<name>]`` tables with the keys of the registry's own ensembles::

    # Ensembles saved in Loco's model picker. Machine-written; safe to delete.
    [ensembles.qwen-vs-llama]
    members = [{ provider = "local", model = "qwen2.5:7b" }, { model = "llama" }]
    judge = "judge"
    verdict = "pick"
    blind = true

Loading is forgiving: the file is merged into the registry entry by entry, each checked like
the registry's own (shape and references) and reported as ``file:line: message`` warnings
when it does not fit, never as a failure; a broken file is one warning. An ensemble of the
same name in the user's registry wins (with a warning).
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import Field, ValidationError

from loco_tui.files import write_atomic
from loco_tui.registry.load import _describe_validation
from loco_tui.registry.locate import index_keys
from loco_tui.registry.schema import (
    EnsembleConfig,
    EnsembleMemberConfig,
    Registry,
    _Strict,
)
from loco_tui.registry.toml_file import ConfigIssue, format_path

SUFFIX = ".ensembles.local.toml"
BUILTIN_FILE = "builtin" + SUFFIX
DETECTED_FILE = "detected" + SUFFIX
_HEADER = (
    "# Ensembles saved in Loco's model picker (see loco_tui/registry/saved.py).\n"
    "# Machine-written: edits here are kept, comments are not. Safe to delete.\n\n"
)

MemberLike = EnsembleMemberConfig | Mapping[str, str]


class _SavedFile(_Strict):
    ensembles: dict[str, EnsembleConfig] = Field(default_factory=dict)


def saved_path(scope: Path | str | None, data: Path | None = None) -> Path:
    """Where the ensembles saved for a registry live: beside its file, or in the data dir
    for the built-in (``scope`` None) and auto-detected (a ``<...>`` label) registries."""
    if isinstance(scope, Path) or (isinstance(scope, str) and not scope.startswith("<")):
        path = Path(scope)
        return path.with_name(path.stem + SUFFIX)
    if data is None:
        from loco_tui.registry.discover import data_dir

        data = data_dir()
    return Path(data) / (BUILTIN_FILE if scope is None else DETECTED_FILE)


def picked_ensemble(
    members: Sequence[MemberLike],
    judge: str | None = "judge",
    *,
    verdict: Literal["pick", "synthesize", "pick_or_synthesize"] = "pick",
    debias: bool = False,
    blind: bool = False,
) -> EnsembleConfig:
    """An ensemble built from the model picker's choice, to run once
    (``RunRequest(prompt, ensemble_config=...)``) or save by name. A member is a registry
    model id (``{"model": "qwen"}``) or a model of a provider (``{"provider": "local",
    "model": "qwen2.5:7b"}``); ``judge`` is a role (None: no judge)."""
    return EnsembleConfig(
        members=[m if isinstance(m, EnsembleMemberConfig) else EnsembleMemberConfig(**m)
                 for m in members],
        judge=judge, verdict=verdict, debias=debias, blind=blind)


def save_ensemble(
    name: str,
    members: Sequence[MemberLike],
    judge: str | None = "judge",
    *,
    scope: Path | str | None,
    data: Path | None = None,
    registry: Registry | None = None,
    verdict: Literal["pick", "synthesize", "pick_or_synthesize"] = "pick",
    debias: bool = False,
    blind: bool = False,
) -> Path:
    """Save an ensemble under ``name`` in the file Loco owns for registry ``scope`` (the
    registry's path, its ``<auto-detected ...>`` label, or None for the built-in one),
    replacing a saved one of that name. With ``registry``, its references are checked and a
    name the registry itself defines is refused. Raises ValueError; returns the file."""
    if not name.strip():
        raise ValueError("a saved ensemble needs a name")
    ensemble = picked_ensemble(members, judge, verdict=verdict, debias=debias, blind=blind)
    path = saved_path(scope, data)
    document = _read_for_update(path)
    if registry is not None:
        # A saved ensemble may be saved again; one of the user's own may not be shadowed.
        if name in registry.ensembles and name not in document.get("ensembles", {}):
            raise ValueError(f"the registry itself defines an ensemble '{name}'")
        probe = registry.model_copy(update={"ensembles": {name: ensemble}})
        problems = [m for loc, m in probe.reference_errors() if loc[:1] == ("ensembles",)]
        if problems:
            raise ValueError("; ".join(problems))
    document.setdefault("ensembles", {})[name] = ensemble.model_dump(
        mode="json", exclude_defaults=True, exclude_none=True)
    # `judge = false` is how TOML says "no judge" (it has no null).
    if judge is None:
        document["ensembles"][name]["judge"] = False
    _write(path, document)
    return path


def delete_saved_ensemble(name: str, *, scope: Path | str | None,
                          data: Path | None = None) -> bool:
    """Remove a saved ensemble; True when there was one."""
    path = saved_path(scope, data)
    if not path.exists():
        return False
    document = _read_for_update(path)
    if document.get("ensembles", {}).pop(name, None) is None:
        return False
    _write(path, document)
    return True


def merge_saved(registry: Registry, path: Path) -> tuple[Registry, list[str]]:
    """``registry`` with the valid ensembles of the saved file at ``path`` added, and a
    ``file:line: message`` warning for everything left out (see module docs)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        return registry, []
    except (OSError, UnicodeDecodeError) as exc:
        return registry, [f"{path}: ignored the saved ensembles ({exc})"]
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return registry, [f"{path}: ignored the saved ensembles (TOML: {exc})"]
    except RecursionError:
        return registry, [f"{path}: ignored the saved ensembles (too deeply nested)"]
    index = index_keys(text)
    warnings: list[str] = []

    def warn(loc: tuple[str | int, ...], message: str) -> None:
        warnings.append(str(ConfigIssue(str(path), index.line_of(loc), None, message)))

    for key in document:
        if key != "ensembles":
            warn((key,), f"unknown key '{key}' (a saved-ensembles file holds [ensembles])")
    entries = document.get("ensembles", {})
    if not isinstance(entries, dict):
        warn(("ensembles",), "ensembles: input should be a table")
        return registry, warnings
    saved: dict[str, EnsembleConfig] = {}
    for name, entry in entries.items():
        data = {"ensembles": {name: entry}}
        try:
            ensemble = _SavedFile.model_validate(data).ensembles[name]
        except ValidationError as exc:
            for loc, message in _describe_validation(exc, data):
                warn(loc, f"{message} (saved ensemble left out)")
            continue
        probe = registry.model_copy(update={"ensembles": {name: ensemble}})
        problems = [(loc, m) for loc, m in probe.reference_errors()
                    if loc[:1] == ("ensembles",)]
        if problems:
            for loc, message in problems:
                warn(loc, f"{format_path(loc)}: {message} (saved ensemble left out)")
            continue
        if name in registry.ensembles:
            warn(("ensembles", name), f"ensembles.{name}: the registry defines an ensemble of "
                 "this name; it wins over the saved one")
            continue
        saved[name] = ensemble
    if not saved:
        return registry, warnings
    return registry.model_copy(update={"ensembles": {**registry.ensembles, **saved}}), warnings


# -- file handling -------------------------------------------------------------------------
def _read_for_update(path: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        # Keep the broken file for inspection instead of silently overwriting it.
        with contextlib.suppress(OSError):
            os.replace(path, path.with_name(path.name + ".broken"))
        return {}
    if not isinstance(document.get("ensembles", {}), dict):
        document["ensembles"] = {}
    return document


def _write(path: Path, document: dict[str, Any]) -> None:
    # Atomic: the hot-reload watcher never reads half a file.
    write_atomic(path, _HEADER + tomli_w.dumps(document))
