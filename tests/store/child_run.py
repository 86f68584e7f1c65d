"""A process that records one long streaming run and is killed mid-way by a test.

``python -m tests.store.child_run URL DB`` runs the coder role of a one-model registry at the
Ollama-compatible server URL with a Recorder on DB, wired as `loco run` will be: the recorder
subscribed to the controller, flushed at run end. Each delta is also printed as one JSON
line the moment it arrives, so the test knows what was streamed and when.
"""

from __future__ import annotations

import asyncio
import json
import sys

from loco_tui.controller import Controller
from loco_tui.events import Delta, Event
from loco_tui.orchestrator import RunRequest
from loco_tui.registry import load_registry_text
from loco_tui.store import Store

REGISTRY = """
[providers.local]
kind = "ollama"
host = "{url}"
[models.writer]
provider = "local"
model = "writer:7b"
[roles]
coder = "writer"
"""


def echo(event: Event) -> None:
    if isinstance(event, Delta):
        print(json.dumps({"run_id": event.run_id, "t": event.t, "text": event.text}),
              flush=True)


async def main(url: str, db: str) -> None:
    registry = load_registry_text(REGISTRY.format(url=url), "child.toml")
    store = await Store.open(db)
    controller = Controller(registry)
    recorder = store.recorder()
    controller.subscribe(recorder)
    controller.subscribe(echo)
    try:
        await controller.run(RunRequest("write a long essay", role="coder"))
        await recorder.flush()
    finally:
        await recorder.aclose()
        await controller.aclose()
        await store.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
