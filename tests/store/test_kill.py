"""A recording process killed with SIGKILL mid-stream leaves a database that opens, marks
the run interrupted at the next open, and holds what was streamed up to about a second
before the kill."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time

from loco_tui.store import Store
from loco_tui.testing.script import Reply, Script
from tests.common import REPO, loco_env, write_config

WRITER = """
[models.writer]
provider = "local"
model = "writer:7b"
[roles]
writer = ["writer"]
"""


def test_a_killed_recording_loses_at_most_the_last_second(ollama_server, tmp_path):
    pieces = tuple(f" word{i}" for i in range(3000))
    server = ollama_server(Script().add("writer:7b", Reply(pieces=pieces, piece_delay_s=0.01)))
    db_path = tmp_path / "loco.db"
    config = write_config(tmp_path, server.url, WRITER)
    child = subprocess.Popen(
        [sys.executable, "-m", "loco_tui", "run", "write on", "--role", "writer",
         "--config", str(config), "--json"],
        cwd=REPO, env=loco_env(LOCO_HOME=str(tmp_path)), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    arrived: list[tuple[float, str]] = []
    run_id = None
    try:
        assert child.stdout is not None
        first = None
        while True:
            line = child.stdout.readline()
            assert line, child.stderr.read() if child.stderr else "child ended early"
            now = time.monotonic()
            delta = json.loads(line)
            run_id = delta["run_id"]
            if delta["type"] != "delta":
                continue
            arrived.append((now, delta["text"]))
            first = first or now
            if now - first >= 2.5:
                break
        child.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        rest, _ = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    streamed = "".join(text for _, text in arrived) + "".join(
        event["text"] for event in map(json.loads, rest.splitlines())
        if event["type"] == "delta")
    due = "".join(text for at, text in arrived if at <= killed_at - 1.0)
    assert len(due) > 200  # a real stretch of text was at stake

    async def read_back() -> tuple[str, str, str | None, str | None, str]:
        async with await Store.open(db_path) as store:
            detail = await store.run(run_id)
            events = await store.events(run_id)
            (call,) = detail.calls
            on_disk = "".join(e.text for e in events if e.type == "delta")
            return detail.run.status, on_disk, call.outcome, call.text, events[0].type

    status, on_disk, outcome, call_text, first_type = asyncio.run(read_back())
    assert status == "interrupted" and outcome == "interrupted"
    assert first_type == "run_started"
    assert streamed.startswith(on_disk)
    assert on_disk.startswith(due), (len(on_disk), len(due))
    # The interrupted call shows the text it had streamed.
    assert call_text == on_disk
