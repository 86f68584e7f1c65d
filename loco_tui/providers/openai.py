"""OpenAI-compatible chat completions (llama.cpp server, LM Studio, vLLM, ...) over httpx.

``stream_chat`` posts ``{base_url}/chat/completions`` with ``stream: true`` and
``stream_options.include_usage``, reads the Server-Sent Events line by line and yields
Chunks: answer text, reasoning kept apart (``reasoning_content`` or ``reasoning``), and on the
last chunk the tool calls reassembled from their deltas plus the call's stats. Every failure
surfaces as a ``ProviderError`` with a category; the API key never appears in one.

Tools go in the request's ``tools``. No OpenAI-compatible API says beforehand whether a
model takes them (llama.cpp's server needs ``--jinja``, vLLM ``--enable-auto-tool-choice``),
so ``native_tools`` is unknown until a server refuses them (``refuses_tools``: llama.cpp
answers 500, vLLM 400): that model then gets them described in its prompt from then on.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from loco_tui.providers.base import (
    ChatMessage,
    Chunk,
    FailureCategory,
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

if TYPE_CHECKING:
    from loco_tui.registry.schema import OpenAIProviderConfig

__all__ = ["OpenAIProvider", "map_options", "refuses_tools"]

# Options every OpenAI-compatible server understands, passed through under their own name.
_PASS = frozenset({
    "temperature", "top_p", "max_tokens", "seed", "stop", "presence_penalty",
    "frequency_penalty", "logit_bias", "response_format", "tools", "tool_choice", "n",
    "max_completion_tokens", "logprobs", "top_logprobs", "user",
})
# Ollama-only knobs the OpenAI API cannot express (num_ctx is set when the server loads the
# model, not per request). Dropped rather than sent, since a strict server rejects them.
_DROP = frozenset({
    "num_ctx", "num_gpu", "num_thread", "num_batch", "num_keep", "main_gpu", "use_mmap",
    "use_mlock", "low_vram", "numa", "vocab_only", "f16_kv", "keep_alive", "mirostat",
    "mirostat_eta", "mirostat_tau", "penalize_newline", "tfs_z", "typical_p",
    "repeat_last_n", "stream", "stream_options", "model", "messages",
})
# Messages are cut to this many characters, after redaction (see credentials.py).
MESSAGE_LIMIT = 300
# One SSE line (one event) longer than this is not a chat delta: stop reading and say so,
# rather than buffer without bound.
MAX_EVENT_BYTES = 4 * 1024 * 1024
_CONTEXT_WORDS = ("context length", "context_length", "context size", "context window",
                  "exceed_context", "maximum context", "too many tokens", "n_ctx")


def map_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Registry/Ollama-style options -> request fields.

    Standard fields pass through; ``num_predict`` becomes ``max_tokens`` (unless that is set,
    and not when it means "unlimited"); Ollama-only knobs are dropped. Anything else (top_k,
    min_p, repeat_penalty, chat_template_kwargs, ...) is passed on: local servers accept their
    own extensions and ignore what they do not know.
    """
    out: dict[str, Any] = {}
    if not options:
        return out
    for key, value in options.items():
        if key == "num_predict":
            if isinstance(value, int) and value > 0 and "max_tokens" not in options:
                out["max_tokens"] = value
        elif key in _DROP:
            continue
        else:
            out[key] = value
    return out


def _format_params(n: Any) -> str | None:
    if not isinstance(n, (int, float)) or n <= 0:
        return None
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if n >= div:
            return f"{n / div:.3g}{unit}"
    return str(int(n))


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


# What servers say when they take no `tools` in the request: Ollama ("... does not support
# tools", 400), llama.cpp's server without --jinja ("tools param requires --jinja flag", a
# 500; builds of early 2025 also "Cannot use tools with stream"), vLLM without
# --enable-auto-tool-choice (400), routers with no tool-capable backend.
# Only these count: a bare 400 is as often a malformed request or an overlong context, and
# asking again without tools would hide the real error.
_TOOLS_REFUSED = re.compile(
    r"does not support tools|tools param requires|--jinja|--enable-auto-tool-choice"
    r"|tool[ _]choice requires|support tool use|tools? (?:are|is) not supported"
    r"|cannot use tools with stream"
    r"|unsupported param\W+tools", re.IGNORECASE)


