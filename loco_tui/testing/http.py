"""A small real HTTP/1.1 server on loopback for the fake model servers.

It runs its own event loop in a daemon thread, so a test (sync or async), a benchmark or a
demo session of ``loco`` can talk to it over a real socket without sharing a loop with it.
Bodies are sent whole (Content-Length) or streamed with chunked transfer encoding, which is
what Ollama (NDJSON) and OpenAI-compatible servers (SSE) do. Each connection serves one
request and then closes, which keeps connection accounting exact for the tests that assert
a cancelled stream really closed its socket.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    # When set, the body is streamed chunk by chunk; the iterator may sleep between chunks,
    # stop early (a dropped stream) or never finish (a stalled one).
    stream: AsyncIterator[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        return cls(status=status, body=json.dumps(data).encode())


# What a captive portal or a proxy's login answers instead of the API.
HTML_PAGE = (b"<!DOCTYPE html><html><head><title>Sign in - Corp Proxy</title></head>"
             b"<body><form>...</form></body></html>\n")


def html_page() -> Response:
    return Response(body=HTML_PAGE, content_type="text/html; charset=utf-8")


async def verbatim(body: bytes, delay: float = 0.0) -> AsyncIterator[bytes]:
    """``body`` as it is, after ``delay`` (a hostile server's bytes, invalid UTF-8 and all)."""
    if delay > 0:
        await asyncio.sleep(delay)
    yield body


class DropConnection(Exception):
    """Raised by a stream iterator to cut the connection without finishing the body."""


Handler = Callable[[Request], Awaitable[Response]]

_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable",
}


class LoopbackServer:
    """Serve ``handler`` on 127.0.0.1 in a background thread. Use as a context manager."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._open = 0
        self.requests: list[Request] = []

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._run, name="loco-fake-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def open_connections(self) -> int:
        """Connections the server has accepted and not yet seen closed."""
        with self._lock:
            return self._open

    def wait_for_no_connections(self, timeout: float = 5.0) -> bool:
        """Block until every connection is closed (True) or ``timeout`` passes (False)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open_connections == 0:
                return True
            time.sleep(0.01)
        return self.open_connections == 0

    # -- server ----------------------------------------------------------------------
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(
            asyncio.start_server(self._serve, self._host, self._port)
        )
        self._port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self._open += 1
        try:
            request = await self._read_request(reader)
            if request is None:
                return
            self.requests.append(request)
            try:
                response = await self._handler(request)
            except Exception as exc:  # noqa: BLE001 - a broken script is a 500, not a dead server
                response = Response.json({"error": f"fake server error: {exc!r}"}, 500)
            await self._write_until_client_leaves(reader, writer, response)
        except (ConnectionError, DropConnection, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Only stop() cancels these; ending quietly avoids a spurious "exception in
            # callback" log from asyncio's connection callback (CPython 3.11 calls
            # task.exception() on the cancelled task).
            pass
        finally:
            try:
                writer.close()
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
            with self._lock:
                self._open -= 1

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> Request | None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) < 2:
            return None
        method, target = parts[0], parts[1]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
        split = urlsplit(target)
        return Request(method, split.path, parse_qs(split.query), headers, body)

    async def _write_until_client_leaves(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, response: Response
    ) -> None:
        # A client that hangs up mid-stream must end the stream here too, as a real server's
        # request context does; otherwise a stalled script would hold the socket open.
        send = asyncio.ensure_future(self._write(writer, response))
        gone = asyncio.ensure_future(reader.read())
        try:
            await asyncio.wait({send, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (send, gone):
                task.cancel()
            await asyncio.gather(send, gone, return_exceptions=True)
        if send.done() and not send.cancelled() and send.exception() is not None:
            raise send.exception()  # type: ignore[misc]

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, response: Response) -> None:
        reason = _REASONS.get(response.status, "Status")
        head = [f"HTTP/1.1 {response.status} {reason}", f"Content-Type: {response.content_type}",
                "Connection: close"]
        head += [f"{k}: {v}" for k, v in response.headers.items()]
        if response.stream is None:
            head.append(f"Content-Length: {len(response.body)}")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + response.body)
            await writer.drain()
            return
        head.append("Transfer-Encoding: chunked")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await writer.drain()
        async for piece in response.stream:
            if piece:
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
