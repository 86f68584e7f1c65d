"""Write SVG screenshots of the real workbench to screenshots/ (`make screenshots`).

Each picture is the real app, headless, driven like a user against the project's fake Ollama
server (real HTTP on loopback) playing scripted, prompt-dependent replies: idle, mid-stream
with Markdown, after the verdict, the parse trace, the history screen, and 80x24. The
README shows them. Model output is scripted, so the pictures change only when the app does.

Run: .venv/bin/python scripts/screenshots.py [--out DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REGISTRY = """
[providers.local]
kind = "ollama"
host = "{url}"

[models.qwen-coder]
provider = "local"
model = "qwen2.5-coder:7b"
size = "M"
strengths = ["code"]
[models.llama]
provider = "local"
model = "llama3.2:3b"
size = "S"
[models.mistral]
provider = "local"
model = "mistral:7b"
size = "M"
[models.hermes]
provider = "local"
model = "hermes3:8b"
size = "M"

[roles]
coder = ["qwen-coder", "llama"]
reviewer = ["mistral"]
judge = ["hermes"]

[personas.skeptic]
system = "You look for what could go wrong."

[ensembles.default]
members = [{ model = "qwen-coder" }, { model = "mistral", persona = "skeptic" },
           { model = "llama" }]
judge = "judge"
verdict = "pick"

[routing]
default_role = "coder"
"""

PROMPT = "My log parser is slow on 2 GB files: how do I speed it up?"


async def shoot(out: Path) -> list[Path]:
    from loco_tui.app import LocoApp, UiSettings
    from loco_tui.registry import LoadedRegistry, load_registry_text
    from loco_tui.screens.history import HistoryScreen
    from loco_tui.testing.fake_ollama import FakeOllama, demo_script

    written: list[Path] = []
    settings = UiSettings(show_rates=True, watch_config=False, health_interval_s=3600, seed=4,
                          remember_preferences=False)
    with FakeOllama(demo_script(delay=0.04)) as server:
        registry = load_registry_text(REGISTRY.replace("{url}", server.url), "loco.toml")

        def app() -> LocoApp:
            return LocoApp(LoadedRegistry(registry, Path("loco.toml")), settings=settings)

        async def ready(loco: LocoApp, pilot) -> None:
            loco.prompt.cursor_blink = False
            while loco.controller is None or not loco.controller.pool.health:
                await pilot.pause(0.05)
            loco._refresh_sidebar()
            await pilot.pause(0.2)

        async def send(loco: LocoApp, pilot, text: str) -> None:
            loco.prompt.text = text
            await pilot.press("enter")

        async def idle(loco: LocoApp, pilot) -> None:
            while loco.running:
                await pilot.pause(0.1)
            await pilot.pause(0.4)

        def save(loco: LocoApp, name: str) -> None:
            path = out / f"{name}.svg"
            path.write_text(loco.export_screenshot(title=f"Loco — {name.replace('-', ' ')}"))
            written.append(path)

        loco = app()
        async with loco.run_test(size=(160, 48)) as pilot:
            await ready(loco, pilot)
            save(loco, "idle")
            await send(loco, pilot, PROMPT)
            await pilot.pause(1.6)
            save(loco, "mid-stream")
            await idle(loco, pilot)
            save(loco, "verdict")
            await pilot.press("ctrl+o")
            await pilot.pause(0.3)
            save(loco, "parse-trace")
            await pilot.press("escape")
            await send(loco, pilot, "Now make it shorter, with the code only.")
            await idle(loco, pilot)
            save(loco, "follow-up")
            loco.push_screen(HistoryScreen(loco.store))
            await pilot.pause(0.5)
            save(loco, "history")

        small = app()
        async with small.run_test(size=(80, 24)) as pilot:
            await ready(small, pilot)
            await send(small, pilot, PROMPT)
            await idle(small, pilot)
            save(small, "80x24")
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        # A history of its own: screenshots never read or write the user's.
        os.environ["LOCO_HOME"] = home
        os.environ["XDG_CONFIG_HOME"] = str(Path(home) / "config")
        for path in asyncio.run(shoot(args.out)):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
