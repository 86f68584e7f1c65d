"""Ollama through the official ``ollama`` client (``ollama.AsyncClient``).

Every failure leaves as a :class:`ProviderError` with a :class:`FailureCategory`; transport
exceptions (httpx, ``ConnectionError``, ``ollama.ResponseError``) never escape. Cancellation
propagates unchanged, and however a stream is left (finished, failed, timed out, cancelled,
closed early by the consumer) its HTTP response is closed, which is what makes Ollama stop
generating.

Tools go in the request's ``tools`` to models whose ``/api/show`` capabilities include
"tools" (``native_tools``); a model the server refuses them for ("does not support tools",
HTTP 400) is remembered, so the next call describes them in its prompt at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import time
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
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
    RetryGate,
    StatsClock,
    Structured,
    Timeouts,
    TokenLogprob,
    guard_stream,
    parse_retry_after,
)
from loco_tui.providers.credentials import Redactor, insecure_key_warning, shown_url, url_secrets
from loco_tui.providers.openai import html_summary, looks_like_html, refuses_tools

__all__ = ["MESSAGE_LIMIT", "REQUEST_LEVEL_OPTIONS", "OllamaProvider", "PullProgress",
           "map_error"]

# Messages are cut to this many characters, after redaction (see credentials.py).
MESSAGE_LIMIT = 300

# Keys of a model's ``options`` that are fields of the request itself, not model options.
REQUEST_LEVEL_OPTIONS = frozenset({"think", "keep_alive", "format", "tools"})


def map_error(exc: BaseException, retry_after_s: float | None = None) -> ProviderError:
    """Turn an exception from the ollama client or httpx into a categorised ProviderError.

    Messages are not cut or redacted here: the provider does both, in that order."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, ollama.ResponseError):
        status = exc.status_code
        message = str(exc.error)
        if looks_like_html(message.encode("utf-8", "replace")):
            message = html_summary(message.encode("utf-8", "replace"))
        lowered = message.lower()
        if status == -1:  # an {"error": ...} line on a 200 stream: the run broke mid-reply
            return ProviderError(FailureCategory.DROPPED, f"error mid-stream: {message}")
        if status in (429, 503):
            # Ollama answers 503 when its queue is full (OLLAMA_MAX_QUEUE): busy, like 429.
            what = "rate limited" if status == 429 else "server busy"
            when = (f"; the server asks to retry after {retry_after_s:g}s"
                    if retry_after_s is not None else "")
            return ProviderError(FailureCategory.RATE_LIMITED,
                                 f"{what}: HTTP {status}: {message}{when}",
                                 retry_after_s=retry_after_s, status=status)
        if status == 404 or "not found" in lowered:
            return ProviderError(FailureCategory.MODEL_MISSING, message, status=status)
        if status in (400, 413, 500) and "context" in lowered and (
            "length" in lowered or "window" in lowered or "exceed" in lowered
        ):
            return ProviderError(FailureCategory.CONTEXT_OVERFLOW, message, status=status)
        return ProviderError(FailureCategory.HTTP_ERROR, f"HTTP {status}: {message}",
                             status=status)
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
    if isinstance(exc, json.JSONDecodeError) and looks_like_html(
        exc.doc.encode("utf-8", "replace") if isinstance(exc.doc, str) else b""
    ):
        page = html_summary(exc.doc.encode("utf-8", "replace"))
        return ProviderError(FailureCategory.BAD_OUTPUT,
                             f"the server answered with {page}, not an Ollama stream "
                             "(is host right?)")
    if isinstance(exc, ValueError):  # a line that is not JSON / not an Ollama object
        return ProviderError(FailureCategory.HTTP_ERROR, f"not an Ollama reply: {exc}")
    return ProviderError(FailureCategory.HTTP_ERROR, f"{type(exc).__name__}: {exc}")


_CAUGHT = (ollama.ResponseError, httpx.HTTPError, OSError, ValueError)


