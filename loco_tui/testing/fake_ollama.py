"""A fake Ollama server: Ollama's native wire format over real HTTP on loopback.

Tests, benchmarks and demos point an Ollama client (or ``loco``) at it. What each model answers
comes from a :class:`~loco_tui.testing.script.Script`; the fault modes of a Reply become what a
real Ollama does when things go wrong (404/429/500/400 before the stream, an ``{"error":…}``
line on a 200 stream, a cut connection, a silent socket).

Endpoints: ``POST /api/chat`` and ``POST /api/generate`` (NDJSON streaming, or one object with
``stream: false``), ``GET /api/tags``, ``GET /api/ps``, ``POST /api/show``, ``POST /api/pull``
(progress lines for a model of ``Script.pullable``), ``GET /api/version`` and ``GET /``
("Ollama is running").

Run a demo server with ``python -m loco_tui.testing.fake_ollama --port 11434 [--delay 0.03]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import socket
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from loco_tui.providers.base import TokenLogprob
from loco_tui.testing.http import (
    DropConnection,
    LoopbackServer,
    Request,
    Response,
    html_page,
    verbatim,
)
from loco_tui.testing.script import (
    Fault,
    Generation,
    Reply,
    Script,
    prompt_tokens,
    tool_names,
    wants_schema,
)

__all__ = ["FakeOllama", "demo_script", "main"]

NDJSON = "application/x-ndjson"
CONTEXT_LENGTH = 32768
_MODIFIED_AT = "2025-10-26T17:15:24.097767+00:00"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _ns(seconds: float) -> int:
    return max(1, int(seconds * 1e9))


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def _error(status: int, message: str) -> Response:
    return Response.json({"error": message}, status)


def _family(model: str) -> str:
    base = model.split(":", 1)[0].split("/")[-1].lower()
    for prefix, family in (("qwen3", "qwen3"), ("qwen", "qwen2"), ("llama", "llama"),
                           ("mistral", "llama"), ("hermes", "llama"), ("gemma", "gemma3"),
                           ("phi", "phi3"), ("smollm", "llama"), ("deepseek", "qwen2")):
        if base.startswith(prefix):
            return family
    match = re.match(r"[a-z]+", base)
    return match.group(0) if match else "llama"


def _parameter_count(parameter_size: str) -> int:
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMBT]?)\s*", parameter_size.upper())
    if not match:
        return 7_000_000_000
    scale = {"": 1, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[match.group(2)]
    return int(float(match.group(1)) * scale)


class FakeOllama(LoopbackServer):
    """Serve ``script`` the way Ollama would. Use as a context manager.

    ``num_parallel`` (like ``OLLAMA_NUM_PARALLEL``) limits concurrent generations per model;
    further requests queue, so their first token comes later. ``None`` means no limit.

    A request whose ``format`` is a JSON schema gets the scripted ``Reply.constrained``
    (when there is one): a constrained model answers in JSON. ``schema_support=False``
    plays an Ollama from before structured outputs, which refuses such a request (400).
    A request with ``tools`` gets the scripted ``Reply.with_tools`` (when there is one);
    a model in ``Script.no_tools`` refuses it (400 "does not support tools") and its
    ``/api/show`` capabilities leave "tools" out. ``tools_sent`` says what each chat carried.
    With ``logprobs: true`` each piece carries its scripted ``Reply.logprobs``.
    ``generations`` records when each generation was received and when it finished.
    """

    def __init__(
        self,
        script: Script | None = None,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        num_parallel: int | None = None,
        version: str = "0.12.6",
        schema_support: bool = True,
        pull_step_s: float = 0.02,
    ) -> None:
        super().__init__(self._handle, host=host, port=port)
        if script is None:
            script = Script().add("llama3.2:3b", Reply(), parameter_size="3.2B")
        self.script = script
        self.num_parallel = num_parallel
        self.version = version
        self.schema_support = schema_support
        self.pull_step_s = pull_step_s
        self.generations: list[Generation] = []
        self._slots: dict[str, asyncio.Semaphore] = {}

    # -- helpers for tests -------------------------------------------------------------
    def bodies(self, path: str | None = None) -> list[Any]:
        """The JSON bodies of the recorded requests (to ``path`` if given), oldest first."""
        return [r.json() for r in list(self.requests) if path is None or r.path == path]

    def last_body(self, path: str = "/api/chat") -> Any:
        bodies = self.bodies(path)
        return bodies[-1] if bodies else None

    def tools_sent(self, model: str | None = None) -> list[list[str] | None]:
        """The tool names each chat request (to ``model`` if given) carried, oldest first;
        None for a request without tools."""
        return [tool_names(b) for b in self.bodies("/api/chat")
                if isinstance(b, dict) and (model is None or b.get("model") == model)]

    # -- routing -----------------------------------------------------------------------
    async def _handle(self, request: Request) -> Response:
        route = (request.method, request.path)
        if request.path in ("/", "") and request.method in ("GET", "HEAD"):
            return Response(body=b"Ollama is running", content_type="text/plain; charset=utf-8")
        if route == ("GET", "/api/version"):
            return Response.json({"version": self.version})
        if route == ("GET", "/api/tags"):
            return Response.json({"models": [self._model_entry(m) for m in self.script.models]})
        if route == ("GET", "/api/ps"):
            return Response.json({"models": self._ps_entries()})
        if route == ("POST", "/api/show"):
            return self._show(request)
        if route == ("POST", "/api/pull"):
            return self._pull(request)
        if route == ("POST", "/api/chat"):
            return await self._generate(request, chat=True)
        if route == ("POST", "/api/generate"):
            return await self._generate(request, chat=False)
        return Response(status=404, body=b"404 page not found", content_type="text/plain")

    # -- model metadata ------------------------------------------------------------------
    def _details(self, model: str) -> dict[str, Any]:
        family = _family(model)
        return {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": self.script.parameter_sizes.get(model, "7.6B"),
            "quantization_level": "Q4_K_M",
        }

    def _size(self, model: str) -> int:
        # Q4_K_M is about 4.85 bits per weight.
        params = _parameter_count(self.script.parameter_sizes.get(model, "7.6B"))
        return int(params * 0.606)

    def _model_entry(self, model: str) -> dict[str, Any]:
        return {
            "name": model,
            "model": model,
            "modified_at": _MODIFIED_AT,
            "size": self._size(model),
            "digest": hashlib.sha256(model.encode()).hexdigest(),
            "details": self._details(model),
        }

    def _ps_entries(self) -> list[dict[str, Any]]:
        expires = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        entries = []
        for model in sorted(self.script.loaded):
            entry = self._model_entry(model)
            del entry["modified_at"]
            size = entry["size"] + 400_000_000  # weights plus a KV cache
            entry.update(size=size, size_vram=size, expires_at=expires,
                         context_length=CONTEXT_LENGTH)
            entries.append(entry)
        return entries

    def _show(self, request: Request) -> Response:
        body = request.json() or {}
        model = body.get("model") or body.get("name") or ""
        if not model:
            return _error(400, "model is required")
        if model not in self.script.replies:
            return _error(404, f"model '{model}' not found")
        details = self._details(model)
        family = details["family"]
        return Response.json({
            "modelfile": f"# Modelfile generated by \"ollama show\"\nFROM {model}\n",
            "parameters": "temperature 0.7\nnum_ctx 4096",
            "template": "{{ .System }}\n{{ .Prompt }}",
            "details": details,
            "model_info": {
                "general.architecture": family,
                "general.parameter_count": _parameter_count(details["parameter_size"]),
                f"{family}.context_length": CONTEXT_LENGTH,
            },
            "capabilities": ["completion"] if model in self.script.no_tools
            else ["completion", "tools"],
            "modified_at": _MODIFIED_AT,
        })

    def _pull(self, request: Request) -> Response:
        body = request.json() or {}
        model = str(body.get("model") or body.get("name") or "")
        return Response(content_type=NDJSON, stream=self._pull_steps(model))

    async def _pull_steps(self, model: str) -> AsyncIterator[bytes]:
        """What Ollama streams while it pulls: a manifest, one layer in steps, checks, and
        "success" (the model is then installed); an unknown name fails after the manifest."""
        yield _line({"status": "pulling manifest"})
        await asyncio.sleep(self.pull_step_s)
        reply = self.script.pullable.get(model)
        if reply is None:
            yield _line({"error": "pull model manifest: file does not exist"})
            return
        digest = "sha256:" + hashlib.sha256(model.encode()).hexdigest()
        total = 4 * 1024 * 1024
        for completed in (0, total // 4, total // 2, total):
            yield _line({"status": f"pulling {digest[7:19]}", "digest": digest,
                         "total": total, "completed": completed})
            await asyncio.sleep(self.pull_step_s)
        for status in ("verifying sha256 digest", "writing manifest"):
            yield _line({"status": status})
        self.script.add(model, reply)
        yield _line({"status": "success"})

    # -- generation ----------------------------------------------------------------------
    async def _generate(self, request: Request, *, chat: bool) -> Response:
        received = time.monotonic()
        try:
            body = request.json() or {}
        except ValueError as exc:
            return _error(400, f"invalid character in request body: {exc}")
        if not isinstance(body, dict):
            return _error(400, "json: cannot unmarshal request body")
        model = body.get("model") or ""
        if not model:
            return _error(400, "model is required")
        if chat:
            messages = list(body.get("messages") or [])
        else:
            messages = []
            if body.get("system"):
                messages.append({"role": "system", "content": body["system"]})
            if body.get("prompt"):
                messages.append({"role": "user", "content": body["prompt"]})
        reply = self.script.reply_for(model, messages)
        if reply is None or reply.fault is Fault.MODEL_MISSING:
            return _error(404, f"model '{model}' not found")
        if wants_schema(body) is not None:
            if not self.schema_support:
                return _error(400, 'invalid format: format must be "" or "json"')
            reply = reply.constrained or reply
        if tool_names(body) is not None:
            if model in self.script.no_tools:
                return _error(400, f"registry.ollama.ai/library/{model} does not support "
                                   "tools")
            reply = reply.with_tools or reply
        if reply.fault is Fault.HTTP_500:
            return _error(500, "llama runner process has terminated: exit status 2")
        if reply.fault in (Fault.RATE_LIMITED, Fault.SERVER_BUSY):
            status, text = (429, "too many requests, please try again later") \
                if reply.fault is Fault.RATE_LIMITED else (503, "server busy, please try again. "
                                                           "maximum pending requests exceeded")
            busy = _error(status, text)
            if reply.retry_after_s is not None:
                busy.headers["Retry-After"] = f"{reply.retry_after_s:g}"
            return busy
        if reply.fault is Fault.HTML_PAGE:
            return html_page()
        if reply.raw_body is not None:
            return Response(stream=verbatim(reply.raw_body, reply.first_token_delay_s),
                            content_type=NDJSON)
        if reply.fault is Fault.EMPTY_CHUNKS:
            return Response(stream=self._empty_chunks(model, chat, reply.piece_delay_s or 0.05),
                            content_type=NDJSON)
        tokens_in = reply.tokens_in if reply.tokens_in is not None else prompt_tokens(messages)
        if reply.fault is Fault.CONTEXT_OVERFLOW:
            return _error(400, f"the input length ({max(tokens_in, CONTEXT_LENGTH + 1)} tokens) "
                               f"exceeds the context length ({CONTEXT_LENGTH} tokens)")

        stream = body.get("stream", True) is not False
        pieces = self._pieces(model, messages, reply, body, tokens_in, received, chat)
        if stream:
            return Response(content_type=NDJSON, stream=pieces)
        if reply.fault is Fault.ERROR_MIDSTREAM:
            await pieces.aclose()
            return _error(500, "an error was encountered while running the model: "
                               "unexpected EOF")
        if reply.fault in (Fault.DROP, Fault.STALL):
            # Headers go out first so that the cut (or the silence) happens mid-body.
            return Response(content_type="application/json", stream=self._merged(pieces, chat))
        merged = [p async for p in self._merged(pieces, chat)]
        return Response(body=merged[0].rstrip(b"\n"))

    async def _empty_chunks(self, model: str, chat: bool, every: float) -> AsyncIterator[bytes]:
        """A busy-looking stream that says nothing, until the client hangs up."""
        while True:
            yield _line(self._part(model, chat, ""))
            await asyncio.sleep(every)

    async def _merged(self, pieces: AsyncIterator[bytes], chat: bool) -> AsyncIterator[bytes]:
        """``stream: false``: everything the stream would say, folded into one object."""
        key = "message" if chat else "response"
        text, thinking, calls = [], [], []
        final: dict[str, Any] = {}
        async for raw in pieces:
            for line in raw.splitlines():
                part = json.loads(line)
                if chat:
                    text.append(part["message"].get("content", ""))
                    thinking.append(part["message"].get("thinking", ""))
                    calls.extend(part["message"].get("tool_calls", []))
                else:
                    text.append(part.get("response", ""))
                    thinking.append(part.get("thinking", ""))
                if part.get("done"):
                    final = part
        if chat:
            message: dict[str, Any] = {"role": "assistant", "content": "".join(text)}
            if any(thinking):
                message["thinking"] = "".join(thinking)
            if calls:
                message["tool_calls"] = calls
            final[key] = message
        else:
            final[key] = "".join(text)
            if any(thinking):
                final["thinking"] = "".join(thinking)
        yield _line(final)

    async def _pieces(
        self,
        model: str,
        messages: list[dict[str, Any]],
        reply: Reply,
        body: dict[str, Any],
        tokens_in: int,
        received: float,
        chat: bool,
    ) -> AsyncGenerator[bytes, None]:
        slot = self._slot(model)
        index = len(self.generations)
        self.generations.append(Generation(model, received))
        logprobs = bool(body.get("logprobs"))
        if slot is not None:
            await slot.acquire()
        try:
            loaded_at = time.monotonic()
            if not messages and (chat or not body.get("prompt")):
                # An empty request loads (or, with keep_alive 0, unloads) the model.
                reason = "unload" if body.get("keep_alive") in (0, "0", "0s") else "load"
                yield _line(self._part(model, chat, "", done=True, done_reason=reason))
                return

            if reply.first_token_delay_s > 0:
                await asyncio.sleep(reply.first_token_delay_s)
            first_at: float | None = None
            sent = 0
            think_wanted = body.get("think") is not False
            plan: list[tuple[str, Any]] = []
            if think_wanted:
                plan += [("thinking", t) for t in reply.thinking]
            plan += [("content", (i, p)) for i, p in enumerate(reply.pieces)]
            if reply.tool_calls:
                plan.append(("tool_calls", reply.tool_calls))
            midstream = reply.fault in (Fault.DROP, Fault.STALL, Fault.ERROR_MIDSTREAM)
            # Zero-delay pieces go out in batches (as TCP would coalesce them anyway), so a
            # benchmark measures the client rather than this server's per-write cost.
            coalesce = reply.piece_delay_s <= 0
            batch: list[bytes] = []
            batched = 0
            for kind, value in plan:
                if midstream and sent >= reply.fault_after:
                    break
                if sent and reply.piece_delay_s > 0:
                    await asyncio.sleep(reply.piece_delay_s)
                if first_at is None:
                    first_at = time.monotonic()
                if kind == "thinking":
                    line = _line(self._part(model, chat, "", thinking=value))
                elif kind == "content":
                    part = self._part(model, chat, value[1])
                    scripted = reply.logprob_of(value[0]) if logprobs else None
                    if scripted is not None:
                        part["logprobs"] = [_wire_logprob(scripted)]
                    line = _line(part)
                else:
                    line = _line(self._part(model, chat, "", tool_calls=value))
                sent += 1
                if not coalesce:
                    yield line
                    continue
                batch.append(line)
                batched += len(line)
                if batched >= 16384:
                    yield b"".join(batch)
                    batch.clear()
                    batched = 0
            if batch:
                yield b"".join(batch)

            if reply.fault is Fault.DROP:
                raise DropConnection
            if reply.fault is Fault.STALL:
                await asyncio.Event().wait()  # ended by the client hanging up
            if reply.fault is Fault.ERROR_MIDSTREAM:
                yield _line({"error": "an error was encountered while running the model: "
                                      "unexpected EOF"})
                return

            end = time.monotonic()
            first_at = first_at if first_at is not None else end
            num_predict = (body.get("options") or {}).get("num_predict")
            done_reason = reply.finish_reason or (
                "length" if num_predict is not None and 0 <= num_predict <= sent else "stop")
            final = self._part(model, chat, "", done=True, done_reason=done_reason)
            final.update(
                total_duration=_ns(end - received),
                load_duration=_ns(loaded_at - received),
                prompt_eval_count=tokens_in,
                prompt_eval_duration=_ns(first_at - loaded_at),
                eval_count=sent,
                eval_duration=_ns(end - first_at),
            )
            if not chat:
                final["context"] = list(range(1, tokens_in + sent + 1))[:4096]
            yield _line(final)
            self.generations[index] = replace(self.generations[index],
                                              finished=time.monotonic())
        finally:
            if slot is not None:
                slot.release()

    def _slot(self, model: str) -> asyncio.Semaphore | None:
        if self.num_parallel is None:
            return None
        slot = self._slots.get(model)
        if slot is None:  # created on the server's own loop, on first use
            slot = self._slots[model] = asyncio.Semaphore(self.num_parallel)
        return slot

    @staticmethod
    def _part(
        model: str,
        chat: bool,
        content: str,
        *,
        thinking: str | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        done: bool = False,
        done_reason: str | None = None,
    ) -> dict[str, Any]:
        part: dict[str, Any] = {"model": model, "created_at": _now_iso()}
        if chat:
            message: dict[str, Any] = {"role": "assistant", "content": content}
            if thinking:
                message["thinking"] = thinking
            if tool_calls:
                message["tool_calls"] = [_wire_tool_call(c) for c in tool_calls]
            part["message"] = message
        else:
            part["response"] = content
            if thinking:
                part["thinking"] = thinking
        part["done"] = done
        if done_reason is not None:
            part["done_reason"] = done_reason
        return part


def _wire_logprob(entry: TokenLogprob) -> dict[str, Any]:
    """Ollama's shape: ``{"token", "logprob", "top_logprobs": [{"token", "logprob"}]}``."""
    return {"token": entry.token, "logprob": entry.logprob,
            "top_logprobs": [{"token": t, "logprob": lp} for t, lp in entry.top]}


