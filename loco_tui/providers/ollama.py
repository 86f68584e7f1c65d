"""Ollama through the official ``ollama`` client (``ollama.AsyncClient``).

Every failure leaves as a :class:`ProviderError` with a :class:`FailureCategory`; transport
exceptions (httpx, ``ConnectionError``, ``ollama.ResponseError``) never escape. Cancellation
propagates unchanged, and however a stream is left (finished, failed, timed out, cancelled,
closed early by the consumer) its HTTP response is closed, which is what makes Ollama stop
generating.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any

import httpx
import ollama
from ollama._client import _parse_host  # the client's own OLLAMA_HOST / host parsing

from loco_tui.events import CallStats, FailureCategory
from loco_tui.providers.base import (
    ChatMessage,
    Chunk,
    Health,
    ModelInfo,
    ProviderError,
    StatsClock,
    Timeouts,
    guard_stream,
)

__all__ = ["REQUEST_LEVEL_OPTIONS", "OllamaProvider", "map_error"]

# Keys of a model's ``options`` that are fields of the request itself, not model options.
REQUEST_LEVEL_OPTIONS = frozenset({"think", "keep_alive", "format", "tools"})


def map_error(exc: BaseException) -> ProviderError:
    """Turn an exception from the ollama client or httpx into a categorised ProviderError."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, ollama.ResponseError):
        status = exc.status_code
        message = str(exc.error)
        lowered = message.lower()
        if status == -1:  # an {"error": ...} line on a 200 stream: the run broke mid-reply
            return ProviderError(FailureCategory.DROPPED, f"error mid-stream: {message}")
        if status == 404 or "not found" in lowered:
            return ProviderError(FailureCategory.MODEL_MISSING, message)
        if status == 429 or (status == 503 and ("busy" in lowered or "queue" in lowered)):
            return ProviderError(FailureCategory.RATE_LIMITED, f"HTTP {status}: {message}")
        if status in (400, 413, 500) and "context" in lowered and (
            "length" in lowered or "window" in lowered or "exceed" in lowered
        ):
            return ProviderError(FailureCategory.CONTEXT_OVERFLOW, message)
        return ProviderError(FailureCategory.HTTP_ERROR, f"HTTP {status}: {message}")
    if isinstance(exc, httpx.ConnectTimeout):
        return ProviderError(FailureCategory.UNREACHABLE, f"connect timed out: {exc}")
    if isinstance(exc, httpx.ConnectError | ConnectionError):
        return ProviderError(FailureCategory.UNREACHABLE, f"cannot connect: {exc}")
    if isinstance(exc, httpx.ReadTimeout):
        return ProviderError(FailureCategory.STALLED, f"read timed out: {exc}")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return ProviderError(FailureCategory.DROPPED, f"connection lost mid-reply: {exc}")
    if isinstance(exc, httpx.HTTPError | OSError):
        return ProviderError(FailureCategory.HTTP_ERROR, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, ValueError):  # a line that is not JSON / not an Ollama object
        return ProviderError(FailureCategory.HTTP_ERROR, f"not an Ollama reply: {exc}")
    return ProviderError(FailureCategory.HTTP_ERROR, f"{type(exc).__name__}: {exc}")


_CAUGHT = (ollama.ResponseError, httpx.HTTPError, OSError, ValueError)

_TLS: ssl.SSLContext | None = None


def _verify_for(host: str) -> ssl.SSLContext:
    """The TLS context for a client of ``host``, without paying for it when it is unused.

    httpx loads the CA bundle for every client it builds (~0.13 s here), which a local
    ``http://`` Ollama never needs. Such hosts get an empty verifying context (a redirect to
    https then fails verification rather than skipping it); https hosts share one real context.
    """
    global _TLS
    if host.startswith("https://"):
        if _TLS is None:
            _TLS = httpx.create_ssl_context()
        return _TLS
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    out = []
    for call in calls:
        function = call.function
        out.append({"name": function.name, "arguments": dict(function.arguments or {})})
    return out


def _stats(part: Any, clock: StatsClock) -> CallStats:
    tokens_out = part.eval_count
    eval_ns = part.eval_duration
    stats = clock.stats(
        tokens_in=part.prompt_eval_count or 0,
        tokens_out=tokens_out,
        gen_seconds=eval_ns / 1e9 if eval_ns else None,
    )
    if part.total_duration:
        stats.duration_s = part.total_duration / 1e9
    return stats


