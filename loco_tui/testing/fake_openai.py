"""A fake OpenAI-compatible server (llama.cpp server, LM Studio, vLLM) on real loopback HTTP.

``POST /v1/chat/completions`` streams Server-Sent Events the way those servers do::

    data: {"id":"chatcmpl-1","object":"chat.completion.chunk",...,"choices":[{"index":0,
           "delta":{"role":"assistant","content":""},"finish_reason":null}]}
    data: {... "delta":{"reasoning_content":"hmm"} ...}          # Reply.thinking
    data: {... "delta":{"content":"Hel"} ...}                     # Reply.pieces
    data: {... "delta":{"tool_calls":[{"index":0,"id":"call_0","type":"function",
           "function":{"name":"f","arguments":""}}]} ...}          # Reply.tool_calls, then
    data: {... "delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"a\\""}}]} ...}
    data: {... "delta":{},"finish_reason":"stop"}                 # or "tool_calls"
    data: {"choices":[],"usage":{...}}                            # only with include_usage
    data: [DONE]

``stream: false`` returns one ``chat.completion`` object. ``GET /v1/models`` lists the
script's models. Errors are ``{"error": {"message", "type", "param", "code"}}`` with the HTTP
status. Faults (``Reply.fault``) are played as real servers show them; ``fault_after`` counts
streamed pieces, thinking pieces first, then answer pieces.

Run ``python -m loco_tui.testing.fake_openai --port 1234`` for a demo server.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
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

__all__ = ["LLAMA_CPP_TOOL_REFUSAL", "VLLM_TOOL_REFUSAL", "FakeOpenAI", "demo_script"]

_FINGERPRINT = "fp_loco_fake"
# How servers refuse `tools` for a model they cannot give them to.
LLAMA_CPP_TOOL_REFUSAL = (500, "tools param requires --jinja flag")
VLLM_TOOL_REFUSAL = (400, '"auto" tool choice requires --enable-auto-tool-choice and '
                          "--tool-call-parser to be set")
# How many characters of a tool call's JSON arguments go in one delta (real servers send a
# token's worth; small pieces make clients prove they reassemble across chunks).
_ARG_PIECE = 7


def _error(status: int, message: str, type_: str, code: str | None = None) -> Response:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return Response.json(body, status)


def _sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _parse_params(size: str | None) -> int | None:
    """'7.6B' -> 7_600_000_000; None when it does not look like a parameter count."""
    if not size:
        return None
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}.get(size[-1:].upper())
    try:
        return int(float(size[:-1]) * scale) if scale else int(size)
    except ValueError:
        return None


def _tool_call_parts(call: dict[str, Any]) -> tuple[str, str]:
    """(name, arguments as a JSON string) from ``{"name", "arguments"}`` or the
    ``{"function": {...}}`` shape; arguments may be a dict or already a string."""
    fn = call.get("function", call)
    name = str(fn.get("name", ""))
    args = fn.get("arguments", {})
    if not isinstance(args, str):
        args = json.dumps(args, separators=(",", ":"))
    return name, args


class FakeOpenAI:
    """An OpenAI-compatible server playing ``script``. Use as a context manager.

    ``api_key``: when set, requests without ``Authorization: Bearer <api_key>`` get 401.
    ``script`` may be changed while the server runs; each request reads it afresh.

    A request with ``response_format`` of type ``json_schema`` gets the scripted
    ``Reply.constrained`` (when there is one); ``schema_support=False`` plays a server that
    refuses that type (400), as LM Studio and older llama.cpp servers do. With
    ``logprobs: true`` each piece carries its scripted ``Reply.logprobs``. A request with
    ``tools`` gets the scripted ``Reply.with_tools`` (when there is one); a model in
    ``Script.no_tools`` refuses it with ``tool_refusal`` (status, message): by default as
    llama.cpp's server does without --jinja (500), ``VLLM_TOOL_REFUSAL`` as vLLM does.
    ``generations`` records when each generation was received and when it finished.
    """

    def __init__(self, script: Script | None = None, port: int = 0,
                 api_key: str | None = None, schema_support: bool = True,
                 tool_refusal: tuple[int, str] | None = None) -> None:
        self.script = script if script is not None else Script()
        self.tool_refusal = tool_refusal or LLAMA_CPP_TOOL_REFUSAL
        self.api_key = api_key
        self.schema_support = schema_support
        self.generations: list[Generation] = []
        self._server = LoopbackServer(self._handle, port=port)
        self._ids = itertools.count(1)

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests look at ----------------------------------------------------------
    @property
    def url(self) -> str:
        return self._server.url

    @property
    def base_url(self) -> str:
        return self._server.url + "/v1"

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def requests(self) -> list[Request]:
        return self._server.requests

    @property
    def chat_bodies(self) -> list[dict[str, Any]]:
        """The decoded JSON bodies of every chat completion request, in order."""
        out = []
        for r in self._server.requests:
            if r.path.endswith("/chat/completions"):
                try:
                    out.append(r.json())
                except ValueError:
                    out.append({"_raw": r.body.decode("utf-8", "replace")})
        return out

    def tools_sent(self, model: str | None = None) -> list[list[str] | None]:
        """The tool names each chat request (to ``model`` if given) carried, oldest first;
        None for a request without tools."""
        return [tool_names(b) for b in self.chat_bodies
                if model is None or b.get("model") == model]

    @property
    def open_connections(self) -> int:
        return self._server.open_connections

    def wait_for_no_connections(self, timeout: float = 5.0) -> bool:
        return self._server.wait_for_no_connections(timeout)

    # -- routing ---------------------------------------------------------------------
    async def _handle(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        if path in ("/health", "/v1/health"):  # llama.cpp server has one; no auth there
            return Response.json({"status": "ok"})
        if self.api_key is not None:
            auth = req.headers.get("authorization", "")
            if auth != f"Bearer {self.api_key}":
                return _error(401, "Invalid API key provided." if auth else
                              "Missing API key: send 'Authorization: Bearer <key>'.",
                              "invalid_request_error", "invalid_api_key")
        if path in ("/v1/models", "/models") and req.method == "GET":
            return self._models()
        if path in ("/v1/chat/completions", "/chat/completions"):
            if req.method != "POST":
                return _error(405, "Method not allowed", "invalid_request_error")
            return await self._chat(req)
        return _error(404, f"Not found: {req.method} {req.path}", "not_found_error")

    def _models(self) -> Response:
        created = int(time.time())
        data = []
        for m in self.script.models:
            entry: dict[str, Any] = {"id": m, "object": "model", "created": created,
                                     "owned_by": "loco-fake"}
            n_params = _parse_params(self.script.parameter_sizes.get(m))
            if n_params:  # llama.cpp's server adds a `meta` object like this one
                entry["meta"] = {"n_params": n_params, "n_ctx_train": 32768}
            data.append(entry)
        return Response.json({"object": "list", "data": data})

    async def _chat(self, req: Request) -> Response:
        try:
            body = req.json()
        except ValueError:
            return _error(400, "Request body is not valid JSON", "invalid_request_error")
        if not isinstance(body, dict):
            return _error(400, "Request body must be a JSON object", "invalid_request_error")
        model = body.get("model")
        messages = body.get("messages")
        if not isinstance(model, str) or not model:
            return _error(400, "'model' is required", "invalid_request_error")
        if not isinstance(messages, list):
            return _error(400, "'messages' must be a list", "invalid_request_error")
        arrived = time.monotonic()
        reply = self.script.reply_for(model, messages)
        if reply is None or reply.fault is Fault.MODEL_MISSING:
            return _error(404, f"The model `{model}` does not exist.", "not_found_error",
                          "model_not_found")
        if wants_schema(body) is not None:
            if not self.schema_support:
                return _error(400, "'response_format.type' must be 'json_object' or 'text'",
                              "invalid_request_error")
            reply = reply.constrained or reply
        if tool_names(body) is not None:
            if model in self.script.no_tools:
                status, message = self.tool_refusal
                return _error(status, message,
                              "server_error" if status >= 500 else "BadRequestError")
            reply = reply.with_tools or reply
        if reply.fault is Fault.HTTP_500:
            return _error(500, "Internal server error", "api_error")
        if reply.fault in (Fault.RATE_LIMITED, Fault.SERVER_BUSY):
            busy = _error(429, "Rate limit reached for requests", "rate_limit_error",
                          "rate_limit_exceeded") if reply.fault is Fault.RATE_LIMITED else \
                _error(503, "The server is overloaded, try again later", "server_error")
            if reply.retry_after_s is not None:
                busy.headers["Retry-After"] = f"{reply.retry_after_s:g}"
            return busy
        if reply.fault is Fault.ECHO_AUTH:
            # As some proxies do: the error quotes the credentials it received.
            received = req.headers.get("authorization", "")
            return _error(401, "invalid credentials: " + "x" * reply.fault_after + received,
                          "authentication_error")
        if reply.fault is Fault.HTML_PAGE:
            return html_page()
        if reply.raw_body is not None:
            return Response(stream=verbatim(reply.raw_body, reply.first_token_delay_s),
                            content_type="text/event-stream")
        n_in = reply.tokens_in if reply.tokens_in is not None else prompt_tokens(messages)
        if reply.fault is Fault.CONTEXT_OVERFLOW:
            return _error(400, f"This model's maximum context length is 4096 tokens. However, "
                          f"your messages resulted in {max(n_in, 4097)} tokens. Please reduce "
                          "the length of the messages.", "invalid_request_error",
                          "context_length_exceeded")
        cid = f"chatcmpl-{next(self._ids)}"
        if reply.fault is Fault.EMPTY_CHUNKS and body.get("stream"):
            return Response(content_type="text/event-stream",
                            stream=self._empty_chunks(cid, model, reply.piece_delay_s or 0.05))
        if body.get("stream"):
            opts = body.get("stream_options") or {}
            usage = bool(isinstance(opts, dict) and opts.get("include_usage"))
            index = len(self.generations)
            self.generations.append(Generation(model, arrived))
            stream = self._stream(reply, cid, model, n_in, usage, bool(body.get("logprobs")),
                                  index)
            return Response(content_type="text/event-stream", stream=stream,
                            headers={"Cache-Control": "no-cache"})
        return await self._complete(reply, cid, model, n_in)

    # -- replies ---------------------------------------------------------------------
    @staticmethod
    def _usage(reply: Reply, n_in: int) -> dict[str, int]:
        n_out = len(reply.pieces) + len(reply.thinking)
        for call in reply.tool_calls or ():  # one token per arguments delta, plus the name
            n_out += 1 + -(-len(_tool_call_parts(call)[1]) // _ARG_PIECE)
        return {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out}

    async def _complete(self, reply: Reply, cid: str, model: str, n_in: int) -> Response:
        """``stream: false``: the whole reply as one object, after the scripted delays."""
        steps = len(reply.pieces) + len(reply.thinking)
        if reply.fault in (Fault.DROP, Fault.STALL):
            # Headers go out, then the body is cut or never comes.
            return Response(stream=_cut(reply.fault, reply.first_token_delay_s))
        delay = reply.first_token_delay_s + reply.piece_delay_s * max(steps - 1, 0)
        if delay > 0:
            await asyncio.sleep(delay)
        if reply.fault is Fault.ERROR_MIDSTREAM:
            return _error(500, "The model crashed while generating", "api_error")
        message: dict[str, Any] = {"role": "assistant", "content": reply.full_text}
        if reply.thinking:
            message["reasoning_content"] = "".join(reply.thinking)
        finish = "stop"
        if reply.tool_calls:
            message["tool_calls"] = []
            for i, call in enumerate(reply.tool_calls):
                name, args = _tool_call_parts(call)
                message["tool_calls"].append({"id": f"call_{i}", "type": "function",
                                              "function": {"name": name, "arguments": args}})
            finish = "tool_calls"
        return Response.json({
            "id": cid, "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": _FINGERPRINT,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish}],
            "usage": self._usage(reply, n_in),
        })

    async def _stream(self, reply: Reply, cid: str, model: str, n_in: int,
                      include_usage: bool, logprobs: bool = False,
                      index: int | None = None) -> AsyncIterator[bytes]:
        created = int(time.time())
        usage_tail = ',"usage":null' if include_usage else ""
        head = (f'{{"id":"{cid}","object":"chat.completion.chunk","created":{created},'
                f'"model":{json.dumps(model)},"system_fingerprint":"{_FINGERPRINT}",'
                '"choices":[{"index":0,"delta":').encode()
        tail = (',"logprobs":null,"finish_reason":null}]' + usage_tail + "}\n\n").encode()

        def delta(d: dict[str, Any]) -> bytes:
            return b"data: " + head + json.dumps(d, separators=(",", ":")).encode() + tail

        # The role chunk goes out at once (as vLLM does); it is not a token.
        yield delta({"role": "assistant", "content": ""})
        content_head = b"data: " + head + b'{"content":'
        thinking_head = b"data: " + head + b'{"reasoning_content":'
        tail_close = b"}" + tail
        steps = [(thinking_head, p, None) for p in reply.thinking] + \
                [(content_head, p, reply.logprob_of(i) if logprobs else None)
                 for i, p in enumerate(reply.pieces)]
        fault, after = reply.fault, reply.fault_after
        for n, (prefix, piece, scripted) in enumerate(steps):
            if fault is not None and n == after:
                async for b in self._fault(fault):
                    yield b
                return
            pause = reply.first_token_delay_s if n == 0 else reply.piece_delay_s
            if pause > 0:
                await asyncio.sleep(pause)
            if scripted is not None:
                yield _sse({"id": cid, "object": "chat.completion.chunk", "created": created,
                            "model": model, "system_fingerprint": _FINGERPRINT,
                            "choices": [{"index": 0, "delta": {"content": piece},
                                         "logprobs": {"content": [_wire_logprob(scripted)]},
                                         "finish_reason": None}]})
                continue
            yield prefix + json.dumps(piece).encode() + tail_close
        if fault is not None:  # fault_after >= the number of pieces: fail before finishing
            async for b in self._fault(fault):
                yield b
            return
        finish = reply.finish_reason or "stop"
        if reply.tool_calls:
            if not steps and reply.first_token_delay_s > 0:
                await asyncio.sleep(reply.first_token_delay_s)
            for i, call in enumerate(reply.tool_calls):
                name, args = _tool_call_parts(call)
                yield delta({"tool_calls": [{"index": i, "id": f"call_{i}", "type": "function",
                                             "function": {"name": name, "arguments": ""}}]})
                for k in range(0, len(args), _ARG_PIECE):
                    yield delta({"tool_calls": [{"index": i, "function": {
                        "arguments": args[k:k + _ARG_PIECE]}}]})
            finish = "tool_calls"
        elif not steps and reply.first_token_delay_s > 0:
            await asyncio.sleep(reply.first_token_delay_s)
        done: dict[str, Any] = {
            "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": _FINGERPRINT,
            "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish}]}
        if include_usage:
            done["usage"] = None
        yield _sse(done)
        if include_usage:
            yield _sse({"id": cid, "object": "chat.completion.chunk", "created": created,
                        "model": model, "system_fingerprint": _FINGERPRINT, "choices": [],
                        "usage": self._usage(reply, n_in)})
        if index is not None:
            self.generations[index] = replace(self.generations[index],
                                              finished=time.monotonic())
        yield b"data: [DONE]\n\n"

    @staticmethod
    async def _empty_chunks(cid: str, model: str, every: float) -> AsyncIterator[bytes]:
        """A busy-looking stream of empty deltas that never finishes."""
        while True:
            yield _sse({"id": cid, "object": "chat.completion.chunk", "model": model,
                        "choices": [{"index": 0, "delta": {"content": ""},
                                     "finish_reason": None}]})
            await asyncio.sleep(every)

    @staticmethod
    async def _fault(fault: Fault) -> AsyncIterator[bytes]:
        if fault is Fault.DROP:
            raise DropConnection
        if fault is Fault.STALL:
            # Silent until the client hangs up (the loopback server then cancels us).
            await asyncio.Event().wait()
        if fault is Fault.ERROR_MIDSTREAM:
            # As vLLM does: an error event on the 200 stream, then [DONE].
            yield _sse({"error": {"message": "The model crashed while generating",
                                  "type": "api_error", "param": None, "code": 500}})
            yield b"data: [DONE]\n\n"
            return
        # Faults that happen before any byte are answered by _chat; nothing else to play.
        raise DropConnection


def _wire_logprob(entry: TokenLogprob) -> dict[str, Any]:
    """OpenAI's shape: ``{"token", "logprob", "bytes", "top_logprobs": [...]}``."""
    return {"token": entry.token, "logprob": entry.logprob,
            "bytes": list(entry.token.encode()),
            "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode())}
                             for t, lp in entry.top]}


