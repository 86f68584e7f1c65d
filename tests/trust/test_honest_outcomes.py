"""No run ends silently wrong: empty replies fail (and fall back), cut replies say so, busy
servers are waited for as they ask, odd answers (HTML pages, invalid UTF-8, endless lines,
streams of nothing) end with a clear category instead of a hang or a crash."""

from __future__ import annotations

import json
import time

import pytest

from loco_tui.controller import Controller
from loco_tui.events import (
    FailureCategory,
    MemberFailed,
    MemberFinished,
    Route,
    RunFinished,
)
from loco_tui.orchestrator import RunRequest
from loco_tui.providers.base import Chunk, ProviderError, Timeouts
from loco_tui.providers.ollama import OllamaProvider
from loco_tui.providers.openai import LineSplitter, LineTooLong, OpenAIProvider
from loco_tui.testing.script import Fault, Reply, Script
from tests.common import FALLBACK_ROLE, registry_for

FAST = Timeouts(connect=2, first_token=5, idle=5, total=30)
MESSAGES = [{"role": "user", "content": "hi"}]


async def stream(provider, model: str = "m") -> tuple[list[Chunk], ProviderError | None]:
    chunks: list[Chunk] = []
    try:
        async for chunk in provider.stream_chat(model, MESSAGES, timeouts=provider.timeouts):
            chunks.append(chunk)
    except ProviderError as exc:
        return chunks, exc
    finally:
        await provider.aclose()
    return chunks, None


async def run_role(url: str) -> tuple[str, list]:
    controller = Controller(registry_for(url, FALLBACK_ROLE))
    events: list = []
    controller.subscribe(events.append)
    try:
        status = await controller.run(RunRequest("hi", role="coder"))
    finally:
        await controller.aclose()
    return status, events


@pytest.mark.parametrize("empty", [(), ("",), ("  ", "\n", "\t ")])
async def test_an_empty_reply_is_a_failure_that_falls_back(ollama_server, empty):
    server = ollama_server(Script().add("first:7b", Reply(pieces=empty))
                           .add("second:1b", Reply.text("A real answer.")))
    status, events = await run_role(server.url)
    assert status == "ok"
    route = next(e for e in events if isinstance(e, Route) and e.category)
    assert route.category is FailureCategory.EMPTY and "first failed (empty)" in route.reason
    finished = [e for e in events if isinstance(e, MemberFinished)]
    assert [e.model for e in finished] == ["second"]
    assert events[-1].answer == "A real answer."


async def test_an_empty_reply_with_nothing_to_fall_back_to_fails_the_run(ollama_server):
    server = ollama_server(Script().add("first:7b", Reply(pieces=("",)))
                           .add("second:1b", Reply(pieces=(" ",))))
    status, events = await run_role(server.url)
    assert status == "failed"
    failed = next(e for e in events if isinstance(e, MemberFailed))
    assert failed.category is FailureCategory.EMPTY
    assert isinstance(events[-1], RunFinished) and events[-1].answer is None


async def test_a_reply_cut_by_the_token_limit_carries_finish_reason(ollama_server, openai_server):
    cut = Reply.text("stops in the mid", finish_reason="length")
    server = ollama_server(Script().add("first:7b", cut).add("second:1b", Reply()))
    _, events = await run_role(server.url)
    finished = next(e for e in events if isinstance(e, MemberFinished))
    assert finished.finish_reason == "length" and finished.cut
    fake = openai_server(Script().add("m", cut))
    chunks, error = await stream(OpenAIProvider("p", fake.base_url, timeouts=FAST))
    assert error is None and chunks[-1].done_reason == "length"


@pytest.mark.parametrize("kind", ["ollama", "openai"])
async def test_a_stream_of_nothing_hits_the_total_deadline(ollama_server, openai_server, kind):
    script = Script().add("m", Reply(fault=Fault.EMPTY_CHUNKS, piece_delay_s=0.05))
    timeouts = Timeouts(connect=2, first_token=60, idle=60, total=1.0)
    if kind == "ollama":
        provider = OllamaProvider("o", ollama_server(script).url, timeouts=timeouts)
    else:
        provider = OpenAIProvider("p", openai_server(script).base_url, timeouts=timeouts)
    started = time.monotonic()
    chunks, error = await stream(provider)
    assert error is not None and error.category is FailureCategory.TIMEOUT_TOTAL
    assert "1s" in error.message
    assert 0.9 < time.monotonic() - started < 5
    assert not any(c.text for c in chunks)


