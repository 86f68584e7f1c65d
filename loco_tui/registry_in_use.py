"""The registry a command uses, found the same way by every command: ``--config``, then
``$LOCO_CONFIG``, ``./loco.toml``, the user config dir; with no file anywhere, the model
servers answering on this machine's usual addresses; with none of those, the built-in
registry (the embedded model). Role switches made for that registry apply on top."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from loco_tui.safe_text import neutralise_line

if TYPE_CHECKING:
    from loco_tui.registry import LoadedRegistry

CONFIG_HELP = "Registry file (default: $LOCO_CONFIG, ./loco.toml, the user config dir, built-in)."


def registry_in_use(config: Path | None, *, autodetect: bool = True) -> LoadedRegistry:
    """The registry in effect; a broken file is its ``file:line`` problems on stderr and
    exit status 1."""
    from loco_tui.registry import RegistryError, load_configured

    try:
        loaded = load_configured(config, overrides=False)
    except RegistryError as exc:
        # Issues echo the file's own text back (a key, a value): never raw to a terminal.
        for issue in exc.issues:
            click.echo(neutralise_line(str(issue)), err=True)
        sys.exit(1)
    if loaded.path is None and autodetect and not os.environ.get("LOCO_NO_AUTODETECT"):
        from loco_tui.inventory import autodetected_registry
        from loco_tui.registry import LoadedRegistry

        detected = autodetected_registry()
        if detected is not None:
            registry, label = detected
            loaded = LoadedRegistry(registry, None, label=label, base=registry)
    # Role switches apply only to the registry they were made on (its file, the detected
    # servers, or the built-in registry): see registry/overrides.py.
    return loaded.with_overrides()
