"""The TOML registry: schema, loading with ``file:line`` errors, discovery, overrides, reload.

Never imports textual (the registry is core). See ``config/loco.toml`` for every key.
"""

from __future__ import annotations

from loco_tui.registry.discover import (
    LoadedRegistry,
    check_config,
    data_dir,
    default_registry,
    discover_config,
    load_configured,
    user_config_path,
)
from loco_tui.registry.load import RegistryError, load_registry, load_registry_text
from loco_tui.registry.overrides import (
    Overrides,
    apply_overrides,
    clear_overrides,
    clear_role_override,
    load_overrides,
    overrides_path,
    resolve_overrides,
    save_role_override,
)
from loco_tui.registry.saved import (
    delete_saved_ensemble,
    merge_saved,
    picked_ensemble,
    save_ensemble,
    saved_path,
)
from loco_tui.registry.schema import Registry
from loco_tui.registry.toml_file import ConfigIssue

TYPE_CHECKING = False
if TYPE_CHECKING:
    from loco_tui.registry.watch import RegistryHolder, watch_registry


def __getattr__(name: str) -> object:
    # The watcher pulls in asyncio and watchfiles; only import them when asked for.
    if name in ("RegistryHolder", "watch_registry"):
        from loco_tui.registry import watch

        return getattr(watch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ConfigIssue",
    "LoadedRegistry",
    "Overrides",
    "Registry",
    "RegistryError",
    "RegistryHolder",
    "apply_overrides",
    "check_config",
    "clear_overrides",
    "clear_role_override",
    "data_dir",
    "default_registry",
    "delete_saved_ensemble",
    "discover_config",
    "load_configured",
    "load_overrides",
    "load_registry",
    "load_registry_text",
    "merge_saved",
    "overrides_path",
    "picked_ensemble",
    "resolve_overrides",
    "save_ensemble",
    "save_role_override",
    "saved_path",
    "user_config_path",
    "watch_registry",
]