class OllamaProvider:
    """A provider for one Ollama server.

    ``host`` is as Ollama understands it (``http://127.0.0.1:11434``, ``localhost:11434``, ...);
    ``None`` means ``$OLLAMA_HOST`` or the default. ``keep_alive`` is sent with every chat
    unless a call's options carry their own. Per-call ``timeouts`` govern first-token and idle
    waits; the connect timeout is the provider's.
    """

    def __init__(
        self,
        name: str,
        host: str | None = None,
        *,
        timeouts: Timeouts = Timeouts(),
        keep_alive: str | int | None = None,
        request_timeout: float = 15.0,
    ) -> None:
        self.name = name
        self.host = _parse_host(host)
        self.timeouts = timeouts
        self.keep_alive = keep_alive
        # Metadata calls (tags, ps, show, version) get an overall bound; streams are bounded by
        # guard_stream instead, so their read timeout is None (a model load may take minutes).
        self.request_timeout = request_timeout
        c = timeouts.connect
        self._verify = _verify_for(self.host)
        self._client = ollama.AsyncClient(
            host=self.host,
            timeout=httpx.Timeout(connect=c, read=None, write=c, pool=c),
            verify=self._verify,
        )
        self._http: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"OllamaProvider({self.name!r}, {self.host!r})"

    # -- streaming ---------------------------------------------------------------------------
    def _request_fields(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        model_options: dict[str, Any] = {}
        fields: dict[str, Any] = {}
        if self.keep_alive is not None:
            fields["keep_alive"] = self.keep_alive
        for key, value in (options or {}).items():
            if key in REQUEST_LEVEL_OPTIONS:
                fields[key] = value
            else:
                model_options[key] = value
        if model_options:
            fields["options"] = model_options
        return fields

    async def stream_chat(
        self,
        model: str,
        messages: list[ChatMessage],
        *,
        options: dict[str, Any] | None = None,
        timeouts: Timeouts | None = None,
    ) -> AsyncIterator[Chunk]:
        """Stream a chat reply as Chunks; the last has ``done=True`` and the call's stats."""
        raw = self._raw_stream(model, messages, self._request_fields(options))
        async with aclosing(guard_stream(raw, timeouts or self.timeouts)) as guarded:
            async for chunk in guarded:
                yield chunk

    async def _raw_stream(
        self, model: str, messages: list[ChatMessage], fields: dict[str, Any]
    ) -> AsyncIterator[Chunk]:
        clock = StatsClock()
        try:
            parts = await self._client.chat(model, messages, stream=True, **fields)
        except _CAUGHT as exc:
            raise map_error(exc) from exc
        # aclosing: leaving early (consumer closed us, timeout, cancellation) must close the
        # client's generator at once, since that is what closes the HTTP response.
        async with aclosing(parts):
            while True:
                try:
                    part = await anext(parts)
                except StopAsyncIteration:
                    break
                except _CAUGHT as exc:
                    raise map_error(exc) from exc
                message = part.message
                text = message.content or ""
                thinking = message.thinking or ""
                calls = _tool_calls(message.tool_calls) if message.tool_calls else None
                if part.done:
                    if text or thinking or calls:
                        clock.saw_output()
                    yield Chunk(text, thinking, calls, True, _stats(part, clock),
                                part.done_reason)
                    return
                if text or thinking or calls:
                    clock.saw_output()
                yield Chunk(text, thinking, calls)
        raise ProviderError(FailureCategory.DROPPED, "the reply ended without a done chunk")

    # -- metadata ----------------------------------------------------------------------------
    async def _call(self, what: str, coro: Any) -> Any:
        try:
            async with asyncio.timeout(self.request_timeout):
                return await coro
        except TimeoutError:
            raise ProviderError(
                FailureCategory.UNREACHABLE, f"{what}: no answer within {self.request_timeout:g}s"
            ) from None
        except _CAUGHT as exc:
            raise map_error(exc) from exc

    async def loaded_models(self) -> list[ModelInfo]:
        """What Ollama holds in memory now (``/api/ps``), with VRAM use."""
        response = await self._call("ps", self._client.ps())
        out = []
        for m in response.models:
            d = m.details
            out.append(ModelInfo(
                name=m.model or m.name or "",
                parameter_size=d.parameter_size if d else None,
                size_bytes=int(m.size) if m.size is not None else None,
                family=d.family if d else None,
                quantization=d.quantization_level if d else None,
                loaded=True,
                vram_bytes=int(m.size_vram) if m.size_vram is not None else None,
            ))
        return out

    async def list_models(self) -> list[ModelInfo]:
        """The installed models (``/api/tags``), marked ``loaded`` per ``/api/ps``."""
        tags, ps = await asyncio.gather(
            self._call("tags", self._client.list()), self.loaded_models(), return_exceptions=True
        )
        if isinstance(tags, BaseException):
            raise tags
        loaded = {m.name: m for m in ps} if isinstance(ps, list) else {}
        out = []
        for m in tags.models:
            d = m.details
            name = m.model or ""
            running = loaded.get(name)
            out.append(ModelInfo(
                name=name,
                parameter_size=d.parameter_size if d else None,
                size_bytes=int(m.size) if m.size is not None else None,
                family=d.family if d else None,
                quantization=d.quantization_level if d else None,
                loaded=running is not None,
                vram_bytes=running.vram_bytes if running is not None else None,
            ))
        return out

    async def show(self, model: str) -> dict[str, Any]:
        """``/api/show`` as a plain dict (``details``, ``model_info``, ``capabilities``, ...)."""
        response = await self._call("show", self._client.show(model))
        return response.model_dump(mode="json", by_alias=True, exclude_none=True)

    async def health(self) -> Health:
        """Reachability, version and models. Never raises."""
        if self._http is None:
            c = self.timeouts.connect
            self._http = httpx.AsyncClient(
                base_url=self.host,
                timeout=httpx.Timeout(connect=c, read=self.request_timeout, write=c, pool=c),
                verify=self._verify,
            )
        start = time.monotonic()
        try:
            async with asyncio.timeout(self.timeouts.connect + self.request_timeout):
                response = await self._http.get("/api/version")
            latency = time.monotonic() - start
            response.raise_for_status()
            version = response.json().get("version")
        except (httpx.HTTPError, OSError, ValueError, AttributeError, TimeoutError) as exc:
            detail = str(map_error(exc).message) if not isinstance(exc, TimeoutError) \
                else "no answer"
            return Health(up=False, latency_s=None, detail=detail or type(exc).__name__)
        try:
            models = await self.list_models()
        except ProviderError as exc:
            return Health(up=True, latency_s=latency, version=version,
                          detail=f"models unavailable: {exc.message}")
        return Health(up=True, latency_s=latency, version=version, models=models,
                      detail=f"ollama {version}, {len(models)} models")

    async def aclose(self) -> None:
        await self._client.close()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
