"""Test support shared by the suites: scripted models, registries pointing at the fake
servers, and `loco` run as a user runs it (a subprocess, on a pipe or a pseudo-terminal)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from loco_tui.registry import Registry, load_registry_text
from loco_tui.testing.script import Reply, Script

REPO = Path(__file__).resolve().parent.parent

ENSEMBLE = """
[models.alpha]
provider = "local"
model = "alpha:7b"
[models.beta]
provider = "local"
model = "beta:3b"
[models.gamma]
provider = "local"
model = "gamma:1b"
[models.arbiter]
provider = "local"
model = "arbiter:14b"
[personas.skeptic]
system = "You look for what could go wrong."
[roles]
coder = ["alpha", "beta"]
judge = "arbiter"
[ensembles.trio]
members = [{ model = "alpha", persona = "skeptic" }, { model = "beta" }, { model = "gamma" }]
judge = "judge"
"""

# A role of two models: the second is the first's fallback.
FALLBACK_ROLE = """
[models.first]
provider = "local"
model = "first:7b"
[models.second]
provider = "local"
model = "second:1b"
[roles]
coder = ["first", "second"]
"""


def registry_for(url: str, body: str) -> Registry:
    """A registry whose provider `local` is the fake Ollama at ``url``; ``body`` adds the rest."""
    return load_registry_text(provider_toml(url) + body, "test.toml")


def provider_toml(url: str) -> str:
    return (f'[providers.local]\nkind = "ollama"\nhost = "{url}"\n'
            '[providers.local.timeouts]\nconnect_s = 2\nfirst_token_s = 5\nidle_s = 2\n')


def verdict_json(label: str) -> str:
    return (
        "All three are reasonable; B explains the trade-off best.\n"
        f'{{"winner": "{label}", "mode": "pick", "confidence": 0.8, "reason": "clearest"}}'
    )


def trio_script(**overrides: Reply) -> Script:
    script = Script()
    default = {
        "alpha": Reply.text("Alpha says use a set.", piece_delay_s=0.01),
        "beta": Reply.text("Beta says sort first then scan.", piece_delay_s=0.01),
        "gamma": Reply.text("Gamma says a dict keeps order.", piece_delay_s=0.01),
        "arbiter": Reply.text(verdict_json("B")),
    }
    sizes = {"alpha": "7.6B", "beta": "3.2B", "gamma": "1.2B", "arbiter": "14.8B"}
    tags = {"alpha": "alpha:7b", "beta": "beta:3b", "gamma": "gamma:1b", "arbiter": "arbiter:14b"}
    for name, tag in tags.items():
        script.add(tag, overrides.get(name, default[name]), parameter_size=sizes[name])
    return script


def write_config(tmp_path: Path, url: str, body: str = ENSEMBLE) -> Path:
    path = tmp_path / "loco.toml"
    path.write_text(provider_toml(url) + body)
    return path


def loco_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LOCO_CONFIG", "OLLAMA_HOST")}
    env.update(extra)
    return env


def loco(*args: str, cwd: Path | None = None, timeout: float = 60,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`loco ARGS` in a subprocess, stdout and stderr captured on pipes."""
    return subprocess.run(
        [sys.executable, "-m", "loco_tui", *args], capture_output=True, text=True,
        timeout=timeout, cwd=cwd, env=env or loco_env(),
    )


class Terminal:
    """`loco ARGS` (or ``python -m MODULE ARGS``) on a pseudo-terminal, as a person's
    terminal runs it: everything the process writes is kept as raw bytes, to check what
    would reach the terminal."""

    def __init__(self, *args: str, cols: int = 120, rows: int = 40,
                 env: dict[str, str] | None = None, cwd: Path | None = None,
                 module: str = "loco_tui") -> None:
        import fcntl
        import struct
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = {**(env or loco_env())}
        full_env.setdefault("TERM", "xterm-256color")
        full_env["COLUMNS"], full_env["LINES"] = str(cols), str(rows)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args], stdin=slave, stdout=slave,
            stderr=slave, env=full_env, cwd=cwd, close_fds=True, start_new_session=True,
        )
        os.close(slave)
        self.output = bytearray()

    def read(self, seconds: float) -> bytes:
        """Read for ``seconds`` (or until the process has exited and the pty is drained)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the other side closed: the process is gone
                    break
                if not chunk:
                    break
                self.output += chunk
            elif self.proc.poll() is not None:
                break
        return bytes(self.output)

    def read_until(self, condition: Callable[[bytes], bool], timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not condition(bytes(self.output)):
            self.read(0.1)
        return bytes(self.output)

    def wait(self, timeout: float) -> int:
        """Read until the process exits; its exit code."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.read(0.1)
        self.read(0.2)  # what is left in the pty
        return self.proc.wait(max(deadline - time.monotonic(), 0.1))

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        os.close(self.master)
        return self.proc.returncode


# -- the workbench, driven by Pilot ---------------------------------------------------------

SIZE = (130, 40)


def quiet_settings(**changes: object) -> object:
    """Settings that keep the screen deterministic (no rates, no watcher, seeded judge)."""
    from dataclasses import replace

    from loco_tui.app import UiSettings

    base = UiSettings(show_rates=False, watch_config=False, health_interval_s=3600, seed=7)
    return replace(base, **changes)  # type: ignore[arg-type]


def make_app(url: str, body: str = ENSEMBLE, **settings: object) -> object:
    from loco_tui.app import LocoApp
    from loco_tui.registry import LoadedRegistry

    return LocoApp(LoadedRegistry(registry_for(url, body), path=Path("loco.toml")),
                   settings=quiet_settings(**settings))  # type: ignore[arg-type]


async def booted(app, pilot) -> None:
    """The controller starts after the first frame and the store right after: wait."""
    while app.controller is None or not app._history_ready.is_set():
        await pilot.pause(0.01)


async def settle(app, pilot, timeout: float = 10.0) -> None:
    """Wait until the run is over and every queued event is on screen."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await pilot.pause(0.05)
    while app.controller.active_runs and loop.time() < deadline:
        await pilot.pause(0.05)
    await pilot.pause(0.1)
    app._drain()
    await pilot.pause()


async def until(pilot, condition: Callable[[], bool], timeout: float = 8.0) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition() and loop.time() < deadline:
        await pilot.pause(0.05)
    assert condition()


async def type_prompt(pilot, text: str) -> None:
    """Type into the prompt editor and send it with Enter."""
    await pilot.click("#prompt")
    await pilot.press(*text)
    await pilot.press("enter")


async def ask(app, pilot, text: str) -> None:
    """Send ``text`` as a person would and wait until the run's answer is on screen."""
    await type_prompt(pilot, text)
    await settle(app, pilot)
