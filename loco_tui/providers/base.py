"""What every provider is: a streaming chat call that yields Chunks and fails with a category.

Providers know nothing of roles, ensembles or the UI. Timeouts that are the same for every
wire format (first token, idle between chunks) are enforced here once, by ``guard_stream``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, runtime_checkable

from loco_tui.events import CallStats, FailureCategory

__all__ = [
    "CallStats",
    "ChatMessage",
    "Chunk",
    "FailureCategory",
    "Health",
    "ModelInfo",
    "Provider",
    "ProviderError",
    "Timeouts",
    "guard_stream",
]


class ChatMessage(TypedDict):
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. ``first_token`` bounds the wait for the first chunk (model load included);
    ``idle`` bounds the gap between two chunks once streaming."""

    connect: float = 5.0
    first_token: float = 120.0
    idle: float = 30.0


@dataclass(slots=True)
class Chunk:
    """One piece of a streamed reply. The last chunk has ``done=True`` and carries stats."""

    text: str = ""
    thinking: str = ""
    tool_calls: list[dict[str, Any]] | None = None
    done: bool = False
    stats: CallStats | None = None
    done_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    parameter_size: str | None = None  # as the server says it, e.g. "7.6B"
    size_bytes: int | None = None
    family: str | None = None
    quantization: str | None = None
    loaded: bool = False
    vram_bytes: int | None = None


@dataclass(slots=True)
class Health:
    up: bool
    latency_s: float | None = None
    detail: str = ""
    version: str | None = None
    models: list[ModelInfo] = field(default_factory=list)


class ProviderError(Exception):
    """A model call failed. ``category`` says how; ``message`` is for people."""

    def __init__(self, category: FailureCategory, message: str) -> None:
        super().__init__(f"{category.value}: {message}")
        self.category = category
        self.message = message


@runtime_checkable
class Provider(Protocol):
    """A model server (or in-process engine) that streams chat replies."""

    name: str

    def stream_chat(
        self,
        model: str,
        messages: list[ChatMessage],
        *,
        options: dict[str, Any] | None = None,
        timeouts: Timeouts | None = None,
    ) -> AsyncIterator[Chunk]:
        """Stream a reply. Raises ProviderError (never a transport exception)."""
        ...

    async def list_models(self) -> list[ModelInfo]: ...

    async def health(self) -> Health: ...

    async def aclose(self) -> None: ...


async def guard_stream(stream: AsyncIterator[Chunk], timeouts: Timeouts) -> AsyncIterator[Chunk]:
    """Apply first-token and idle timeouts to a chunk stream and close it however we leave.

    Closing matters: for HTTP providers it is what closes the response (and so stops
    generation on the server) when the caller is cancelled or a timeout fires.

    One lazily re-armed timer serves the whole stream: an ``asyncio.timeout`` per chunk
    measured 9-18 us per chunk, most of the 20 us/token orchestration budget; this costs a
    ``loop.time()`` call. Only the wait for the next chunk counts, not the consumer's time.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    first = True
    limit = timeouts.first_token
    waiting_since: float | None = None
    fired = False
    handle: asyncio.TimerHandle | None = None

    def check() -> None:
        nonlocal handle, fired
        handle = None
        if waiting_since is None:
            return  # not waiting now: the next wait re-arms the timer
        due = waiting_since + limit
        if loop.time() >= due:
            fired = True
            task.cancel()
        else:
            handle = loop.call_at(due, check)

    try:
        while True:
            limit = timeouts.first_token if first else timeouts.idle
            waiting_since = loop.time()
            due = waiting_since + limit
            if handle is not None and handle.when() > due:  # the limit shrank (first -> idle)
                handle.cancel()
                handle = None
            if handle is None:
                handle = loop.call_at(due, check)
            try:
                chunk = await anext(stream)
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                if fired:
                    fired = False
                    if task.uncancel() == 0:  # our timer, not a real cancellation
                        if first:
                            raise ProviderError(
                                FailureCategory.TIMEOUT_FIRST_TOKEN, f"no token within {limit:g}s"
                            ) from None
                        raise ProviderError(
                            FailureCategory.STALLED, f"no token for {limit:g}s mid-stream"
                        ) from None
                raise
            finally:
                waiting_since = None
            # Only real output ends the first-token wait: an empty keep-alive chunk does not.
            if chunk.text or chunk.thinking or chunk.tool_calls or chunk.done:
                first = False
            yield chunk
    finally:
        if handle is not None:
            handle.cancel()
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


class StatsClock:
    """Measures time to first token and duration on the client side.

    Used where a server reports no timings (and to fill ttft, which no server reports).
    """

    __slots__ = ("first_token_at", "pieces", "start")

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.first_token_at: float | None = None
        self.pieces = 0

    def saw_output(self) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()
        self.pieces += 1

    def stats(
        self,
        tokens_in: int = 0,
        tokens_out: int | None = None,
        gen_seconds: float | None = None,
    ) -> CallStats:
        end = time.monotonic()
        out = self.pieces if tokens_out is None else tokens_out
        ttft = None if self.first_token_at is None else self.first_token_at - self.start
        if gen_seconds is None and self.first_token_at is not None:
            gen_seconds = end - self.first_token_at
        tps = out / gen_seconds if gen_seconds and gen_seconds > 0 and out else None
        return CallStats(
            tokens_in=tokens_in,
            tokens_out=out,
            ttft_s=ttft,
            tokens_per_s=tps,
            duration_s=end - self.start,
        )
