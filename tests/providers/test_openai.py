"""OpenAIProvider against the fake OpenAI-compatible server, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from typing import Any

import pytest

from loco_tui.providers.base import (
    Chunk,
    FailureCategory,
    Provider,
    ProviderError,
    Timeouts,
)
from loco_tui.providers.openai import OpenAIProvider, map_options
from loco_tui.registry.schema import OpenAIProviderConfig
from loco_tui.testing.fake_openai import FakeOpenAI
from loco_tui.testing.http import DropConnection, LoopbackServer, Request, Response
from loco_tui.testing.script import Fault, Reply, Script

MSGS = [{"role": "user", "content": "hello there model"}]
FAST = Timeouts(connect=2, first_token=5, idle=5)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(Script()) as server:
        yield server


@pytest.fixture
async def provider(fake: FakeOpenAI) -> AsyncIterator[OpenAIProvider]:
    p = OpenAIProvider("lmstudio", fake.base_url, timeouts=FAST)
    yield p
    await p.aclose()


@pytest.fixture
def raw_sse() -> Iterator[Callable[[list[bytes]], LoopbackServer]]:
    """A server that streams exactly the given byte pieces (for wire edge cases)."""
    servers: list[LoopbackServer] = []

    def make(pieces: list[bytes], content_type: str = "text/event-stream") -> LoopbackServer:
        async def gen() -> AsyncIterator[bytes]:
            for p in pieces:
                if p == b"<drop>":
                    raise DropConnection
                yield p
                await asyncio.sleep(0.001)  # separate TCP writes, so splits really happen

        async def handler(req: Request) -> Response:
            if content_type != "text/event-stream":
                return Response(body=b"".join(pieces), content_type=content_type)
            return Response(content_type=content_type, stream=gen())

        server = LoopbackServer(handler).start()
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.stop()


async def collect(stream: AsyncIterator[Chunk]) -> list[Chunk]:
    return [c async for c in stream]


async def fail_category(stream: AsyncIterator[Chunk]) -> tuple[FailureCategory, str, list]:
    got: list[Chunk] = []
    with pytest.raises(ProviderError) as info:
        async for c in stream:
            got.append(c)
    return info.value.category, info.value.message, got


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def no_tasks_beyond(before: set[asyncio.Task[Any]], timeout: float = 2.0) -> bool:
    """True once every task not in ``before`` has finished.

    httpx reads through a chain of async generators; leaving one early hands the inner ones
    to asyncio's async-generator finalizer, which closes them in short-lived tasks. Those
    must end promptly; nothing may stay.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        gc.collect()
        if asyncio.all_tasks() <= before:
            return True
        await asyncio.sleep(0.01)
    return asyncio.all_tasks() <= before


def sse(obj: str) -> bytes:
    return b"data: " + obj.encode() + b"\n\n"


def delta(d: str, finish: str = "null") -> bytes:
    return sse(f'{{"choices":[{{"index":0,"delta":{d},"finish_reason":{finish}}}]}}')


# -- the happy path -----------------------------------------------------------------------
async def test_is_a_provider(provider: OpenAIProvider) -> None:
    assert isinstance(provider, Provider)