def refuses_tools(error: ProviderError) -> bool:
    """Whether ``error`` is a server refusing tools in the request (see _TOOLS_REFUSED)."""
    return error.status is not None and error.status >= 400 \
        and _TOOLS_REFUSED.search(error.message) is not None


def looks_like_html(body: bytes, content_type: str = "") -> bool:
    if "html" in content_type.lower():
        return True
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def html_summary(body: bytes) -> str:
    """An HTML page as one line: its title, if it has one (a proxy or login page)."""
    found = _TITLE.search(body[:65536])
    title = " ".join(found.group(1).decode("utf-8", "replace").split()) if found else ""
    return f"an HTML page ({title})" if title else "an HTML page"


def _error_text(body: bytes, content_type: str = "") -> tuple[str, str]:
    """(message, searchable text) from an error body in any of the shapes servers use.
    Not cut: the provider redacts first, then cuts."""
    if looks_like_html(body, content_type):
        return html_summary(body), ""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text, text.lower()
    return _error_from_obj(data)


def _error_from_obj(data: Any) -> tuple[str, str]:
    err = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(err, dict):
        msg = str(err.get("message") or err.get("detail") or err.get("error") or err)
        hay = " ".join(str(err.get(k) or "") for k in ("message", "type", "code"))
    else:
        msg = str(err)
        hay = msg
    return msg, hay.lower()


def _is_context(hay: str) -> bool:
    return any(w in hay for w in _CONTEXT_WORDS)


