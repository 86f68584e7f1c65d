"""What every provider is: a streaming chat call that yields Chunks and fails with a category.

Providers know nothing of roles, ensembles or the UI. Timeouts that are the same for every
wire format (first token, idle between chunks) are enforced here once, by ``guard_stream``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator
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
    "RetryGate",
    "Structured",
    "Timeouts",
    "TokenLogprob",
    "guard_stream",
    "valid_text",
]


class ChatMessage(TypedDict):
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. ``first_token`` bounds the wait for the first chunk (model load included);
    ``idle`` bounds the gap between two chunks once streaming; ``total`` the whole call,
    however busy the stream looks."""

    connect: float = 5.0
    first_token: float = 120.0
    idle: float = 30.0
    total: float = 600.0


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token, the log probability the model gave it, and the most likely
    alternatives at that position (token text, log probability), as the server reports
    them (OpenAI ``logprobs.content``, Ollama ``logprobs``, llama.cpp in-process)."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Structured:
    """Ask for a reply constrained to a JSON ``schema`` (Ollama ``format``, OpenAI
    ``response_format`` of type ``json_schema``, a llama.cpp grammar in-process), and for
    the log probabilities of the tokens with ``top_logprobs`` alternatives each (0: none).
    A server that cannot constrain may refuse it (HTTP 400): the caller retries without."""

    schema: dict[str, Any]
    name: str = "reply"
    top_logprobs: int = 0


@dataclass(slots=True)
class Chunk:
    """One piece of a streamed reply. The last chunk has ``done=True`` and carries stats."""

    text: str = ""
    thinking: str = ""
    tool_calls: list[dict[str, Any]] | None = None
    done: bool = False
    stats: CallStats | None = None
    done_reason: str | None = None
    # Token log probabilities, when they were asked for (``Structured.top_logprobs``) and
    # the server sent them: those of this chunk's text, or of the whole reply on the last.
    logprobs: list[TokenLogprob] | None = None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    parameter_size: str | None = None  # as the server says it, e.g. "7.6B"
    size_bytes: int | None = None
    family: str | None = None
    quantization: str | None = None
    loaded: bool = False
    vram_bytes: int | None = None
    # Tokens of context the server runs the model with (Ollama /api/ps, vLLM max_model_len).
    context_length: int | None = None


@dataclass(slots=True)
class Health:
    up: bool
    latency_s: float | None = None
    detail: str = ""
    version: str | None = None
    models: list[ModelInfo] = field(default_factory=list)


class ProviderError(Exception):
    """A model call failed. ``category`` says how; ``message`` is for people.
    ``retry_after_s`` is how long the server asked us to wait (429/503 ``Retry-After``);
    ``status`` the HTTP status the server refused the request with, when it did."""

    def __init__(
        self, category: FailureCategory, message: str, *, retry_after_s: float | None = None,
        status: int | None = None,
    ) -> None:
        # Server text may hold lone surrogates (a JSON "\\ud83d"); no sink could write them.
        message = valid_text(message)
        super().__init__(f"{category.value}: {message}")
        self.category = category
        self.message = message
        self.retry_after_s = retry_after_s
        self.status = status

    @property
    def refused_request(self) -> bool:
        """The server refused the request as malformed (HTTP 400/422) before any token:
        for a structured request, a server that cannot constrain its output."""
        return self.category is FailureCategory.HTTP_ERROR and self.status in (400, 422)


# Longest wait a server's Retry-After may impose on the next call: a run must not hang for
# an hour because a proxy said so.
RETRY_AFTER_CAP_S = 30.0


def parse_retry_after(value: str | None, cap: float = RETRY_AFTER_CAP_S) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), cap)