def _wire_tool_call(call: dict[str, Any]) -> dict[str, Any]:
    """Accept ``{"name", "arguments"}`` or Ollama's own ``{"function": {...}}``."""
    if "function" in call:
        return call
    return {"function": {"name": call.get("name", ""), "arguments": call.get("arguments", {})}}


# -- demo --------------------------------------------------------------------------------
def _last_user(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


def _topic(prompt: str) -> str:
    text = " ".join(prompt.split())
    first = re.split(r"(?<=[.?!])\s", text, maxsplit=1)[0].rstrip(".?!")
    if len(first) > 60:
        first = first[:57].rsplit(" ", 1)[0] + "..."
    return first or "your request"


def _is_judging(messages: list[dict[str, Any]]) -> bool:
    text = " ".join(str(m.get("content") or "") for m in messages).lower()
    return "winner" in text and ("candidate" in text or "answer a" in text or "[a]" in text
                                 or "label" in text or "response a" in text)


def _verdict(messages: list[dict[str, Any]], pick: str, reason: str) -> str:
    text = " ".join(str(m.get("content") or "") for m in messages)
    labels = sorted(set(re.findall(r"\b(?:Candidate|Answer|Response|Label)\s+([A-E])\b", text)))
    winner = pick if pick in labels or not labels else labels[0]
    return f'{{"winner": "{winner}", "mode": "pick", "confidence": 0.8, "reason": "{reason}"}}'


def demo_script(delay: float = 0.03) -> Script:
    """Four plausible models whose answers depend on the prompt (for demos of ``loco``)."""

    def coder(model: str, messages: list[dict[str, Any]]) -> Reply:
        if _is_judging(messages):
            return Reply.text(_verdict(messages, "A", "A is correct and handles the edge "
                                                    "cases; the others miss the empty input."),
                              first_token_delay_s=8 * delay, piece_delay_s=delay)
        prompt = _last_user(messages)
        topic = _topic(prompt)
        lowered = prompt.lower()
        if any(w in lowered for w in ("slow", "speed", "fast", "perf", "optimi")):
            text = (
                f"For \"{topic}\", measure before changing anything.\n\n"
                "1. Profile a representative run: `python -m cProfile -o prof.out main.py`, "
                "then sort by cumulative time.\n"
                "2. Fix the top entry only, and re-measure; the second hotspot often moves.\n"
                "3. Cache pure, repeated work:\n\n"
                "```python\n"
                "from functools import lru_cache\n\n"
                "@lru_cache(maxsize=1024)\n"
                "def load_config(path: str) -> dict:\n"
                "    return parse(path)\n"
                "```\n\n"
                "Typical wins are 2-10x from removing repeated I/O, not from micro-tuning."
            )
        elif any(w in lowered for w in ("bug", "fix", "error", "traceback", "crash", "fail")):
            text = (
                f"Let's debug \"{topic}\" systematically.\n\n"
                "1. Reproduce it with a minimal failing test first, so the fix is verifiable.\n"
                "2. Read the traceback bottom-up: the last frame in *your* code is usually "
                "where the wrong value was created.\n"
                "3. Guard the edge case explicitly:\n\n"
                "```python\n"
                "def first_item(items: list[str]) -> str | None:\n"
                "    return items[0] if items else None\n"
                "```\n\n"
                "Then run the whole suite: a fix that breaks a neighbour is not a fix."
            )
        else:
            text = (
                f"Here is a focused approach to \"{topic}\".\n\n"
                "1. Start from the interface: write the call you wish you could make.\n"
                "2. Keep the pure logic in a small function and cover the edge cases "
                "(empty input, unicode, very large values).\n"
                "3. Add a test per behaviour before wiring it in.\n\n"
                "```python\n"
                "def dedupe(items: list[str]) -> list[str]:\n"
                "    \"\"\"Drop repeats, keeping the first occurrence's order.\"\"\"\n"
                "    return list(dict.fromkeys(items))\n"
                "```\n\n"
                "This runs in O(n) time and keeps the original order, which is usually what "
                "callers expect."
            )
        return Reply.text(text, first_token_delay_s=8 * delay, piece_delay_s=delay)

    def generalist(model: str, messages: list[dict[str, Any]]) -> Reply:
        if _is_judging(messages):
            return Reply.text(_verdict(messages, "B", "B is the clearest and most complete "
                                                    "answer."),
                              first_token_delay_s=5 * delay, piece_delay_s=delay / 2)
        topic = _topic(_last_user(messages))
        text = (
            f"Good question about \"{topic}\". In short: start simple and measure. "
            "The most common mistake is optimising before knowing where the time goes. "
            "I would sketch the smallest version that works end to end, show it to someone, "
            "and only then decide which part deserves more care. "
            "If you share a bit more context, I can suggest concrete next steps."
        )
        return Reply.text(text, first_token_delay_s=5 * delay, piece_delay_s=delay / 2)

    def skeptic(model: str, messages: list[dict[str, Any]]) -> Reply:
        topic = _topic(_last_user(messages))
        text = (
            f"Before committing to \"{topic}\", consider what could go wrong. "
            "First, the happy path hides failure modes: timeouts, partial writes and retries "
            "that duplicate work. Second, assumptions about input size rarely hold in "
            "production. Third, every new dependency is a maintenance cost. "
            "My recommendation: write down the two riskiest assumptions and test them first."
        )
        return Reply.text(text, first_token_delay_s=12 * delay, piece_delay_s=1.5 * delay)

    def tool_user(model: str, messages: list[dict[str, Any]]) -> Reply:
        if _is_judging(messages):
            return Reply.text(_verdict(messages, "B", "B is specific and testable; the "
                                                    "others stay general."),
                              first_token_delay_s=6 * delay, piece_delay_s=delay)
        topic = _topic(_last_user(messages))
        query = json.dumps(topic)
        text = (
            "That needs up-to-date information, so I will not guess. I will search first.\n"
            "<tool_call>\n"
            f'{{"name": "web_search", "arguments": {{"query": {query}, "max_results": 3}}}}\n'
            "</tool_call>"
        )
        return Reply.text(text, first_token_delay_s=6 * delay, piece_delay_s=delay)

    script = Script()
    script.add("qwen2.5-coder:7b", coder, parameter_size="7.6B")
    script.add("llama3.2:3b", generalist, parameter_size="3.2B")
    script.add("mistral:7b", skeptic, parameter_size="7.2B")
    script.add("hermes3:8b", tool_user, parameter_size="8.0B")
    script.loaded = {"qwen2.5-coder:7b", "llama3.2:3b"}
    return script


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loco_tui.testing.fake_ollama",
        description="Serve scripted models with Ollama's API (for demos of loco).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--delay", type=float, default=0.03,
                        help="seconds between streamed pieces (default 0.03)")
    parser.add_argument("--num-parallel", type=int, default=None,
                        help="queue concurrent requests per model beyond this many")
    args = parser.parse_args(argv)
    server = FakeOllama(demo_script(args.delay), port=args.port, host=args.host,
                        num_parallel=args.num_parallel)
    if args.port:
        probe = socket.socket()
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((args.host, args.port))
        except OSError as exc:
            print(f"fake Ollama cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        finally:
            probe.close()
    server.start()
    print(f"fake Ollama listening on {server.url}", flush=True)
    print(f"models: {', '.join(server.script.models)}", flush=True)
    print(f"try: OLLAMA_HOST={server.url} loco   (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
