"""Shared fixtures: fake model servers on loopback, registries pointing at them, a fresh
store per test, and a test environment that never reads the developer's own config or data."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from loco_tui.store import Store
from loco_tui.testing.fake_ollama import FakeOllama
from loco_tui.testing.fake_openai import FakeOpenAI
from loco_tui.testing.script import Script


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads ~/.config/loco, writes to the real data dir, or sees a real Ollama."""
    home = tmp_path_factory.mktemp("loco-home")
    monkeypatch.setenv("LOCO_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.delenv("LOCO_CONFIG", raising=False)
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    # No test may pick up a model server that happens to run on this machine.
    monkeypatch.setenv("LOCO_NO_AUTODETECT", "1")


@pytest.fixture
def ollama_server() -> Iterator[Callable[[Script], FakeOllama]]:
    """Start a FakeOllama for a script; every server started is stopped after the test."""
    servers: list[FakeOllama] = []

    def start(script: Script, **kw: object) -> FakeOllama:
        server = FakeOllama(script, **kw).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def openai_server() -> Iterator[Callable[..., FakeOpenAI]]:
    """Start a FakeOpenAI for a script; every server started is stopped after the test."""
    servers: list[FakeOpenAI] = []

    def start(script: Script, **kw: Any) -> FakeOpenAI:
        server = FakeOpenAI(script, **kw).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh database file per test."""
    return tmp_path / "loco.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    """The store on ``db_path``, opened for the test and closed after it."""
    opened = await Store.open(db_path)
    yield opened
    await opened.aclose()
