"""Hot reload for real (watchfiles on a tmp dir), and the keep-last-good holder."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from loco_tui.registry import (
    Registry,
    RegistryError,
    RegistryHolder,
    save_role_override,
    watch_registry,
)

GOOD = '[providers.p]\nkind = "embedded"\n[models.a]\nprovider = "p"\nmodel = "smollm2"\n[roles]\ncoder = "a"\n'
GOOD2 = GOOD + '[models.b]\nprovider = "p"\nmodel = "other"\n'
BROKEN = GOOD + "oops =\n"
TIMEOUT = 5.0


async def start(agen: AsyncIterator[Any]) -> asyncio.Task:
    """Ask for the next item and give the watcher time to be in place before we write."""
    task = asyncio.ensure_future(agen.__anext__())
    await asyncio.sleep(0.2)
    assert not task.done()
    return task


async def result(task: asyncio.Task) -> Any:
    return await asyncio.wait_for(task, TIMEOUT)


async def test_watch_registry_reloads_and_reports_errors(tmp_path: Path) -> None:
    path = tmp_path / "loco.toml"
    path.write_text(GOOD)
    agen = watch_registry(path, debounce_ms=50)
    try:
        task = await start(agen)
        path.write_text(GOOD2)
        reg = await result(task)
        assert isinstance(reg, Registry) and set(reg.models) == {"a", "b"}

        task = await start(agen)
        path.write_text(BROKEN)
        err = await result(task)
        assert isinstance(err, RegistryError)
        assert str(err) == f"{path}:8:7: TOML syntax error: invalid value"

        # Editors save by writing a temporary file and renaming it over the original.
        task = await start(agen)
        tmp = tmp_path / ".loco.toml.swp-new"
        tmp.write_text(GOOD)
        os.replace(tmp, path)
        reg = await result(task)
        assert isinstance(reg, Registry) and set(reg.models) == {"a"}
    finally:
        await agen.aclose()


async def test_watch_ignores_other_files_and_unchanged_saves(tmp_path: Path) -> None:
    path = tmp_path / "loco.toml"
    path.write_text(GOOD)
    agen = watch_registry(path, debounce_ms=50)
    try:
        task = await start(agen)
        (tmp_path / "other.toml").write_text("garbage [")
        path.write_text(GOOD)  # same bytes: nothing to reload
        await asyncio.sleep(0.4)
        assert not task.done()
        path.write_text(GOOD2)
        reg = await result(task)
        assert isinstance(reg, Registry) and "b" in reg.models
    finally:
        await agen.aclose()


async def test_watch_stops_on_stop_event(tmp_path: Path) -> None:
    path = tmp_path / "loco.toml"
    path.write_text(GOOD)
    stop = asyncio.Event()
    seen: list[Any] = []

    async def consume() -> None:
        async for item in watch_registry(path, debounce_ms=50, stop_event=stop):
            seen.append(item)

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, TIMEOUT)
    assert seen == []


async def test_holder_watch_keeps_the_last_good_registry(tmp_path: Path) -> None:
    path = tmp_path / "loco.toml"
    path.write_text(GOOD)
    holder = RegistryHolder(path)
    first = holder.current
    assert holder.version == 0 and holder.last_error is None
    agen = holder.watch(debounce_ms=50)
    try:
        task = await start(agen)
        path.write_text(BROKEN)
        assert await result(task) is False
        assert holder.current is first  # the last good registry stays in effect
        assert holder.last_error is not None and holder.last_error.issues[0].line == 8

        task = await start(agen)
        path.write_text(GOOD2)
        assert await result(task) is True
        assert "b" in holder.current.models and holder.last_error is None
        assert holder.version == 1
    finally:
        await agen.aclose()


def test_holder_reload_without_a_watcher(tmp_path: Path) -> None:
    path = tmp_path / "loco.toml"
    path.write_text(GOOD)
    holder = RegistryHolder(path)
    path.write_text(BROKEN)
    assert holder.reload() is False
    assert set(holder.current.models) == {"a"} and holder.last_error is not None
    path.unlink()
    assert holder.reload() is False
    assert "file not found" in str(holder.last_error)
    path.write_text(GOOD2)
    assert holder.reload() is True
    assert set(holder.current.models) == {"a", "b"} and holder.last_error is None

    # offer() takes watcher output directly.
    assert holder.offer(RegistryError([])) is False and holder.last_error is not None
    assert holder.offer(holder.current) is True and holder.version == 2


def test_holder_initial_load_errors_propagate(tmp_path: Path) -> None:
    path = tmp_path / "loco.toml"
    path.write_text(BROKEN)
    with pytest.raises(RegistryError):
        RegistryHolder(path)
    fallback = RegistryHolder(None)  # the built-in default
    holder = RegistryHolder(path, initial=fallback.current)
    assert holder.current is fallback.current and holder.reload() is False


def test_holder_applies_overrides_on_every_load(tmp_path: Path) -> None:
    path = tmp_path / "loco.toml"
    path.write_text(GOOD2)
    data = tmp_path / "data"
    holder = RegistryHolder(path, data=data)
    assert holder.current.roles["coder"] == ["a"]
    save_role_override(data, "coder", ["b", "gone"], path)
    assert holder.reload() is True
    assert holder.current.roles["coder"] == ["b"]
    assert holder.warnings == ["role override 'coder': dropped 'gone' (not in the registry)"]