@dataclass(frozen=True, slots=True)
class PullProgress:
    """One step of ``ollama pull``: a status line ("pulling manifest", "pulling 6a0746a1ec1a",
    "verifying sha256 digest", "success") and, while a layer downloads, its bytes so far."""

    status: str
    completed: int | None = None
    total: int | None = None
    digest: str | None = None

    @property
    def fraction(self) -> float | None:
        """How much of the current layer is down (None when the server did not say)."""
        if self.completed is None or not self.total:
            return None
        return min(self.completed / self.total, 1.0)

    @property
    def done(self) -> bool:
        return self.status == "success"

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


def _logprobs(entries: Any) -> list[TokenLogprob]:
    out = []
    for entry in entries:
        top = tuple((t.token, float(t.logprob)) for t in entry.top_logprobs or ())
        out.append(TokenLogprob(entry.token, float(entry.logprob), top))
    return out


def _stats(part: Any, clock: StatsClock) -> CallStats:
    tokens_out = part.eval_count
    eval_ns = part.eval_duration
    stats = clock.stats(
        tokens_in=part.prompt_eval_count,
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
        self.gate = RetryGate()
        self._client = ollama.AsyncClient(
            host=self.host,
            timeout=httpx.Timeout(connect=c, read=None, write=c, pool=c),
            verify=self._verify,
            # The client's ResponseError drops the headers: Retry-After is read here.
            event_hooks={"response": [self._saw_response]},
        )
        self._http: httpx.AsyncClient | None = None
        # The ollama client sends $OLLAMA_API_KEY as a bearer key when it is set.
        key = os.environ.get("OLLAMA_API_KEY")
        self._redact = Redactor([key, *url_secrets(self.host)])
        self.shown_host = shown_url(self.host)
        warning = insecure_key_warning(self.host, has_key=bool(key), provider=name)
        self.warnings: list[str] = [warning] if warning else []
        # Model -> whether it takes tools in the request (asked once, or learnt from a
        # refusal).
        self._tools: dict[str, bool | None] = {}

    async def _saw_response(self, response: httpx.Response) -> None:
        if response.status_code in (429, 503):
            self.gate.note(parse_retry_after(response.headers.get("retry-after")))

    def _error(self, exc: BaseException) -> ProviderError:
        """A categorised, redacted, length-bounded error (redacted before it is cut)."""
        err = map_error(exc, self.gate.last_s)
        return ProviderError(err.category, self._redact(err.message, MESSAGE_LIMIT),
                             retry_after_s=err.retry_after_s, status=err.status)

    def __repr__(self) -> str:
        return f"OllamaProvider({self.name!r}, {self.shown_host!r})"

    # -- streaming ---------------------------------------------------------------------------
    def _request_fields(
        self, options: Mapping[str, Any] | None, structured: Structured | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
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
        if structured is not None:
            # Ollama turns a JSON schema in `format` into a grammar (0.5 and later); servers
            # from before 0.12.11 ignore `logprobs`, and the confidence is then the stated one.
            fields["format"] = structured.schema
            if structured.top_logprobs:
                fields["logprobs"] = True
                fields["top_logprobs"] = structured.top_logprobs
        if tools:
            fields["tools"] = tools
        return fields

    async def stream_chat(
        self,
        model: str,
        messages: list[ChatMessage],
        *,
        options: dict[str, Any] | None = None,
        timeouts: Timeouts | None = None,
        structured: Structured | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> AsyncGenerator[Chunk, None]:
        """Stream a chat reply as Chunks; the last has ``done=True`` and the call's stats.
        ``tools`` (``{"type": "function", "function": {...}}`` each) go in the request."""
        raw = self._raw_stream(model, messages, self._request_fields(options, structured, tools))
        async with aclosing(guard_stream(raw, timeouts or self.timeouts)) as guarded:
            async for chunk in guarded:
                yield chunk

    async def _raw_stream(
        self, model: str, messages: list[ChatMessage], fields: dict[str, Any]
    ) -> AsyncGenerator[Chunk, None]:
        clock = StatsClock()
        await self.gate.wait()  # a Retry-After from the last call to this server
        try:
            parts = await self._client.chat(model, messages, stream=True, **fields)
        except _CAUGHT as exc:
            raise self._error(exc) from exc
        # aclosing: leaving early (consumer closed us, timeout, cancellation) must close the
        # client's generator at once, since that is what closes the HTTP response.
        async with aclosing(parts):  # type: ignore[type-var]  # ollama types it an iterator
            while True:
                try:
                    part = await anext(parts)
                except StopAsyncIteration:
                    break
                except _CAUGHT as exc:
                    err = self._error(exc)
                    if fields.get("tools") and refuses_tools(err):
                        self._tools[model] = False  # "... does not support tools"
                    raise err from exc
                message = part.message
                text = message.content or ""
                thinking = message.thinking or ""
                calls = _tool_calls(message.tool_calls) if message.tool_calls else None
                logprobs = _logprobs(part.logprobs) if part.logprobs else None
                if part.done:
                    if text or thinking or calls:
                        clock.saw_output()
                    yield Chunk(text, thinking, calls, True, _stats(part, clock),
                                part.done_reason, logprobs)
                    return
                if text or thinking or calls:
                    clock.saw_output()
                yield Chunk(text, thinking, calls, logprobs=logprobs)
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
            raise self._error(exc) from exc

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
                context_length=m.context_length,
            ))
        return out

    async def context_window(self, model: str) -> int | None:
        """The context Ollama runs ``model`` with, when it is loaded (else unknown)."""
        try:
            loaded = await self.loaded_models()
        except ProviderError:
            return None
        return next((m.context_length for m in loaded if m.name == model), None)

    async def list_models(self) -> list[ModelInfo]:
        """The installed models (``/api/tags``), marked ``loaded`` per ``/api/ps``."""
        tags: ollama.ListResponse | BaseException
        ps: list[ModelInfo] | BaseException
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

    async def pull(self, model: str) -> AsyncGenerator[PullProgress, None]:
        """Download ``model`` onto the server (``/api/pull``), step by step; the last step's
        status is "success". Cancel (or close the iterator) to stop: that closes the stream,
        and Ollama stops the download. No timeout bounds a pull (a large model takes long):
        its caller decides when to give up. Raises ProviderError (``model_missing`` for a
        name the registry it pulls from does not know)."""
        try:
            parts = await self._client.pull(model, stream=True)
        except _CAUGHT as exc:
            raise self._pull_error(exc) from exc
        async with aclosing(parts):  # type: ignore[type-var]  # ollama types it an iterator
            while True:
                try:
                    part = await anext(parts)
                except StopAsyncIteration:
                    return
                except _CAUGHT as exc:
                    raise self._pull_error(exc) from exc
                yield PullProgress(part.status or "", part.completed, part.total, part.digest)

    def _pull_error(self, exc: BaseException) -> ProviderError:
        err = self._error(exc)
        lowered = err.message.lower()
        if "does not exist" in lowered or "not found" in lowered:
            return ProviderError(FailureCategory.MODEL_MISSING, err.message, status=err.status)
        return err

    async def native_tools(self, model: str) -> bool | None:
        """Whether ``model`` takes tools in the request: its ``/api/show`` capabilities say
        (an Ollama from before capabilities cannot: None), or a refusal did."""
        if model not in self._tools:
            try:
                shown = await self.show(model)
            except ProviderError:
                return None  # not remembered: the server may answer next time
            caps = shown.get("capabilities")
            self._tools[model] = "tools" in caps if isinstance(caps, list) else None
        return self._tools[model]

    async def show(self, model: str) -> dict[str, Any]:
        """``/api/show`` as a plain dict (``details``, ``model_info``, ``capabilities``, ...)."""
        response: ollama.ShowResponse = await self._call("show", self._client.show(model))
        shown: dict[str, Any] = response.model_dump(mode="json", by_alias=True, exclude_none=True)
        return shown

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
            detail = self._error(exc).message if not isinstance(exc, TimeoutError) \
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
        await self._client.close()  # type: ignore[no-untyped-call]
        if self._http is not None:
            await self._http.aclose()
            self._http = None