class OpenAIProvider:
    """A server speaking the OpenAI chat completions API (``base_url`` ends in ``/v1``)."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        api_key: str | None = None,
        timeouts: Timeouts = Timeouts(),
        api_key_env: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts
        self.api_key_env = api_key_env  # only the variable's name, for messages
        self._api_key = api_key or None
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        # What messages show: never credentials, whether a key or user:pass in the URL.
        self._shown_url = shown_url(self.base_url)
        self._redactor = Redactor([self._api_key, *url_secrets(self.base_url)])
        self.gate = RetryGate()
        warning = insecure_key_warning(self.base_url, has_key=bool(self._api_key), provider=name)
        self.warnings: list[str] = [warning] if warning else []
        # Models whose server refused tools in the request.
        self._no_tools: set[str] = set()

    @classmethod
    def from_config(
        cls, name: str, config: OpenAIProviderConfig, env: Mapping[str, str] | None = None
    ) -> OpenAIProvider:
        """Build from a registry entry, reading the key from the variable ``api_key_env``."""
        env = os.environ if env is None else env
        key = env.get(config.api_key_env) if config.api_key_env else None
        t = config.timeouts
        return cls(
            name,
            config.base_url,
            api_key=key,
            api_key_env=config.api_key_env,
            timeouts=Timeouts(connect=t.connect_s, first_token=t.first_token_s, idle=t.idle_s,
                              total=t.total_s),
        )

    def __repr__(self) -> str:
        return f"OpenAIProvider({self.name!r}, {self._shown_url!r})"

    # -- plumbing --------------------------------------------------------------------
    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            headers = {"Accept": "application/json"}
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            t = self.timeouts
            self._client = httpx.AsyncClient(
                headers=headers,
                timeout=httpx.Timeout(t.connect, read=max(10.0, t.connect)),
                transport=self._transport,
            )
        return self._client

    def _redact(self, text: str) -> str:
        return self._redactor(text)

    def _fail(
        self, category: FailureCategory, message: str, retry_after_s: float | None = None,
        status: int | None = None,
    ) -> ProviderError:
        # Redact, then cut: a key straddling the cut would otherwise leak its prefix.
        return ProviderError(category, self._redactor(message, MESSAGE_LIMIT),
                             retry_after_s=retry_after_s, status=status)

    def _status_error(
        self, status: int, body: bytes, model: str | None, headers: httpx.Headers | None = None
    ) -> ProviderError:
        headers = headers or httpx.Headers()
        msg, hay = _error_text(body, headers.get("content-type", ""))
        detail = f"HTTP {status}: {msg}" if msg else f"HTTP {status}"
        if status in (429, 503):
            # 503 is a busy server (vLLM, llama.cpp, a proxy) as much as 429 is: both say
            # "come back later", so both fall back now and make the next call wait.
            wait = parse_retry_after(headers.get("retry-after"))
            self.gate.note(wait)
            when = f"; the server asks to retry after {wait:g}s" if wait is not None else ""
            what = "rate limited" if status == 429 else "server busy"
            return self._fail(FailureCategory.RATE_LIMITED, f"{what}: {detail}{when}", wait,
                              status)
        if status in (401, 403):
            env = f"${self.api_key_env}" if self.api_key_env else "the API key"
            hint = f"check {env}" if self._api_key else f"no API key sent: set {env}"
            return self._fail(FailureCategory.HTTP_ERROR,
                              f"authentication failed at {self._shown_url} ({hint}): {detail}",
                              status=status)
        if status == 404:
            what = f"model {model!r} not found" if model else "not found"
            if "model" not in hay:
                # Not the server saying the model is missing: likely a wrong path.
                what += " (is base_url right? it usually ends in /v1)"
            return self._fail(FailureCategory.MODEL_MISSING,
                              f"{what} at {self._shown_url}: {detail}", status=status)
        if status in (400, 413, 422) and _is_context(hay):
            return self._fail(FailureCategory.CONTEXT_OVERFLOW, f"context overflow: {detail}",
                              status=status)
        return self._fail(FailureCategory.HTTP_ERROR, detail, status=status)

    def _transport_error(self, exc: Exception, streaming: bool) -> ProviderError:
        kind = type(exc).__name__
        detail = str(exc) or kind
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            return self._fail(FailureCategory.UNREACHABLE,
                              f"cannot connect to {self._shown_url}: {detail}")
        if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
            return self._fail(FailureCategory.UNREACHABLE,
                              f"bad base_url {self._shown_url!r}: {detail}")
        if isinstance(exc, httpx.TimeoutException):
            cat = FailureCategory.STALLED if streaming else FailureCategory.TIMEOUT_FIRST_TOKEN
            return self._fail(cat, f"{kind}: {detail}")
        if isinstance(exc, httpx.DecodingError):
            return self._fail(FailureCategory.BAD_OUTPUT, f"undecodable response: {detail}")
        return self._fail(FailureCategory.DROPPED, f"connection lost ({kind}): {detail}")

    def _event_error(self, err: Any) -> ProviderError:
        msg, hay = _error_from_obj({"error": err})
        if _is_context(hay):
            cat = FailureCategory.CONTEXT_OVERFLOW
        elif "rate limit" in hay or "rate_limit" in hay:
            cat = FailureCategory.RATE_LIMITED
        elif "not found" in hay or "not_found" in hay or "does not exist" in hay:
            cat = FailureCategory.MODEL_MISSING
        else:
            cat = FailureCategory.DROPPED
        return self._fail(cat, f"server error mid-stream: {msg}")

    # -- chat ------------------------------------------------------------------------
    def stream_chat(
        self,
        model: str,
        messages: list[ChatMessage],
        options: dict[str, Any] | None = None,
        timeouts: Timeouts | None = None,
        structured: Structured | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> AsyncIterator[Chunk]:
        """Stream a reply as Chunks; the last has ``done=True``, stats and any tool calls.
        ``tools`` (``{"type": "function", "function": {...}}`` each) go in the request.

        Raises ProviderError only. Closing the iterator (or cancelling its consumer) closes
        the HTTP response, which stops generation on the server.
        """
        t = timeouts or self.timeouts
        return guard_stream(self._stream(model, messages, options, t, structured, tools), t)

    async def native_tools(self, model: str) -> bool | None:
        """False once the server refused tools for ``model``; unknown (None) before."""
        return False if model in self._no_tools else None

    async def _stream(
        self, model: str, messages: list[ChatMessage], options: dict[str, Any] | None,
        t: Timeouts, structured: Structured | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> AsyncIterator[Chunk]:
        body: dict[str, Any] = {"model": model, "messages": messages}
        body.update(map_options(options))
        if tools:
            body["tools"] = tools
        want_logprobs = False
        if structured is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": structured.name, "strict": True, "schema": structured.schema}}
            if structured.top_logprobs:
                body["logprobs"] = True
                body["top_logprobs"] = structured.top_logprobs
                want_logprobs = True
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        # Reads are bounded by guard_stream (first token, idle), not by httpx.
        timeout = httpx.Timeout(t.connect, read=None)
        clock = StatsClock()
        saw = clock.saw_output
        loads = json.loads
        finish: str | None = None
        done = False
        usage: dict[str, Any] | None = None
        timings: Any = None
        calls: dict[int, list[Any]] = {}  # index -> [name, [argument pieces], id]
        headers_seen = False
        await self.gate.wait()  # a Retry-After from the last call to this server
        try:
            async with self._http().stream(
                "POST", self.base_url + "/chat/completions", json=body, timeout=timeout
            ) as resp:
                headers_seen = True
                if resp.status_code >= 400:
                    err = self._status_error(
                        resp.status_code, await resp.aread(), model, resp.headers)
                    if tools and refuses_tools(err):
                        self._no_tools.add(model)
                    raise err
                ctype = resp.headers.get("content-type", "")
                if "html" in ctype.lower():
                    page = await _read_capped(resp, 65536)
                    raise self._fail(
                        FailureCategory.BAD_OUTPUT,
                        f"{self._shown_url} answered with {html_summary(page)}, not an event "
                        "stream (is base_url right? it usually ends in /v1)")
                if "event-stream" not in ctype and "json" in ctype:
                    # A server that ignored stream:true answers with one completion object.
                    yield self._whole(await resp.aread(), clock)
                    return
                # SSE, split here on bytes: cheaper than aiter_lines' text decoding, and
                # json.loads takes bytes. Events are single `data:` lines on every server
                # we target; blank lines, `:` comments and event:/id:/retry: are skipped.
                splitter = LineSplitter(MAX_EVENT_BYTES)
                reads = resp.aiter_bytes()
                try:
                    while not done:
                        raw = await anext(reads, None)
                        try:
                            lines = splitter.feed(raw) if raw is not None else splitter.close()
                        except LineTooLong:
                            raise self._fail(
                                FailureCategory.BAD_OUTPUT,
                                f"the server sent an event line over "
                                f"{MAX_EVENT_BYTES // 2**20} MiB; stopped reading (cut)",
                            ) from None
                        for line in lines:
                            if line[:5] != b"data:":
                                continue
                            data = line[5:].strip()
                            if data == b"[DONE]":
                                done = True
                                break
                            try:
                                obj = loads(data)
                            except UnicodeDecodeError:
                                # One invalid UTF-8 byte must not lose the reply: U+FFFD.
                                try:
                                    obj = loads(data.decode("utf-8", "replace"))
                                except ValueError:
                                    raise self._fail(
                                        FailureCategory.BAD_OUTPUT,
                                        f"malformed event from server: {data[:120]!r}",
                                    ) from None
                            except ValueError:
                                raise self._fail(
                                    FailureCategory.BAD_OUTPUT,
                                    f"malformed event from server: {data[:120]!r}") from None
                            if type(obj) is not dict:
                                raise self._fail(
                                    FailureCategory.BAD_OUTPUT,
                                    f"unexpected event from server: {data[:120]!r}")
                            if obj.get("error"):
                                raise self._event_error(obj["error"])
                            u = obj.get("usage")
                            if u:
                                usage = u
                            if "timings" in obj:  # llama.cpp's server: its own clock
                                timings = obj["timings"]
                            choices = obj.get("choices")
                            if not choices:
                                continue  # the usage-only chunk, or choices: null
                            choice = choices[0]
                            delta = choice.get("delta")
                            if delta:
                                text = delta.get("content") or ""
                                thinking = (delta.get("reasoning_content")
                                            or delta.get("reasoning") or "")
                                if text or thinking:
                                    saw()
                                    yield Chunk(text, thinking, logprobs=_logprobs(
                                        choice.get("logprobs")) if want_logprobs else None)
                                tcs = delta.get("tool_calls")
                                if tcs:
                                    _add_tool_deltas(calls, tcs)
                                    if not (text or thinking):
                                        saw()
                                        # Keep-alive: arguments may stream for long and the
                                        # idle timeout must see them; the calls themselves
                                        # come whole on the last chunk.
                                        yield Chunk()
                            reason = choice.get("finish_reason")
                            if reason:
                                finish = reason
                        if raw is None:
                            break
                except httpx.HTTPError:
                    if finish is None:
                        raise
                    # Cut after the finish chunk: the reply is whole, only usage is lost.
        except ProviderError:
            raise
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, headers_seen) from None
        if finish is None and not done:
            raise self._fail(FailureCategory.DROPPED,
                             "stream ended before the reply finished (no finish_reason/[DONE])")
        tokens_in = tokens_out = gen_ms = None
        if usage:
            tokens_in = usage.get("prompt_tokens")
            tokens_out = usage.get("completion_tokens")
        if isinstance(timings, dict):
            gen_ms = timings.get("predicted_ms")
            if tokens_in is None:  # llama.cpp's server counts the prompt in its timings
                tokens_in = timings.get("prompt_n")
        yield Chunk(
            done=True,
            tool_calls=_finish_tool_calls(calls) if calls else None,
            stats=clock.stats(
                tokens_in=tokens_in if isinstance(tokens_in, int) else None,
                tokens_out=tokens_out if isinstance(tokens_out, int) else None,
                gen_seconds=gen_ms / 1000 if isinstance(gen_ms, (int, float)) and gen_ms > 0
                else None),
            done_reason=finish or "stop",
        )

    def _whole(self, body: bytes, clock: StatsClock) -> Chunk:
        """A non-streamed ``chat.completion`` as one final chunk (text included)."""
        try:
            obj = json.loads(body)
            choice = obj["choices"][0]
            msg = choice.get("message") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise self._fail(FailureCategory.BAD_OUTPUT,
                             f"unexpected response: {body[:120]!r}") from None
        if isinstance(obj, dict) and obj.get("error"):
            raise self._event_error(obj["error"])
        text = msg.get("content") or ""
        thinking = msg.get("reasoning_content") or msg.get("reasoning") or ""
        clock.saw_output()
        calls: dict[int, list[Any]] = {}
        if msg.get("tool_calls"):
            _add_tool_deltas(calls, msg["tool_calls"])
        usage = obj.get("usage") or {}
        out = usage.get("completion_tokens")
        return Chunk(
            text=text, thinking=thinking, done=True,
            tool_calls=_finish_tool_calls(calls) if calls else None,
            stats=clock.stats(tokens_in=_int_or_none(usage.get("prompt_tokens")),
                              tokens_out=out if isinstance(out, int) else None),
            done_reason=choice.get("finish_reason") or "stop",
        )

    # -- the rest of the protocol ----------------------------------------------------
    async def _get_models(self) -> list[ModelInfo]:
        try:
            resp = await self._http().get(self.base_url + "/models")
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, False) from None
        if resp.status_code >= 400:
            raise self._status_error(resp.status_code, resp.content, None, resp.headers)
        try:
            data = resp.json().get("data")
            if data is None:
                data = []
            models = []
            for m in data:
                meta = m.get("meta") or {}  # llama.cpp server adds n_params / size
                models.append(ModelInfo(
                    name=str(m["id"]),
                    parameter_size=_format_params(meta.get("n_params")),
                    size_bytes=meta.get("size") if isinstance(meta.get("size"), int) else None,
                    # vLLM says what it serves the model with; llama.cpp only what the
                    # model was trained with, which its server may not allocate.
                    context_length=_int_or_none(m.get("max_model_len")),
                ))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise self._fail(FailureCategory.BAD_OUTPUT,
                             f"unexpected /models response: {resp.text[:120]!r}") from None
        return models

    async def list_models(self) -> list[ModelInfo]:
        """``GET {base_url}/models``. Raises ProviderError."""
        return await self._get_models()

    async def context_window(self, model: str) -> int | None:
        try:
            models = await self._get_models()
        except ProviderError:
            return None
        return next((m.context_length for m in models if m.name == model), None)

    async def health(self) -> Health:
        """Reachability, latency and the model list. Never raises (except on cancel)."""
        start = time.monotonic()
        try:
            models = await self._get_models()
        except ProviderError as exc:
            latency = time.monotonic() - start
            return Health(up=False, latency_s=latency if
                          exc.category is not FailureCategory.UNREACHABLE else None,
                          detail=exc.message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - health must never raise
            return Health(up=False, detail=self._redact(f"{type(exc).__name__}: {exc}"))
        latency = time.monotonic() - start
        return Health(up=True, latency_s=latency, detail=f"{len(models)} models",
                      models=models)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class LineTooLong(Exception):
    """A line grew past the splitter's limit without ending."""