async def test_empty_keepalives_do_not_restart_the_first_token_wait(ollama_server):
    script = Script().add("m", Reply(fault=Fault.EMPTY_CHUNKS, piece_delay_s=0.05))
    timeouts = Timeouts(connect=2, first_token=0.8, idle=60, total=60)
    provider = OllamaProvider("o", ollama_server(script).url, timeouts=timeouts)
    started = time.monotonic()
    _, error = await stream(provider)
    assert error is not None and error.category is FailureCategory.TIMEOUT_FIRST_TOKEN
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("fault", [Fault.RATE_LIMITED, Fault.SERVER_BUSY])
@pytest.mark.parametrize("kind", ["ollama", "openai"])
async def test_retry_after_is_said_and_honoured_by_the_next_call(
    ollama_server, openai_server, kind, fault
):
    busy = Script().add("m", Reply(fault=fault, retry_after_s=1.2))
    if kind == "ollama":
        server = ollama_server(busy)
        provider = OllamaProvider("o", server.url, timeouts=FAST)
    else:
        server = openai_server(busy)
        provider = OpenAIProvider("p", server.base_url, timeouts=FAST)
    try:
        with pytest.raises(ProviderError) as caught:
            async for _ in provider.stream_chat("m", MESSAGES):
                pass
        # 429 and 503 are one category on both providers: busy, come back later.
        assert caught.value.category is FailureCategory.RATE_LIMITED
        assert "retry after 1.2s" in caught.value.message
        assert caught.value.retry_after_s == pytest.approx(1.2)
        server.script.replies["m"] = Reply.text("Now it works.")
        started = time.monotonic()
        text = [c.text async for c in provider.stream_chat("m", MESSAGES)]
        waited = time.monotonic() - started
    finally:
        await provider.aclose()
    assert "".join(text) == "Now it works."
    assert waited >= 1.0


async def test_retry_after_is_capped():
    from loco_tui.providers.base import RETRY_AFTER_CAP_S, parse_retry_after

    assert parse_retry_after("3600") == RETRY_AFTER_CAP_S
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


@pytest.mark.parametrize("kind", ["ollama", "openai"])
async def test_an_html_page_instead_of_a_stream_says_so(ollama_server, openai_server, kind):
    script = Script().add("m", Reply(fault=Fault.HTML_PAGE))
    if kind == "ollama":
        provider = OllamaProvider("o", ollama_server(script).url, timeouts=FAST)
    else:
        provider = OpenAIProvider("p", openai_server(script).base_url, timeouts=FAST)
    _, error = await stream(provider)
    assert error is not None and error.category is FailureCategory.BAD_OUTPUT
    assert "HTML page (Sign in - Corp Proxy)" in error.message
    assert "<html" not in error.message.lower()


def _sse(delta: dict, finish: str | None = None) -> bytes:
    return b"data: " + json.dumps({"choices": [{"index": 0, "delta": delta,
                                                 "finish_reason": finish}]}).encode() + b"\n\n"


async def test_one_invalid_utf8_byte_becomes_a_replacement_character(openai_server):
    body = (_sse({"content": "café ok"})
            + b'data: {"choices":[{"index":0,"delta":{"content":"bad \xff byte"},'
              b'"finish_reason":null}]}\n\n'
            + _sse({}, "stop") + b"data: [DONE]\n\n")
    server = openai_server(Script().add("m", Reply(raw_body=body)))
    chunks, error = await stream(OpenAIProvider("p", server.base_url, timeouts=FAST))
    assert error is None
    assert "".join(c.text for c in chunks) == "café okbad \ufffd byte"


async def test_no_usage_means_tokens_in_unknown_not_zero(openai_server):
    body = _sse({"content": "Hi"}) + _sse({}, "stop") + b"data: [DONE]\n\n"
    server = openai_server(Script().add("m", Reply(raw_body=body)))
    chunks, error = await stream(OpenAIProvider("p", server.base_url, timeouts=FAST))
    assert error is None
    stats = chunks[-1].stats
    assert stats is not None and stats.tokens_in is None and stats.tokens_out == 1


async def test_an_endless_event_line_is_refused_and_said(openai_server):
    from loco_tui.providers import openai as openai_module

    body = b'data: {"choices":[{"index":0,"delta":{"content":"' + b"x" * (2 * 2**20)
    server = openai_server(Script().add("m", Reply(raw_body=body)))
    original = openai_module.MAX_EVENT_BYTES
    openai_module.MAX_EVENT_BYTES = 2**20
    try:
        _, error = await stream(OpenAIProvider("p", server.base_url, timeouts=FAST))
    finally:
        openai_module.MAX_EVENT_BYTES = original
    assert error is not None and error.category is FailureCategory.BAD_OUTPUT
    assert "event line over 1 MiB" in error.message and "cut" in error.message


def test_lines_split_across_reads_are_joined_once():
    splitter = LineSplitter(limit=10**6)
    line = b"data: " + b"y" * 200_000
    out: list[bytes] = []
    for i in range(0, len(line), 7):
        out += splitter.feed(line[i:i + 7])
    out += splitter.feed(b"\ndata: next\n")
    assert out == [line, b"data: next"]
    assert splitter.close() == []
    with pytest.raises(LineTooLong):
        tiny = LineSplitter(limit=100)
        for _ in range(20):
            tiny.feed(b"z" * 10)


def test_an_unterminated_last_line_is_still_read():
    splitter = LineSplitter(limit=100)
    assert splitter.feed(b"data: a\ndata: [DO") == [b"data: a"]
    assert splitter.close() == [b"data: [DO"]
