"""The controller owns runs and fans their events out to every sink.

Sinks are the UI, the store and headless output. Each is a plain callable taking an event;
it is called on the event loop, in order, and must not block (the UI's sink buffers and
repaints on a timer). A sink that raises is reported once and dropped, so a broken consumer
cannot take a run down with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from loco_tui.events import Event
from loco_tui.orchestrator import Orchestrator, RunContext, RunRequest
from loco_tui.orchestrator.run import Status
from loco_tui.providers.base import Health
from loco_tui.providers.pool import ProviderPool
from loco_tui.registry.schema import Registry

log = logging.getLogger(__name__)

EventSink = Callable[[Event], None]


class Controller:
    def __init__(self, registry: Registry, *, pool: ProviderPool | None = None) -> None:
        self.pool = pool or ProviderPool(registry)
        self.orchestrator = Orchestrator(self.pool)
        self._sinks: list[EventSink] = []
        self._runs: dict[str, asyncio.Task[Status]] = {}

    @property
    def registry(self) -> Registry:
        return self.pool.registry

    # -- sinks ---------------------------------------------------------------------------
    def subscribe(self, sink: EventSink) -> Callable[[], None]:
        self._sinks.append(sink)
        return lambda: self._sinks.remove(sink) if sink in self._sinks else None

    def _fan_out(self, event: Event) -> None:
        for sink in tuple(self._sinks):
            try:
                sink(event)
            except Exception:
                log.exception("event sink %r failed; removing it", sink)
                self._sinks.remove(sink)

    # -- runs ----------------------------------------------------------------------------
    def validate(self, request: RunRequest) -> None:
        """Raise RunError now for a request that names what the registry lacks."""
        self.orchestrator.validate(request)

    def start(self, request: RunRequest, *, seed: int | None = None) -> str:
        """Start a run in the background; returns its run id at once."""
        ctx = RunContext(self._fan_out, seed=seed)
        task = asyncio.create_task(self.orchestrator.run(request, ctx), name=f"run-{ctx.run_id}")
        self._runs[ctx.run_id] = task
        task.add_done_callback(lambda _t, rid=ctx.run_id: self._runs.pop(rid, None))
        return ctx.run_id

    async def run(self, request: RunRequest, *, seed: int | None = None) -> Status:
        """Start a run and wait for its status (``cancelled`` if it was cancelled)."""
        run_id = self.start(request, seed=seed)
        return await self.wait(run_id)

    async def wait(self, run_id: str) -> Status:
        task = self._runs.get(run_id)
        if task is None:
            raise KeyError(run_id)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                return "cancelled"
            raise

    @property
    def active_runs(self) -> list[str]:
        return [rid for rid, task in self._runs.items() if not task.done()]

    async def cancel(self, run_id: str | None = None) -> None:
        """Cancel one run (or all) and wait until every task of it has ended."""
        tasks = [t for rid, t in self._runs.items() if run_id in (None, rid)]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- registry and health ---------------------------------------------------------------
    async def set_registry(self, registry: Registry) -> None:
        await self.pool.update(registry)

    async def check_health(self) -> dict[str, Health]:
        return await self.pool.check_health()

    async def aclose(self) -> None:
        await self.cancel()
        await self.pool.aclose()