class LineSplitter:
    """Bytes in, complete lines out. A line cut across reads is kept as pieces and joined
    once, when its end arrives: growth stays linear however the server splits its writes,
    and a line that never ends is refused past ``limit`` bytes instead of filling memory."""

    __slots__ = ("_limit", "_partial", "_size")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._partial: list[bytes] = []
        self._size = 0

    def feed(self, raw: bytes) -> list[bytes]:
        end = raw.rfind(b"\n")
        if end < 0:
            self._partial.append(raw)
            self._size += len(raw)
            if self._size > self._limit:
                raise LineTooLong
            return []
        if self._partial:
            self._partial.append(raw[: end + 1])
            block = b"".join(self._partial)
            self._partial.clear()
        else:
            block = raw[: end + 1] if end + 1 < len(raw) else raw
        tail = raw[end + 1 :]
        if tail:
            self._partial.append(tail)
        self._size = len(tail)
        lines = block.split(b"\n")
        lines.pop()  # the empty piece after the last newline
        if len(block) > self._limit and any(len(line) > self._limit for line in lines):
            raise LineTooLong
        return lines

    def close(self) -> list[bytes]:
        """What is left once the stream ends: a last line the server did not terminate."""
        rest = b"".join(self._partial)
        self._partial.clear()
        self._size = 0
        return [rest] if rest else []


