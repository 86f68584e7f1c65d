"""A stored run's events back, in order, with their ``t``, and a player that re-emits them
with their original timing (what ``loco replay RUN --speed X`` feeds the workbench).

Packed ``deltas`` rows unpack into the Delta events they were, so the replayed sequence
equals the recorded one event for event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable

from pydantic import ValidationError

from loco_tui.events import Delta, Event, event_from_json
from loco_tui.store.db import Database
from loco_tui.store.history import resolve

log = logging.getLogger(__name__)


async def load_events(db: Database, run_id: str) -> list[Event]:
    """Every event of a run exactly as recorded (deltas unpacked)."""
    _, full = await resolve(db, run_id, "run")
    rows = await db.fetchall("SELECT type, body FROM events WHERE run_id = ? ORDER BY seq",
                             (full,))
    return list(unpack(full, rows))


def unpack(run_id: str, rows: Iterable[tuple[str, str]]) -> Iterable[Event]:
    for kind, body in rows:
        if kind == "deltas":
            for member, t, text, channel in json.loads(body):
                yield Delta(run_id=run_id, t=t, member=member, text=text, channel=channel)
            continue
        try:
            yield event_from_json(body)
        except ValidationError:
            # Written by a Loco that knows an event type this one does not: the rest of the
            # run still replays.
            log.warning("skipping a stored %r event this Loco cannot read", kind)


async def play(events: list[Event], sink: Callable[[Event], None], speed: float = 1.0) -> None:
    """Hand ``events`` to ``sink`` at their recorded pace (``speed`` 2 = twice as fast;
    0 = all at once). Cancel the task to stop."""
    start = time.monotonic()
    for event in events:
        if speed > 0:
            due = start + event.t / speed
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        sink(event)