async def test_streams_text_in_order(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script.add("m", Reply.text("The quick brown fox jumps"))
    chunks = await collect(provider.stream_chat("m", MSGS))
    assert [c.text for c in chunks if c.text] == ["The", " quick", " brown", " fox", " jumps"]
    assert [c.done for c in chunks] == [False] * 5 + [True]
    assert chunks[-1].done_reason == "stop" and chunks[-1].tool_calls is None


async def test_request_body_and_options(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script.add("m", Reply())
    opts = {"temperature": 0.2, "top_p": 0.9, "seed": 7, "stop": ["\n\n"],
            "num_predict": 64, "num_ctx": 8192, "top_k": 40}
    await collect(provider.stream_chat("m", MSGS, options=opts))
    body = fake.chat_bodies[-1]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == "m" and body["messages"] == MSGS
    assert body["max_tokens"] == 64 and "num_predict" not in body and "num_ctx" not in body
    assert (body["temperature"], body["top_p"], body["seed"], body["stop"], body["top_k"]) \
        == (0.2, 0.9, 7, ["\n\n"], 40)
    assert "authorization" not in fake.requests[-1].headers  # no key configured, none sent


def test_map_options() -> None:
    assert map_options(None) == {}
    assert map_options({"num_predict": -1}) == {}  # Ollama's "unlimited"
    assert map_options({"num_predict": 5, "max_tokens": 9}) == {"max_tokens": 9}
    assert map_options({"num_ctx": 4096, "keep_alive": "5m", "temperature": 0}) == {
        "temperature": 0}


async def test_usage_becomes_stats(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script.add("m", Reply(pieces=("a", "b", "c", "d"), tokens_in=42,
                               first_token_delay_s=0.05))
    chunks = await collect(provider.stream_chat("m", MSGS))
    stats = chunks[-1].stats
    assert stats is not None
    assert (stats.tokens_in, stats.tokens_out) == (42, 4)
    assert stats.ttft_s is not None and 0.04 <= stats.ttft_s <= stats.duration_s
    assert stats.tokens_per_s is not None and stats.tokens_per_s > 0


async def test_stats_without_usage_count_deltas(raw_sse: Any) -> None:
    server = raw_sse([
        b": keep-alive comment\n\n",
        delta('{"role":"assistant"}'),
        sse('{"choices":null}'),  # some servers send this
        delta('{"content":"one"}'), delta('{"content":" two"}'),
        delta('{}', '"length"'), b"data: [DONE]\n\n",
    ])
    p = OpenAIProvider("raw", server.url + "/v1", timeouts=FAST)
    try:
        chunks = await collect(p.stream_chat("m", MSGS))
    finally:
        await p.aclose()
    assert "".join(c.text for c in chunks) == "one two"
    assert chunks[-1].done_reason == "length"
    assert chunks[-1].stats is not None and chunks[-1].stats.tokens_out == 2


async def test_llama_cpp_timings_win(raw_sse: Any) -> None:
    server = raw_sse([
        delta('{"content":"hi"}'),
        sse('{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],'
            '"usage":{"prompt_tokens":5,"completion_tokens":10},'
            '"timings":{"predicted_n":10,"predicted_ms":500.0}}'),
        b"data: [DONE]\n\n",
    ])
    p = OpenAIProvider("raw", server.url + "/v1", timeouts=FAST)
    try:
        chunks = await collect(p.stream_chat("m", MSGS))
    finally:
        await p.aclose()
    stats = chunks[-1].stats
    assert stats is not None and (stats.tokens_in, stats.tokens_out) == (5, 10)
    assert stats.tokens_per_s == pytest.approx(20.0)


async def test_events_split_anywhere_and_crlf(raw_sse: Any) -> None:
    wire = (delta('{"role":"assistant","content":""}') + delta('{"content":"héllo"}')
            + delta('{"reasoning":"hmm"}') + delta('{"content":" wörld"}')
            + delta('{}', '"stop"') + b"data: [DONE]\n\n").replace(b"\n", b"\r\n")
    pieces = [wire[i:i + 5] for i in range(0, len(wire), 5)]  # splits mid-line, mid-UTF-8
    server = raw_sse(pieces)
    p = OpenAIProvider("raw", server.url + "/v1", timeouts=FAST)
    try:
        chunks = await collect(p.stream_chat("m", MSGS))
    finally:
        await p.aclose()
    assert "".join(c.text for c in chunks) == "héllo wörld"
    assert "".join(c.thinking for c in chunks) == "hmm"  # Ollama's `reasoning` field


async def test_reasoning_kept_apart(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script.add("m", Reply(pieces=("The", " answer"), thinking=("Let me", " think")))
    chunks = await collect(provider.stream_chat("m", MSGS))
    assert [(c.thinking, c.text) for c in chunks[:-1]] == [
        ("Let me", ""), (" think", ""), ("", "The"), ("", " answer")]


async def test_tool_calls_assembled(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    calls = [{"name": "get_weather", "arguments": {"city": "Tōkyō", "days": [1, 2, 3]}},
             {"name": "search", "arguments": {"q": "a \"quoted\" {brace}"}}]
    fake.script.add("m", Reply(pieces=("Calling.",), tool_calls=calls))
    chunks = await collect(provider.stream_chat("m", MSGS))
    assert all(c.tool_calls is None for c in chunks[:-1])
    assert chunks[-1].tool_calls == calls
    assert chunks[-1].done_reason == "tool_calls"
    assert "".join(c.text for c in chunks) == "Calling."


async def test_undecodable_tool_arguments_kept_raw(fake: FakeOpenAI,
                                                   provider: OpenAIProvider) -> None:
    fake.script.add("m", Reply(pieces=(), tool_calls=[{"name": "f", "arguments": "{oops"}]))
    chunks = await collect(provider.stream_chat("m", MSGS))
    assert chunks[-1].tool_calls == [{"name": "f", "arguments": {"_raw": "{oops"}}]


async def test_server_that_ignores_stream_flag(raw_sse: Any) -> None:
    body = (b'{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",'
            b'"content":"whole"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,'
            b'"completion_tokens":1}}')
    server = raw_sse([body], content_type="application/json")
    p = OpenAIProvider("raw", server.url + "/v1", timeouts=FAST)
    try:
        chunks = await collect(p.stream_chat("m", MSGS))
    finally:
        await p.aclose()
    assert len(chunks) == 1 and chunks[0].text == "whole" and chunks[0].done
    assert chunks[0].stats is not None and chunks[0].stats.tokens_in == 3


async def test_cut_after_finish_still_completes(raw_sse: Any) -> None:
    server = raw_sse([delta('{"content":"ok"}'), delta('{}', '"stop"'), b"<drop>"])
    p = OpenAIProvider("raw", server.url + "/v1", timeouts=FAST)
    try:
        chunks = await collect(p.stream_chat("m", MSGS))
    finally:
        await p.aclose()
    assert chunks[-1].done and "".join(c.text for c in chunks) == "ok"


# -- API keys -----------------------------------------------------------------------------
def config(base_url: str, env: str = "LOCO_TEST_OPENAI_KEY") -> OpenAIProviderConfig:
    return OpenAIProviderConfig(kind="openai", base_url=base_url, api_key_env=env,
                                timeouts={"connect_s": 2, "first_token_s": 5, "idle_s": 5})


async def test_api_key_from_env(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.api_key = "sk-loco-right-5f3a"
    fake.script.add("m", Reply.text("authorised"))
    monkeypatch.setenv("LOCO_TEST_OPENAI_KEY", "sk-loco-right-5f3a")
    p = OpenAIProvider.from_config("lmstudio", config(fake.base_url))
    try:
        chunks = await collect(p.stream_chat("m", MSGS))
        assert "".join(c.text for c in chunks) == "authorised"
        assert fake.requests[-1].headers["authorization"] == "Bearer sk-loco-right-5f3a"
        assert [m.name for m in await p.list_models()] == ["m"]
        assert "sk-loco" not in repr(p)
        assert p.timeouts == Timeouts(connect=2, first_token=5, idle=5)
    finally:
        await p.aclose()


async def test_wrong_key_is_an_auth_error_without_the_key(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.api_key = "sk-loco-right-5f3a"
    fake.script.add("m", Reply())
    secret = "sk-loco-WRONG-9d1c"
    monkeypatch.setenv("LOCO_TEST_OPENAI_KEY", secret)
    p = OpenAIProvider.from_config("lmstudio", config(fake.base_url))
    try:
        with pytest.raises(ProviderError) as info:
            await collect(p.stream_chat("m", MSGS))
        err = info.value
        assert err.category is FailureCategory.HTTP_ERROR
        assert "authentication" in err.message and "401" in err.message
        assert "LOCO_TEST_OPENAI_KEY" in err.message  # names the variable, not the value
        for text in (err.message, str(err), repr(err)):
            assert secret not in text
        with pytest.raises(ProviderError) as info2:
            await p.list_models()
        assert info2.value.category is FailureCategory.HTTP_ERROR
        assert secret not in str(info2.value)
        health = await p.health()
        assert not health.up and "authentication" in health.detail
        assert secret not in health.detail
    finally:
        await p.aclose()


async def test_missing_key_env_says_so(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.api_key = "sk-loco-right-5f3a"
    monkeypatch.delenv("LOCO_TEST_OPENAI_KEY", raising=False)
    p = OpenAIProvider.from_config("lmstudio", config(fake.base_url))
    try:
        category, message, _ = await fail_category(p.stream_chat("m", MSGS))
    finally:
        await p.aclose()
    assert category is FailureCategory.HTTP_ERROR
    assert "no API key sent" in message and "$LOCO_TEST_OPENAI_KEY" in message


# -- failures -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "category", "chunks_before"),
    [
        (Reply(fault=Fault.MODEL_MISSING), FailureCategory.MODEL_MISSING, 0),
        (Reply(fault=Fault.HTTP_500), FailureCategory.HTTP_ERROR, 0),
        (Reply(fault=Fault.RATE_LIMITED), FailureCategory.RATE_LIMITED, 0),
        (Reply(fault=Fault.CONTEXT_OVERFLOW), FailureCategory.CONTEXT_OVERFLOW, 0),
        (Reply(fault=Fault.DROP, fault_after=2), FailureCategory.DROPPED, 2),
        (Reply(fault=Fault.ERROR_MIDSTREAM, fault_after=3), FailureCategory.DROPPED, 3),
    ],
    ids=["missing", "500", "429", "context", "drop", "error-midstream"],
)
async def test_fault_categories(fake: FakeOpenAI, provider: OpenAIProvider, reply: Reply,
                                category: FailureCategory, chunks_before: int) -> None:
    fake.script.add("m", reply)
    got_category, message, got = await fail_category(provider.stream_chat("m", MSGS))
    assert got_category is category, message
    assert len(got) == chunks_before
    assert await asyncio.to_thread(fake.wait_for_no_connections)


async def test_unknown_model_is_missing(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    category, message, _ = await fail_category(provider.stream_chat("ghost", MSGS))
    assert category is FailureCategory.MODEL_MISSING and "ghost" in message


async def test_wrong_path_hints_at_base_url(fake: FakeOpenAI) -> None:
    p = OpenAIProvider("lmstudio", fake.url + "/api", timeouts=FAST)
    try:
        category, message, _ = await fail_category(p.stream_chat("m", MSGS))
    finally:
        await p.aclose()
    assert category is FailureCategory.MODEL_MISSING and "base_url" in message


async def test_stall_mid_stream(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script.add("m", Reply(pieces=("a", "b", "c"), fault=Fault.STALL, fault_after=1))
    t = Timeouts(connect=2, first_token=5, idle=0.3)
    category, _, got = await fail_category(provider.stream_chat("m", MSGS, timeouts=t))
    assert category is FailureCategory.STALLED
    assert [c.text for c in got] == ["a"]
    assert await asyncio.to_thread(fake.wait_for_no_connections)  # the stalled socket closed


async def test_slow_first_token(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script.add("m", Reply(first_token_delay_s=3))
    t = Timeouts(connect=2, first_token=0.3, idle=5)
    category, _, got = await fail_category(provider.stream_chat("m", MSGS, timeouts=t))
    assert category is FailureCategory.TIMEOUT_FIRST_TOKEN and got == []
    assert await asyncio.to_thread(fake.wait_for_no_connections)


async def test_closed_port_is_unreachable() -> None:
    p = OpenAIProvider("gone", f"http://127.0.0.1:{closed_port()}/v1", timeouts=FAST)
    try:
        category, message, _ = await fail_category(p.stream_chat("m", MSGS))
        assert category is FailureCategory.UNREACHABLE and "127.0.0.1" in message
        with pytest.raises(ProviderError) as info:
            await p.list_models()
        assert info.value.category is FailureCategory.UNREACHABLE
    finally:
        await p.aclose()


async def test_malformed_event_is_bad_output(raw_sse: Any) -> None:
    server = raw_sse([delta('{"content":"a"}'), b"data: {not json\n\n"])
    p = OpenAIProvider("raw", server.url + "/v1", timeouts=FAST)
    try:
        category, _, got = await fail_category(p.stream_chat("m", MSGS))
    finally:
        await p.aclose()
    assert category is FailureCategory.BAD_OUTPUT and [c.text for c in got] == ["a"]


async def test_stream_ending_early_is_dropped(raw_sse: Any) -> None:
    server = raw_sse([delta('{"content":"a"}')])  # a clean end, but no finish and no [DONE]
    p = OpenAIProvider("raw", server.url + "/v1", timeouts=FAST)
    try:
        category, _, _ = await fail_category(p.stream_chat("m", MSGS))
    finally:
        await p.aclose()
    assert category is FailureCategory.DROPPED


async def test_context_error_midstream_gets_its_category(raw_sse: Any) -> None:
    server = raw_sse([sse('{"error":{"message":"the request exceeds the available context '
                          'size","type":"exceed_context_size_error"}}')])
    p = OpenAIProvider("raw", server.url + "/v1", timeouts=FAST)
    try:
        category, _, _ = await fail_category(p.stream_chat("m", MSGS))
    finally:
        await p.aclose()
    assert category is FailureCategory.CONTEXT_OVERFLOW


# -- cancellation and closing -------------------------------------------------------------
async def test_cancel_mid_stream_closes_connection(fake: FakeOpenAI,
                                                   provider: OpenAIProvider) -> None:
    fake.script.add("m", Reply(pieces=tuple(f"w{i} " for i in range(200)), piece_delay_s=0.02))
    before = asyncio.all_tasks()
    two = asyncio.Event()
    got: list[Chunk] = []

    async def consume() -> None:
        async for c in provider.stream_chat("m", MSGS):
            got.append(c)
            if len(got) == 2:
                two.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(two.wait(), 5)
    assert fake.open_connections == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(fake.wait_for_no_connections)
    assert len(got) < 200
    assert await no_tasks_beyond(before)


async def test_early_close_with_aclosing(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script.add("m", Reply(pieces=tuple(f"w{i} " for i in range(200)), piece_delay_s=0.02))
    before = asyncio.all_tasks()
    async with aclosing(provider.stream_chat("m", MSGS)) as stream:
        async for chunk in stream:
            assert chunk.text == "w0 "
            break
    assert await asyncio.to_thread(fake.wait_for_no_connections)
    assert await no_tasks_beyond(before)


# -- models and health --------------------------------------------------------------------
async def test_list_models(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script.add("qwen", Reply(), parameter_size="7.6B").add("smol", Reply(), "135M")
    models = await provider.list_models()
    assert [(m.name, m.parameter_size) for m in models] == [("qwen", "7.6B"), ("smol", "135M")]


async def test_health_up(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    fake.script.add("m", Reply())
    health = await provider.health()
    assert health.up and health.latency_s is not None and health.latency_s >= 0
    assert [m.name for m in health.models] == ["m"]


async def test_health_down() -> None:
    p = OpenAIProvider("gone", f"http://127.0.0.1:{closed_port()}/v1", timeouts=FAST)
    try:
        health = await p.health()
    finally:
        await p.aclose()
    assert not health.up and "cannot connect" in health.detail


async def test_provider_reusable_after_aclose(fake: FakeOpenAI,
                                              provider: OpenAIProvider) -> None:
    fake.script.add("m", Reply.text("again"))
    await provider.aclose()
    chunks = await collect(provider.stream_chat("m", MSGS))
    assert chunks[-1].done