def _logprobs(found: Any) -> list[TokenLogprob] | None:
    """``choices[0].logprobs.content`` of a chunk as TokenLogprobs (None when absent or
    not in the shape OpenAI documents)."""
    content = found.get("content") if isinstance(found, dict) else None
    if not isinstance(content, list):
        return None
    out = []
    for entry in content:
        if not isinstance(entry, dict):
            continue
        token, logprob = entry.get("token"), entry.get("logprob")
        if not isinstance(token, str) or not isinstance(logprob, (int, float)):
            continue
        top = tuple(
            (alt["token"], float(alt["logprob"])) for alt in entry.get("top_logprobs") or ()
            if isinstance(alt, dict) and isinstance(alt.get("token"), str)
            and isinstance(alt.get("logprob"), (int, float)))
        out.append(TokenLogprob(token, float(logprob), top))
    return out or None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _read_capped(resp: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of a body (an HTML page may be endless)."""
    pieces: list[bytes] = []
    size = 0
    async for piece in resp.aiter_bytes():
        pieces.append(piece)
        size += len(piece)
        if size >= limit:
            break
    return b"".join(pieces)[:limit]


def _add_tool_deltas(calls: dict[int, list[Any]], deltas: Any) -> None:
    """Merge ``delta.tool_calls`` into ``calls`` (index -> [name, [argument pieces], id])."""
    if not isinstance(deltas, list):
        return
    for d in deltas:
        if not isinstance(d, dict):
            continue
        call_id = d.get("id")
        index = d.get("index")
        if not isinstance(index, int):  # servers that omit the index: go by id
            index = next((i for i, c in calls.items() if call_id and c[2] == call_id), None)
            if index is None:
                index = len(calls) if call_id or not calls else max(calls)
        entry = calls.get(index)
        if entry is None:
            entry = calls[index] = ["", [], call_id]
        fn = d.get("function") or {}
        name = fn.get("name")
        if name and name != entry[0]:  # some servers repeat the whole name on every delta
            entry[0] += name
        args = fn.get("arguments")
        if args:
            entry[1].append(args if isinstance(args, str) else json.dumps(args))


def _finish_tool_calls(calls: dict[int, list[Any]]) -> list[dict[str, Any]]:
    out = []
    for index in sorted(calls):
        name, pieces, _ = calls[index]
        raw = "".join(pieces)
        arguments: dict[str, Any]
        if not raw.strip():
            arguments = {}
        else:
            try:
                decoded = json.loads(raw)
            except ValueError:
                decoded = None
            arguments = decoded if isinstance(decoded, dict) else {"_raw": raw}
        out.append({"name": name, "arguments": arguments})
    return out
