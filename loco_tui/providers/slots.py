"""How many calls a provider runs at once (``max_parallel`` in the registry), and the queue
of the calls that wait for a slot.

A local server that cannot hold the models of an ensemble in memory at once thrashes when
every member asks at the same time (each load evicts the other). With a limit, members beyond
it wait here, in arrival order, and say so: ``acquire`` tells the caller how many calls are
ahead of it whenever that changes, so a pane shows "queued, 2 ahead" instead of looking stuck.

The queue is strictly first come, first served, and a caller cancelled while waiting leaves
it without taking a slot (or gives back the one it was just handed).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

# Told the number of calls ahead (0: next), whenever it changes while waiting.
OnQueued = Callable[[int], None]


class CallSlots:
    """At most ``limit`` calls at once (None: no limit); the rest queue in order."""

    __slots__ = ("_waiters", "limit", "running")

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.running = 0
        self._waiters: deque[tuple[asyncio.Future[None], OnQueued | None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def free(self) -> bool:
        """Whether a call arriving now would start at once."""
        return self.limit is None or (self.running < self.limit and not self._waiters)

    @asynccontextmanager
    async def slot(self, on_queued: OnQueued | None = None) -> AsyncIterator[None]:
        """Hold a slot for the body; wait in line for one first when all are taken."""
        await self._acquire(on_queued)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, on_queued: OnQueued | None) -> None:
        if self.free():
            self.running += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (future, on_queued)
        self._waiters.append(entry)
        if on_queued is not None:
            on_queued(len(self._waiters) - 1)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # handed a slot in the same instant: pass it on
            else:
                self._leave(entry)
            raise

    def _leave(self, entry: tuple[asyncio.Future[None], OnQueued | None]) -> None:
        try:
            index = self._waiters.index(entry)
        except ValueError:  # already taken off the line by _wake
            return
        del self._waiters[index]
        self._announce(index)

    def _release(self) -> None:
        self.running -= 1
        self._wake()

    def _wake(self) -> None:
        woke = False
        while self._waiters and (self.limit is None or self.running < self.limit):
            future, _ = self._waiters.popleft()
            if future.done():  # cancelled while queued; its task removes nothing more
                continue
            self.running += 1
            future.set_result(None)
            woke = True
        if woke:
            self._announce(0)

    def _announce(self, start: int) -> None:
        """Tell the waiters from ``start`` on their new place in line."""
        for index in range(start, len(self._waiters)):
            _, on_queued = self._waiters[index]
            if on_queued is not None:
                on_queued(index)

    def resize(self, limit: int | None) -> None:
        """A reloaded registry changed the limit: a larger one starts waiters at once."""
        self.limit = limit
        self._wake()
