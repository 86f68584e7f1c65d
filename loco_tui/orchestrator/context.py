"""One run's identity, clock and event outlet."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar, cast

from loco_tui.events import BaseEvent, Event

EventT = TypeVar("EventT", bound=BaseEvent)

EventSink = Callable[[Event], None]


def new_run_id() -> str:
    # Sortable by start time, short enough to type after `loco replay`.
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


class RunContext:
    """Stamps events with the run id and seconds since start, and hands them to the sink.

    The sink is called synchronously from the orchestrator's tasks: it must not block
    (the controller's fan-out only appends to queues and buffers).
    """

    __slots__ = ("rng", "run_id", "sink", "t0")

    def __init__(self, sink: EventSink, run_id: str | None = None, seed: int | None = None) -> None:
        self.run_id = run_id or new_run_id()
        self.t0 = time.monotonic()
        self.sink = sink
        # Label shuffles for the judge come from here, so a seeded run is reproducible.
        self.rng = random.Random(seed)

    def emit(self, event_type: type[EventT], **fields: Any) -> EventT:
        event = event_type(run_id=self.run_id, t=round(time.monotonic() - self.t0, 6), **fields)
        # Every concrete event class is a member of the Event union.
        self.sink(cast(Event, event))
        return event