async def _cut(fault: Fault | None, delay: float) -> AsyncIterator[bytes]:
    if delay > 0:
        await asyncio.sleep(delay)
    if fault is Fault.STALL:
        await asyncio.Event().wait()
    raise DropConnection
    yield b""  # pragma: no cover - makes this an async generator


def demo_script() -> Script:
    """A few models to point ``loco`` (or curl) at by hand."""
    s = Script()
    s.add("demo-chat", Reply.text(
        "Hello! I am a scripted OpenAI-compatible model. Every word of this reply arrives "
        "as its own server-sent event, a little apart, so you can watch it stream.",
        piece_delay_s=0.04, first_token_delay_s=0.2), "1.5B")
    s.add("demo-think", Reply.text(
        "The answer is 42.", thinking=("Let me think. ", "Six times seven ", "is 42."),
        piece_delay_s=0.06), "7.6B")
    s.add("demo-tools", Reply(pieces=(), tool_calls=[
        {"name": "get_weather", "arguments": {"city": "Tokyo", "unit": "celsius"}}],
        first_token_delay_s=0.2), "7.6B")
    s.add("demo-drop", Reply.text("This reply is cut off half way through the",
                                  piece_delay_s=0.05, fault=Fault.DROP, fault_after=5), "3B")
    s.add("demo-stall", Reply.text("This reply stops and never finishes",
                                   piece_delay_s=0.05, fault=Fault.STALL, fault_after=3), "3B")
    return s


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A scripted OpenAI-compatible server.")
    parser.add_argument("--port", type=int, default=1234)
    parser.add_argument("--api-key", default=None,
                        help="require 'Authorization: Bearer KEY' (default: no auth)")
    args = parser.parse_args(argv)
    with FakeOpenAI(demo_script(), port=args.port, api_key=args.api_key) as server:
        print(server.base_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
