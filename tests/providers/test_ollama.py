"""OllamaProvider against the fake Ollama over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import socket
import time
from contextlib import aclosing

import httpx
import ollama
import pytest

from loco_tui.events import FailureCategory
from loco_tui.providers.base import Chunk, Provider, ProviderError, Timeouts
from loco_tui.providers.ollama import OllamaProvider, map_error
from loco_tui.testing.fake_ollama import FakeOllama
from loco_tui.testing.http import DropConnection, LoopbackServer, Response
from loco_tui.testing.script import Fault, Reply, Script

PIECES = ("Paris", " is", " the", " capital", " of", " France", ".")
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
FAST = Timeouts(connect=2, first_token=5, idle=5)


def _script() -> Script:
    s = Script()
    s.add("qwen2.5-coder:7b", Reply(pieces=PIECES, tokens_in=42, first_token_delay_s=0.05,
                                    piece_delay_s=0.02), parameter_size="7.6B")
    s.add("llama3.2:3b", Reply(pieces=PIECES), parameter_size="3.2B")
    s.add("qwen3:4b", Reply(pieces=("Yes", "."), thinking=("Hmm", ",", " checking")),
          parameter_size="4.0B")
    s.add("hermes3:8b", Reply(pieces=("",), tool_calls=[
        {"name": "get_weather", "arguments": {"city": "Tokyo", "days": 2}}]))
    s.add("long", Reply(pieces=tuple(f" w{i}" for i in range(200)), piece_delay_s=0.02))
    s.add("missing", Reply(fault=Fault.MODEL_MISSING))
    s.add("broken", Reply(fault=Fault.HTTP_500))
    s.add("limited", Reply(fault=Fault.RATE_LIMITED))
    s.add("overflow", Reply(fault=Fault.CONTEXT_OVERFLOW))
    s.add("drop", Reply(pieces=PIECES, fault=Fault.DROP, fault_after=3))
    s.add("errmid", Reply(pieces=PIECES, fault=Fault.ERROR_MIDSTREAM, fault_after=2))
    s.add("stall", Reply(pieces=PIECES, fault=Fault.STALL, fault_after=2))
    s.add("slow_start", Reply(pieces=PIECES, first_token_delay_s=3))
    s.loaded = {"qwen2.5-coder:7b", "qwen3:4b"}
    return s


@pytest.fixture(scope="module")
def server():
    with FakeOllama(_script()) as srv:
        yield srv


@pytest.fixture
async def provider(server):
    p = OllamaProvider("local", server.url, timeouts=FAST)
    yield p
    await p.aclose()


@pytest.fixture
def dead_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens here now


async def _collect(provider, model, **kw) -> list[Chunk]:
    return [c async for c in provider.stream_chat(model, MESSAGES, **kw)]


async def _fail(provider, model, **kw) -> tuple[ProviderError, list[Chunk]]:
    got: list[Chunk] = []
    with pytest.raises(ProviderError) as info:
        async for chunk in provider.stream_chat(model, MESSAGES, **kw):
            got.append(chunk)
    return info.value, got


async def _no_connections(server, timeout: float = 3.0) -> bool:
    return await asyncio.to_thread(server.wait_for_no_connections, timeout)


# -- streaming --------------------------------------------------------------------------------
async def test_is_a_provider(provider):
    assert isinstance(provider, Provider)
    assert provider.name == "local"


async def test_text_arrives_piece_by_piece_in_order(provider):
    arrivals: list[tuple[float, str]] = []
    async for chunk in provider.stream_chat("qwen2.5-coder:7b", MESSAGES):
        arrivals.append((time.monotonic(), chunk.text))
    texts = [t for _, t in arrivals]
    assert texts[:-1] == list(PIECES) and texts[-1] == ""
    # Pieces were yielded as they came (20 ms apart on the server), not buffered to the end.
    assert arrivals[len(PIECES) - 1][0] - arrivals[0][0] >= 0.02 * (len(PIECES) - 1) * 0.8


async def test_final_chunk_carries_server_stats(provider):
    chunks = await _collect(provider, "qwen2.5-coder:7b")
    assert [c.done for c in chunks] == [False] * len(PIECES) + [True]
    final = chunks[-1]
    assert final.done_reason == "stop"
    stats = final.stats
    assert stats is not None
    assert stats.tokens_in == 42 and stats.tokens_out == len(PIECES)
    assert stats.ttft_s is not None and stats.ttft_s >= 0.045
    assert stats.tokens_per_s is not None
    # eval_duration covers the 6 gaps of 20 ms: about 7 / 0.12 tokens/s.
    assert 20 < stats.tokens_per_s < len(PIECES) / 0.1
    assert 0.15 <= stats.duration_s < 2
    assert all(c.stats is None for c in chunks[:-1])


async def test_thinking_is_kept_apart_from_content(provider, server):
    chunks = await _collect(provider, "qwen3:4b", options={"think": True})
    assert "".join(c.thinking for c in chunks) == "Hmm, checking"
    assert "".join(c.text for c in chunks) == "Yes."
    assert not any(c.thinking and c.text for c in chunks)
    last_thought = max(i for i, c in enumerate(chunks) if c.thinking)
    first_text = min(i for i, c in enumerate(chunks) if c.text)
    assert last_thought < first_text
    assert chunks[-1].stats.tokens_out == 5
    assert server.last_body()["think"] is True


async def test_tool_calls_are_plain_dicts(provider):
    chunks = await _collect(provider, "hermes3:8b")
    calls = [call for c in chunks if c.tool_calls for call in c.tool_calls]
    assert calls == [{"name": "get_weather", "arguments": {"city": "Tokyo", "days": 2}}]
    assert type(calls[0]["arguments"]) is dict


async def test_options_think_and_keep_alive_pass_through(server):
    p = OllamaProvider("local", server.url, timeouts=FAST, keep_alive="30m")
    try:
        await _collect(p, "llama3.2:3b", options={"temperature": 0.2, "num_ctx": 8192})
        body = server.last_body()
        assert body["options"] == {"temperature": 0.2, "num_ctx": 8192}
        assert body["keep_alive"] == "30m"
        assert "think" not in body and "format" not in body
        assert body["stream"] is True and body["messages"] == MESSAGES

        await _collect(p, "llama3.2:3b", options={"temperature": 0.7, "think": False,
                                                 "keep_alive": 0, "format": "json"})
        body = server.last_body()
        assert body["options"] == {"temperature": 0.7}
        assert body["think"] is False and body["keep_alive"] == 0 and body["format"] == "json"
    finally:
        await p.aclose()


async def test_no_keep_alive_unless_asked(provider, server):
    await _collect(provider, "llama3.2:3b")
    body = server.last_body()
    assert "keep_alive" not in body and "options" not in body


# -- failures ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "category"),
    [
        ("not-installed:1b", FailureCategory.MODEL_MISSING),
        ("missing", FailureCategory.MODEL_MISSING),
        ("broken", FailureCategory.HTTP_ERROR),
        ("limited", FailureCategory.RATE_LIMITED),
        ("overflow", FailureCategory.CONTEXT_OVERFLOW),
    ],
)
async def test_http_errors_map_to_categories(provider, server, model, category):
    error, chunks = await _fail(provider, model)
    assert error.category is category
    assert chunks == []
    assert error.message
    assert await _no_connections(server)


async def test_drop_mid_stream_is_dropped(provider, server):
    error, chunks = await _fail(provider, "drop")
    assert error.category is FailureCategory.DROPPED
    assert [c.text for c in chunks] == list(PIECES[:3])
    assert isinstance(error.__cause__, httpx.HTTPError)
    assert await _no_connections(server)


async def test_error_line_mid_stream_is_dropped(provider, server):
    error, chunks = await _fail(provider, "errmid")
    assert error.category is FailureCategory.DROPPED
    assert "unexpected EOF" in error.message
    assert [c.text for c in chunks] == list(PIECES[:2])
    assert await _no_connections(server)


async def test_stall_is_stalled_and_closes_the_socket(provider, server):
    start = time.monotonic()
    error, chunks = await _fail(provider, "stall", timeouts=Timeouts(first_token=5, idle=0.2))
    assert error.category is FailureCategory.STALLED
    assert [c.text for c in chunks] == list(PIECES[:2])
    assert 0.2 <= time.monotonic() - start < 1.5
    assert await _no_connections(server)


async def test_slow_first_token_times_out(provider, server):
    start = time.monotonic()
    error, chunks = await _fail(provider, "slow_start",
                                timeouts=Timeouts(first_token=0.2, idle=5))
    assert error.category is FailureCategory.TIMEOUT_FIRST_TOKEN
    assert chunks == []
    assert time.monotonic() - start < 1.5
    assert await _no_connections(server)


async def test_refused_connection_is_unreachable(dead_url):
    p = OllamaProvider("gone", dead_url, timeouts=FAST)
    try:
        error, _ = await _fail(p, "llama3.2:3b")
        assert error.category is FailureCategory.UNREACHABLE
        with pytest.raises(ProviderError) as info:
            await p.list_models()
        assert info.value.category is FailureCategory.UNREACHABLE
    finally:
        await p.aclose()


async def _serve_raw(lines: list[bytes], *, drop: bool = False):
    async def body():
        for line in lines:
            yield line
        if drop:
            raise DropConnection

    async def handler(request):
        return Response(content_type="application/x-ndjson", stream=body())

    return LoopbackServer(handler)


async def test_reply_without_done_chunk_is_dropped():
    line = (b'{"model":"m","created_at":"2025-01-01T00:00:00Z",'
            b'"message":{"role":"assistant","content":"Hi"},"done":false}\n')
    with await _serve_raw([line, line]) as srv:
        p = OllamaProvider("raw", srv.url, timeouts=FAST)
        try:
            error, chunks = await _fail(p, "m")
        finally:
            await p.aclose()
    assert error.category is FailureCategory.DROPPED
    assert [c.text for c in chunks] == ["Hi", "Hi"]


async def test_garbage_is_an_http_error_not_an_exception():
    with await _serve_raw([b"this is not ollama\n"]) as srv:
        p = OllamaProvider("raw", srv.url, timeouts=FAST)
        try:
            error, _ = await _fail(p, "m")
        finally:
            await p.aclose()
    assert error.category is FailureCategory.HTTP_ERROR


async def test_an_html_page_instead_of_a_stream_says_so():
    page = b"<html><head><title>Sign in - Corp Proxy</title></head><body>...</body></html>\n"
    with await _serve_raw([page]) as srv:
        p = OllamaProvider("raw", srv.url, timeouts=FAST)
        try:
            error, _ = await _fail(p, "m")
        finally:
            await p.aclose()
    assert error.category is FailureCategory.BAD_OUTPUT
    assert "HTML page (Sign in - Corp Proxy)" in error.message
    assert "<html>" not in error.message


@pytest.mark.parametrize(
    ("exc", "category"),
    [
        (ollama.ResponseError('{"error":"model \'x\' not found"}', 404),
         FailureCategory.MODEL_MISSING),
        (ollama.ResponseError("too many requests", 429), FailureCategory.RATE_LIMITED),
        (ollama.ResponseError("server busy, please try again.  maximum pending requests "
                              "exceeded", 503), FailureCategory.RATE_LIMITED),
        (ollama.ResponseError("input length exceeds the context length", 400),
         FailureCategory.CONTEXT_OVERFLOW),
        (ollama.ResponseError("model is required", 400), FailureCategory.HTTP_ERROR),
        (ollama.ResponseError("bad gateway", 502), FailureCategory.HTTP_ERROR),
        (ollama.ResponseError("boom"), FailureCategory.DROPPED),
        (ConnectionError("Failed to connect to Ollama"), FailureCategory.UNREACHABLE),
        (httpx.ConnectError("[Errno -2] Name or service not known"),
         FailureCategory.UNREACHABLE),
        (httpx.ConnectTimeout("timed out"), FailureCategory.UNREACHABLE),
        (httpx.RemoteProtocolError("incomplete chunked read"), FailureCategory.DROPPED),
        (httpx.ReadError("reset"), FailureCategory.DROPPED),
        (httpx.ReadTimeout("read"), FailureCategory.STALLED),
        (ValueError("Expecting value"), FailureCategory.HTTP_ERROR),
    ],
)
def test_map_error(exc, category):
    assert map_error(exc).category is category


# -- cancellation and early close -------------------------------------------------------------
async def test_cancelling_the_consumer_closes_the_connection(provider, server):
    assert await _no_connections(server)
    before = asyncio.all_tasks()
    got_some = asyncio.Event()
    received: list[str] = []

    async def consume():
        async for chunk in provider.stream_chat("long", MESSAGES):
            received.append(chunk.text)
            if len(received) == 3:
                got_some.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_some.wait(), 5)
    assert server.open_connections == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _no_connections(server, 2)
    assert 3 <= len(received) < 50  # the server stopped streaming
    assert asyncio.all_tasks() == before


async def test_cancelling_while_waiting_for_the_first_token(provider, server):
    assert await _no_connections(server)
    before = asyncio.all_tasks()
    task = asyncio.create_task(_collect(provider, "slow_start"))
    deadline = time.monotonic() + 3
    while server.open_connections == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert server.open_connections == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _no_connections(server, 2)
    assert asyncio.all_tasks() == before


async def test_closing_the_generator_early_closes_the_connection(provider, server):
    assert await _no_connections(server)
    before = asyncio.all_tasks()
    seen = 0
    async with aclosing(provider.stream_chat("long", MESSAGES)) as stream:
        async for _chunk in stream:
            seen += 1
            if seen == 2:
                break
    # Closed by the time aclose() returns: checked with the loop blocked, so no finaliser
    # task scheduled by the garbage collector could be what closes it.
    assert server.wait_for_no_connections(2)
    assert asyncio.all_tasks() == before


async def test_concurrent_streams_share_a_provider(provider):
    results = await asyncio.gather(*(_collect(provider, m) for m in
                                     ("qwen2.5-coder:7b", "llama3.2:3b", "qwen3:4b")))
    assert ["".join(c.text for c in r) for r in results] == ["".join(PIECES)] * 2 + ["Yes."]


# -- metadata ---------------------------------------------------------------------------------
async def test_list_models(provider):
    models = {m.name: m for m in await provider.list_models()}
    assert list(models) == _script().models
    coder = models["qwen2.5-coder:7b"]
    assert coder.parameter_size == "7.6B" and coder.quantization == "Q4_K_M"
    assert coder.family == "qwen2" and coder.size_bytes and coder.size_bytes > 4e9
    assert coder.loaded and coder.vram_bytes and coder.vram_bytes > coder.size_bytes
    assert models["llama3.2:3b"].parameter_size == "3.2B"
    assert not models["llama3.2:3b"].loaded and models["llama3.2:3b"].vram_bytes is None


async def test_loaded_models(provider):
    loaded = await provider.loaded_models()
    assert sorted(m.name for m in loaded) == ["qwen2.5-coder:7b", "qwen3:4b"]
    assert all(m.loaded and m.vram_bytes and m.vram_bytes > 0 for m in loaded)


async def test_show(provider):
    info = await provider.show("qwen3:4b")
    assert info["details"]["parameter_size"] == "4.0B"
    assert "model_info" in info and "completion" in info["capabilities"]
    with pytest.raises(ProviderError) as err:
        await provider.show("nope")
    assert err.value.category is FailureCategory.MODEL_MISSING


async def test_health_up(provider, server):
    health = await provider.health()
    assert health.up and health.version == server.version
    assert health.latency_s is not None and 0 <= health.latency_s < 1
    assert len(health.models) == len(_script().models)
    assert health.detail


async def test_health_on_a_dead_port_is_down_quickly(dead_url):
    p = OllamaProvider("gone", dead_url, timeouts=FAST)
    try:
        start = time.monotonic()
        health = await p.health()
        assert time.monotonic() - start < 1
    finally:
        await p.aclose()
    assert not health.up and health.detail and health.models == []


async def test_health_on_a_server_that_is_not_ollama():
    async def handler(request):
        return Response(status=404, body=b"nope", content_type="text/plain")

    with LoopbackServer(handler) as srv:
        p = OllamaProvider("other", srv.url, timeouts=FAST)
        try:
            health = await p.health()
        finally:
            await p.aclose()
    assert not health.up and "404" in health.detail
