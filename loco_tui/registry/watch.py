"""Hot reload: watch the registry file, re-load on change, keep the last good registry.

``watch_registry`` watches the file's *directory* (editors save by writing a temporary file
and renaming it over the original, which a watch on the file itself would lose), keeps only
changes to that file name and to the saved-ensembles file Loco keeps beside it
(``saved.py``), and after each debounced batch whose bytes differ from the last seen,
yields the freshly loaded ``Registry`` or the ``RegistryError`` explaining why it could not
be loaded. It never raises for a broken file: the caller keeps its last good registry and
shows the error. The registry yielded is the user's file alone; merging the saved
ensembles (and role overrides) is ``LoadedRegistry.with_overrides``.

``RegistryHolder`` is that keep-last-good logic as a small object (no watcher needed), so
the UI, the controller and tests share it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import watchfiles

from loco_tui.registry.discover import data_dir as default_data_dir
from loco_tui.registry.discover import load_path
from loco_tui.registry.load import RegistryError, load_registry
from loco_tui.registry.overrides import load_overrides, resolve_overrides
from loco_tui.registry.saved import merge_saved, saved_path
from loco_tui.registry.schema import Registry
from loco_tui.registry.toml_file import ConfigIssue


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


async def _file_changes(
    path: Path, *, debounce_ms: int, stop_event: asyncio.Event | None
) -> AsyncIterator[None]:
    """One item per debounced batch of changes that altered the bytes of the file or of its
    saved-ensembles file."""
    path = Path(path).absolute()
    saved = saved_path(path)
    targets = {path, saved}
    real = Path(os.path.realpath(path))
    targets.add(real)  # a symlinked registry: also watch where it really lives
    dirs = sorted({str(t.parent) for t in targets})
    names = {(os.path.normcase(str(t.parent)), t.name) for t in targets}

    def interesting(_change: watchfiles.Change, changed: str) -> bool:
        head, tail = os.path.split(changed)
        return (os.path.normcase(head), tail) in names

    def contents() -> tuple[bytes | None, bytes | None]:
        return _read(path), _read(saved)

    last = contents()
    async for _batch in watchfiles.awatch(
        *dirs,
        watch_filter=interesting,
        debounce=debounce_ms,
        step=min(50, max(debounce_ms, 1)),
        stop_event=stop_event,
        recursive=False,
    ):
        now = contents()
        if now == last and now[0] is not None:
            continue  # touched, or saved unchanged
        last = now
        yield None


async def watch_registry(
    path: Path, *, debounce_ms: int = 300, stop_event: asyncio.Event | None = None
) -> AsyncIterator[Registry | RegistryError]:
    """Yield a new Registry, or the RegistryError, each time the file changes.

    Runs until cancelled (or ``stop_event`` is set). Yields nothing at start: the caller
    already has the registry it loaded.
    """
    async for _ in _file_changes(Path(path), debounce_ms=debounce_ms, stop_event=stop_event):
        try:
            yield load_registry(Path(path))
        except RegistryError as exc:
            yield exc
        except Exception as exc:  # noqa: BLE001 - a bad save must never end the watching
            yield RegistryError([ConfigIssue(str(path), None, None,
                                             f"could not be loaded: {type(exc).__name__}")])


class RegistryHolder:
    """The registry in effect and the last error; a failed reload keeps the last good one.

    ``path`` None means the built-in default. With ``data`` (a data dir), the role overrides
    of this registry are applied on every load. Without ``initial`` the registry is loaded
    now and a RegistryError propagates (there is no last good registry to keep yet).
    """

    def __init__(
        self,
        path: Path | None,
        *,
        initial: Registry | None = None,
        data: Path | None = None,
        apply_overrides: bool = False,
    ) -> None:
        self.path = None if path is None else Path(path)
        self.data = data
        self.apply_overrides = apply_overrides or data is not None
        self.last_error: RegistryError | None = None
        self.warnings: list[str] = []
        self.version = 0  # bumped whenever ``current`` is replaced
        self.current: Registry = initial if initial is not None else self._load()

    def _load(self) -> Registry:
        registry = load_path(self.path)
        self.warnings = []
        if self.apply_overrides:
            registry, saved_warnings = merge_saved(
                registry, saved_path(self.path, self.data or default_data_dir()))
            self.warnings.extend(saved_warnings)
            found = load_overrides(self.data or default_data_dir(), self.path)
            self.warnings.extend(found.warnings)
            if found:
                registry, _applied, dropped = resolve_overrides(registry, found)
                self.warnings.extend(dropped)
        return registry

    def reload(self) -> bool:
        """Load again; True if ``current`` was replaced, False if it failed (see last_error)."""
        try:
            registry = self._load()
        except RegistryError as exc:
            self.last_error = exc
            return False
        return self.offer(registry)

    def offer(self, result: Registry | RegistryError) -> bool:
        """Take a watcher result: a registry replaces ``current``, an error is remembered."""
        if isinstance(result, RegistryError):
            self.last_error = result
            return False
        self.current = result
        self.last_error = None
        self.version += 1
        return True

    async def watch(
        self, *, debounce_ms: int = 300, stop_event: asyncio.Event | None = None
    ) -> AsyncIterator[bool]:
        """Reload on every change of the file; yields what ``reload()`` returned."""
        if self.path is None:
            return  # the built-in default never changes
        async for _ in _file_changes(self.path, debounce_ms=debounce_ms, stop_event=stop_event):
            yield self.reload()