class RetryGate:
    """Honours a server's ``Retry-After``: the next call to that provider waits it out.

    One gate per provider. ``note`` records a wait (capped); ``wait`` sleeps until it has
    passed. Only the next call waits: a later success clears nothing a new 429 would not set.
    """

    __slots__ = ("_until", "last_s")

    def __init__(self) -> None:
        self._until = 0.0
        self.last_s: float | None = None  # the last wait a server asked for, as it said

    def note(self, seconds: float | None) -> None:
        self.last_s = seconds
        if seconds:
            self._until = max(self._until, time.monotonic() + seconds)

    @property
    def remaining_s(self) -> float:
        return max(self._until - time.monotonic(), 0.0)

    async def wait(self) -> None:
        remaining = self.remaining_s
        if remaining > 0:
            await asyncio.sleep(remaining)


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """``text`` with lone surrogates (from a JSON ``"\\ud83d"`` escape, say) replaced by
    U+FFFD: they cannot be encoded, so every sink writing them would fail."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", text)


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
        structured: Structured | None = None,
    ) -> AsyncIterator[Chunk]:
        """Stream a reply. Raises ProviderError (never a transport exception).
        ``structured`` constrains the reply to a JSON schema and asks for token log
        probabilities (see ``Structured``)."""
        ...

    async def list_models(self) -> list[ModelInfo]: ...

    async def health(self) -> Health: ...

    async def aclose(self) -> None: ...


async def guard_stream(
    stream: AsyncIterator[Chunk], timeouts: Timeouts
) -> AsyncGenerator[Chunk, None]:
    """Apply the first-token, idle and total timeouts to a chunk stream, make its text
    encodable, and close it however we leave.

    Closing matters: for HTTP providers it is what closes the response (and so stops
    generation on the server) when the caller is cancelled or a timeout fires.

    One lazily re-armed timer serves the whole stream: an ``asyncio.timeout`` per chunk
    measured 9-18 us per chunk, most of the 20 us/token orchestration budget; this costs a
    ``loop.time()`` call. Only the wait for the next chunk counts toward first-token and idle
    limits, not the consumer's time. The first-token limit runs from the start of the call:
    empty keep-alive chunks do not restart it. The total limit runs from the start too.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    first = True
    started = loop.time()
    total_due = started + timeouts.total
    limit = timeouts.first_token
    waiting_since: float | None = None
    fired: FailureCategory | None = None
    handle: asyncio.TimerHandle | None = None

    def deadline() -> float:
        assert waiting_since is not None
        wait_due = started + limit if first else waiting_since + limit
        return min(wait_due, total_due)

    def check() -> None:
        nonlocal handle, fired
        handle = None
        if waiting_since is None:
            return  # not waiting now: the next wait re-arms the timer
        due = deadline()
        now = loop.time()
        if now >= due:
            if now >= total_due:
                fired = FailureCategory.TIMEOUT_TOTAL
            elif first:
                fired = FailureCategory.TIMEOUT_FIRST_TOKEN
            else:
                fired = FailureCategory.STALLED
            task.cancel()
        else:
            handle = loop.call_at(due, check)

    try:
        while True:
            limit = timeouts.first_token if first else timeouts.idle
            waiting_since = loop.time()
            due = deadline()
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
                if fired is not None:
                    category, fired = fired, None
                    if task.uncancel() == 0:  # our timer, not a real cancellation
                        raise ProviderError(category, _timeout_message(category, timeouts)) \
                            from None
                raise
            finally:
                waiting_since = None
            text = chunk.text
            # Only real output ends the first-token wait: an empty keep-alive chunk does not.
            if text or chunk.thinking or chunk.tool_calls or chunk.done:
                first = False
                if text and _SURROGATE.search(text) is not None:
                    chunk.text = valid_text(text)
                if chunk.thinking:
                    chunk.thinking = valid_text(chunk.thinking)
            yield chunk
    finally:
        if handle is not None:
            handle.cancel()
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def _timeout_message(category: FailureCategory, timeouts: Timeouts) -> str:
    if category is FailureCategory.TIMEOUT_TOTAL:
        return f"the reply did not finish within {timeouts.total:g}s (timeouts.total_s)"
    if category is FailureCategory.TIMEOUT_FIRST_TOKEN:
        return f"no token within {timeouts.first_token:g}s"
    return f"no token for {timeouts.idle:g}s mid-stream"


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
        tokens_in: int | None = None,
        tokens_out: int | None = None,
        gen_seconds: float | None = None,
    ) -> CallStats:
        """The call's figures; ``tokens_in`` None when the server did not say."""
        end = time.monotonic()
        out = self.pieces if tokens_out is None else tokens_out
        ttft = None if self.first_token_at is None else self.first_token_at - self.start
        if gen_seconds is None and self.first_token_at is not None:
            gen_seconds = end - self.first_token_at
        if gen_seconds is not None and gen_seconds <= 0:
            gen_seconds = None
        tps = out / gen_seconds if gen_seconds and out else None
        return CallStats(
            tokens_in=tokens_in,
            tokens_out=out,
            ttft_s=ttft,
            tokens_per_s=tps,
            duration_s=end - self.start,
            gen_s=gen_seconds,
        )
