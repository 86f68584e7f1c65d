"""Live role switches, kept in ``<data dir>/overrides.toml`` (never in the user's registry).

The user's hand-written registry is read-only to Loco: switching the model of a role in the
UI writes this machine-owned file instead (with tomli-w), so the registry's comments and
layout survive. Overrides are **scoped by what the registry was built from**: a switch made
while using ``~/proj/loco.toml`` applies only when that same file (by absolute, resolved
path) is in use; a registry detected from the servers that answered has the scope of those
servers (``<auto-detected: ollama at ...>``); the built-in default registry has its own,
``<built-in>``. Switching registries therefore never applies stale switches to an unrelated
registry (a judge switched while servers answered must not become the built-in judge)::

    # Live role switches made in Loco, per registry file. Machine-written; safe to delete.
    [registries."/home/me/proj/loco.toml".roles]
    coder = ["smol", "qwen-coder"]

    [registries."<built-in>".roles]
    judge = ["smol-judge"]

Reading is forgiving: a broken overrides file, or a malformed entry in it, is ignored and
reported through ``Overrides.warnings`` (never an exception). Applying is forgiving too:
model ids the registry no longer has are dropped from a chain (a chain left empty, or a
role the registry no longer has, drops the whole override), and each drop is reported.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tomli_w

from loco_tui.files import write_atomic
from loco_tui.registry.schema import Registry

log = logging.getLogger(__name__)

OVERRIDES_NAME = "overrides.toml"
BUILTIN_SCOPE = "<built-in>"
_HEADER = (
    "# Live role switches made in Loco, per registry file (see loco_tui/registry/overrides.py).\n"
    "# Machine-written: edits here are kept, comments are not. Safe to delete.\n\n"
)


class Overrides(dict[str, list[str]]):
    """role -> model chain, plus ``warnings`` about anything that was ignored."""

    def __init__(self, *args: Any, warnings: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.warnings: list[str] = list(warnings)


def overrides_path(data_dir: Path) -> Path:
    return Path(data_dir) / OVERRIDES_NAME


Scope = Path | str | None


def scope_key(config: Scope) -> str:
    """The scope of a registry: its file's absolute resolved path, the label of a registry
    without a file (``<auto-detected: ...>``, any ``<...>`` string), or ``<built-in>``."""
    if config is None:
        return BUILTIN_SCOPE
    if isinstance(config, str) and config.startswith("<"):
        return config
    return str(Path(config).expanduser().resolve())


def load_overrides(data_dir: Path, config: Scope = None) -> Overrides:
    """The role overrides for registry ``config`` (None: the built-in default)."""
    path = overrides_path(data_dir)
    document, problem = _read(path)
    if problem:
        log.warning(problem)
        return Overrides(warnings=[problem])
    scope = document.get("registries", {}).get(scope_key(config))
    if scope is None:
        return Overrides()
    out = Overrides()
    roles = scope.get("roles", {}) if isinstance(scope, dict) else None
    if not isinstance(roles, dict):
        out.warnings.append(f"{path}: ignored the overrides of {scope_key(config)} (not a table)")
        return out
    for role, chain in roles.items():
        if isinstance(chain, str):
            chain = [chain]
        if isinstance(chain, list) and chain and all(isinstance(m, str) and m for m in chain):
            out[role] = list(chain)
        else:
            out.warnings.append(
                f"{path}: ignored the override of role '{role}' (not a list of model ids)"
            )
    for warning in out.warnings:
        log.warning(warning)
    return out


def save_role_override(
    data_dir: Path, role: str, chain: str | Sequence[str], config: Scope = None
) -> Path:
    """Make ``role`` use ``chain`` (model ids, tried in order) for registry ``config``."""
    models = [chain] if isinstance(chain, str) else list(chain)
    if not role or not models or not all(isinstance(m, str) and m for m in models):
        raise ValueError("a role override needs a role and at least one model id")
    document = _read_for_update(data_dir)
    scope = document.setdefault("registries", {}).setdefault(scope_key(config), {})
    scope.setdefault("roles", {})[role] = models
    return _write(data_dir, document)


def clear_role_override(data_dir: Path, role: str, config: Scope = None) -> bool:
    """Remove the override of ``role``; True when there was one."""
    if not overrides_path(data_dir).exists():
        return False
    document = _read_for_update(data_dir)
    key = scope_key(config)
    scope = document.get("registries", {}).get(key, {})
    roles = scope.get("roles", {})
    if role not in roles:
        return False
    del roles[role]
    if not roles:
        del document["registries"][key]
    _write(data_dir, document)
    return True


def clear_overrides(data_dir: Path, config: Scope = None) -> bool:
    """Remove every override of registry ``config``; True when there were some."""
    if not overrides_path(data_dir).exists():
        return False
    document = _read_for_update(data_dir)
    if document.get("registries", {}).pop(scope_key(config), None) is None:
        return False
    _write(data_dir, document)
    return True


def resolve_overrides(
    registry: Registry, overrides: Mapping[str, Sequence[str]]
) -> tuple[Registry, dict[str, list[str]], list[str]]:
    """Apply what still fits: (new registry, overrides applied, what was dropped and why)."""
    applied: dict[str, list[str]] = {}
    dropped: list[str] = []
    for role, chain in overrides.items():
        if role not in registry.roles:
            dropped.append(f"role override '{role}' dropped: the registry has no such role")
            continue
        kept = [m for m in chain if m in registry.models]
        gone = [m for m in chain if m not in registry.models]
        if gone:
            names = ", ".join(f"'{m}'" for m in gone)
            if kept:
                dropped.append(f"role override '{role}': dropped {names} (not in the registry)")
            else:
                dropped.append(
                    f"role override '{role}' dropped: {names} not in the registry"
                )
        if kept:
            applied[role] = kept
    if not applied:
        return registry, applied, dropped
    data = registry.model_dump(mode="python")
    data["roles"] = {**data["roles"], **applied}
    return Registry.model_validate(data), applied, dropped


def apply_overrides(registry: Registry, overrides: Mapping[str, Sequence[str]]) -> Registry:
    """A new validated registry with the role overrides that still fit applied."""
    return resolve_overrides(registry, overrides)[0]


# -- file handling -------------------------------------------------------------------------


def _read(path: Path) -> tuple[dict[str, Any], str | None]:
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, f"{path}: ignored the role overrides file ({exc})"
    except RecursionError:
        return {}, f"{path}: ignored the role overrides file (too deeply nested)"
    registries = document.get("registries", {})
    if not isinstance(registries, dict) or not all(
        isinstance(v, dict) for v in registries.values()
    ):
        return {}, f"{path}: ignored the role overrides file ([registries] is malformed)"
    return document, None


def _read_for_update(data_dir: Path) -> dict[str, Any]:
    path = overrides_path(data_dir)
    document, problem = _read(path)
    if problem:
        # Keep the broken file for inspection instead of silently overwriting it.
        backup = path.with_name(path.name + ".broken")
        try:
            os.replace(path, backup)
            log.warning("%s; moved it to %s", problem, backup)
        except OSError:
            pass
        return {}
    for scope in document.get("registries", {}).values():
        if not isinstance(scope.get("roles", {}), dict):
            scope["roles"] = {}
    return document


def _write(data_dir: Path, document: dict[str, Any]) -> Path:
    return write_atomic(overrides_path(data_dir), _HEADER + tomli_w.dumps(document))
