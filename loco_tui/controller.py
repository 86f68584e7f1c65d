"""The controller owns runs and fans their events out to every sink.

Sinks are the UI, the store and headless output. Each is a plain callable taking an event;
it is called on the event loop, in order, and must not block (the UI's sink buffers and
repaints on a timer). A sink that raises is reported once and dropped, so a broken consumer
cannot take a run down with it, unless it is *critical*: headless output is the run's whole
point, so when it fails (stdout closed, an encoding error) the run is cancelled at once and
the error kept in ``sink_error`` for the caller to report; generating on for nobody would
only burn the user's GPU and end with a silent, truncated result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from loco_tui.events import Event
from loco_tui.orchestrator import Orchestrator, RunContext, RunRequest
from loco_tui.orchestrator.run import Status
from loco_tui.providers.base import Health
from loco_tui.providers.pool import ProviderPool
from loco_tui.registry.schema import Registry

if TYPE_CHECKING:
    from loco_tui.providers.ollama import PullProgress
    from loco_tui.store import Recorder, Store

log = logging.getLogger(__name__)

EventSink = Callable[[Event], None]


class Controller:
    """Runs requests; with a ``store``, every run is recorded (the recorder is a sink like
    any other, and never fails a run: a storage error switches recording off, see
    ``history_error``)."""

    def __init__(
        self,
        registry: Registry,
        *,
        pool: ProviderPool | None = None,
        store: Store | None = None,
    ) -> None:
        self.pool = pool or ProviderPool(registry)
        self.orchestrator = Orchestrator(self.pool)
        self._sinks: list[EventSink] = []
        self._critical: set[int] = set()
        self.store: Store | None = None
        self.recorder: Recorder | None = None
        if store is not None:
            self.attach_store(store)
        self._runs: dict[str, asyncio.Task[Status]] = {}
        # The first failure of a critical sink, and the sink: the caller reports it.
        self.sink_error: BaseException | None = None

    @property
    def registry(self) -> Registry:
        return self.pool.registry

    # -- sinks ---------------------------------------------------------------------------
    def subscribe(self, sink: EventSink, *, critical: bool = False) -> Callable[[], None]:
        """Send every event to ``sink``; returns a function that unsubscribes it. A critical
        sink that raises cancels the run the event came from (see the module docstring)."""
        self._sinks.append(sink)
        if critical:
            self._critical.add(id(sink))

        def unsubscribe() -> None:
            if sink in self._sinks:
                self._sinks.remove(sink)
            self._critical.discard(id(sink))

        return unsubscribe

    def _fan_out(self, event: Event) -> None:
        for sink in tuple(self._sinks):
            try:
                sink(event)
            except Exception as exc:
                self._sinks.remove(sink)
                if id(sink) not in self._critical:
                    log.exception("event sink %r failed; removing it", sink)
                    continue
                self._critical.discard(id(sink))
                if self.sink_error is None:
                    self.sink_error = exc
                task = self._runs.get(event.run_id)
                if task is not None and not task.done():
                    task.cancel(f"output failed: {type(exc).__name__}")

    # -- runs ----------------------------------------------------------------------------
    def validate(self, request: RunRequest) -> None:
        """Raise RunError now for a request that names what the registry lacks."""
        self.orchestrator.validate(request)

    def start(self, request: RunRequest, *, seed: int | None = None) -> str:
        """Start a run in the background; returns its run id at once."""
        ctx = RunContext(self._fan_out, seed=seed)
        task = asyncio.create_task(self.orchestrator.run(request, ctx), name=f"run-{ctx.run_id}")
        self._runs[ctx.run_id] = task
        run_id = ctx.run_id
        task.add_done_callback(lambda _task: self._runs.pop(run_id, None))
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

    async def cancel(self, run_id: str | None = None, reason: str | None = None) -> None:
        """Cancel one run (or all) and wait until every task of it has ended. ``reason``
        ends up in the run's ``run_finished`` message."""
        tasks = [t for rid, t in self._runs.items() if run_id in (None, rid)]
        for task in tasks:
            task.cancel(reason)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- registry and health ---------------------------------------------------------------
    async def set_registry(self, registry: Registry) -> None:
        await self.pool.update(registry)

    async def check_health(self) -> dict[str, Health]:
        return await self.pool.check_health()

    def can_pull(self, provider_id: str) -> bool:
        """Whether models can be downloaded onto this provider's server (Ollama)."""
        if provider_id not in self.registry.providers:
            return False
        return hasattr(self.pool.provider(provider_id), "pull")

    def pull(self, provider_id: str, model: str) -> AsyncIterator[PullProgress]:
        """Download ``model`` onto the provider's server, step by step (cancel to stop).
        Raises ProviderError; KeyError for a provider that cannot pull."""
        provider = self.pool.provider(provider_id)
        pull = getattr(provider, "pull", None)
        if pull is None:
            raise KeyError(f"provider {provider_id} cannot pull models")
        stream: AsyncIterator[PullProgress] = pull(model)
        return stream

    def attach_store(self, store: Store) -> None:
        """Record every run from now on (the workbench opens its store after the first
        frame, so the controller may exist before it)."""
        if self.recorder is not None:
            raise RuntimeError("this controller already records into a store")
        self.store = store
        self.recorder = store.recorder()
        self.subscribe(self.recorder)

    @property
    def history_error(self) -> str | None:
        """Why runs are no longer being recorded (None while they are, or with no store)."""
        if self.recorder is None or self.recorder.error is None:
            return None
        return str(self.recorder.error)

    async def flush_history(self) -> None:
        """Make every recorded event readable from the store (before acting on a run)."""
        if self.recorder is not None:
            await self.recorder.flush()

    async def aclose(self) -> None:
        """Cancel what runs, write what the recorder holds, close the providers. The store
        belongs to whoever opened it."""
        await self.cancel()
        if self.recorder is not None:
            await self.recorder.aclose()
        await self.pool.aclose()
