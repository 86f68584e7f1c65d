"""The fake OpenAI-compatible server speaks the wire format real servers speak.

These tests talk to it with plain httpx over real loopback HTTP, the way any client would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from loco_tui.testing.fake_openai import FakeOpenAI
from loco_tui.testing.script import Fault, Reply, Script

MSGS = [{"role": "user", "content": "say hello please"}]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(Script()) as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    # One client for the module: building one costs tens of milliseconds (its SSL context).
    with httpx.Client(timeout=5) as client:
        yield client


def sse_events(http: httpx.Client, server: FakeOpenAI, body: dict[str, Any]) -> list[Any]:
    """POST a streaming chat and return every event: dicts, plus the string '[DONE]'."""
    events: list[Any] = []
    with http.stream("POST", server.base_url + "/chat/completions", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode()
    # Every event is exactly `data: <payload>\n\n`.
    assert raw.endswith("\n\n")
    for block in raw.split("\n\n")[:-1]:
        assert block.startswith("data: "), block
        payload = block[len("data: "):]
        events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def chat(model: str = "m", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": MSGS, "stream": True, **extra}


def test_stream_shape_without_usage(http: httpx.Client, fake: FakeOpenAI) -> None:
    fake.script.add("m", Reply.text("Hello there, world"))
    events = sse_events(http, fake, chat())
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "m" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "Hello there, world"
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert all("usage" not in c for c in chunks)  # no include_usage, no usage at all


def test_usage_chunk_only_when_asked(http: httpx.Client, fake: FakeOpenAI) -> None:
    fake.script.add("m", Reply(pieces=("a", "b", "c"), tokens_in=11))
    events = sse_events(http, fake, chat(stream_options={"include_usage": True}))
    assert events[-1] == "[DONE]"
    usage_chunk = events[-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == {"prompt_tokens": 11, "completion_tokens": 3,
                                    "total_tokens": 14}
    assert events[-3]["choices"][0]["finish_reason"] == "stop"
    assert all(e["usage"] is None for e in events[:-2])


def test_reasoning_content_before_content(http: httpx.Client, fake: FakeOpenAI) -> None:
    fake.script.add("m", Reply(pieces=("42",), thinking=("six ", "times seven")))
    deltas = [e["choices"][0]["delta"] for e in sse_events(http, fake, chat())[:-1]]
    kinds = [next((k for k in ("reasoning_content", "content") if d.get(k)), None)
             for d in deltas]
    assert [k for k in kinds if k] == ["reasoning_content", "reasoning_content", "content"]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "six times seven"


def test_tool_call_deltas(http: httpx.Client, fake: FakeOpenAI) -> None:
    calls = [{"name": "get_weather", "arguments": {"city": "Tokyo", "days": 3}},
             {"function": {"name": "noop", "arguments": {}}}]
    fake.script.add("m", Reply(pieces=(), tool_calls=calls))
    events = sse_events(http, fake, chat())
    deltas = [d for e in events[:-1] for d in e["choices"][0]["delta"].get("tool_calls", [])]
    firsts = [d for d in deltas if "id" in d]
    assert [(d["index"], d["type"], d["function"]["name"]) for d in firsts] == [
        (0, "function", "get_weather"), (1, "function", "noop")]
    pieces = [d["function"]["arguments"] for d in deltas if d["index"] == 0]
    assert len([p for p in pieces if p]) > 1  # really split across chunks
    assert json.loads("".join(pieces)) == {"city": "Tokyo", "days": 3}
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_non_streaming_completion(http: httpx.Client, fake: FakeOpenAI) -> None:
    fake.script.add("m", Reply.text("All at once", thinking=("hm",), tool_calls=[
        {"name": "f", "arguments": {"x": 1}}]))
    r = http.post(fake.base_url + "/chat/completions",
                   json={"model": "m", "messages": MSGS})
    assert r.status_code == 200
    obj = r.json()
    assert obj["object"] == "chat.completion"
    msg = obj["choices"][0]["message"]
    assert msg["content"] == "All at once" and msg["reasoning_content"] == "hm"
    assert json.loads(msg["tool_calls"][0]["function"]["arguments"]) == {"x": 1}
    assert obj["choices"][0]["finish_reason"] == "tool_calls"
    assert obj["usage"]["prompt_tokens"] == 3


def test_models_list(http: httpx.Client, fake: FakeOpenAI) -> None:
    fake.script.add("a", Reply()).add("b", Reply(), parameter_size="135M")
    obj = http.get(fake.base_url + "/models").json()
    assert obj["object"] == "list"
    assert [m["id"] for m in obj["data"]] == ["a", "b"]
    assert obj["data"][1]["meta"]["n_params"] == 135_000_000


def test_api_key_required(http: httpx.Client, fake: FakeOpenAI) -> None:
    fake.api_key = "sk-right"
    fake.script.add("m", Reply())
    for headers in ({}, {"Authorization": "Bearer sk-wrong"}):
        r = http.get(fake.base_url + "/models", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["type"] == "invalid_request_error"
        r = http.post(fake.base_url + "/chat/completions", headers=headers,
                       json=chat())
        assert r.status_code == 401
    ok = http.get(fake.base_url + "/models",
                   headers={"Authorization": "Bearer sk-right"})
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("fault", "status", "etype", "words"),
    [
        (Fault.MODEL_MISSING, 404, "not_found_error", "does not exist"),
        (Fault.HTTP_500, 500, "api_error", "internal"),
        (Fault.RATE_LIMITED, 429, "rate_limit_error", "rate limit"),
        (Fault.CONTEXT_OVERFLOW, 400, "invalid_request_error", "context length"),
    ],
)
def test_error_faults(http: httpx.Client, fake: FakeOpenAI, fault: Fault, status: int, etype: str,
                      words: str) -> None:
    fake.script.add("m", Reply(fault=fault))
    r = http.post(fake.base_url + "/chat/completions", json=chat())
    assert r.status_code == status
    err = r.json()["error"]
    assert err["type"] == etype and words in err["message"].lower()
    assert set(err) == {"message", "type", "param", "code"}


def test_unknown_model_and_bad_body(http: httpx.Client, fake: FakeOpenAI) -> None:
    r = http.post(fake.base_url + "/chat/completions", json=chat("ghost"))
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"
    r = http.post(fake.base_url + "/chat/completions", content=b"{nope")
    assert r.status_code == 400


def test_drop_cuts_the_connection(http: httpx.Client, fake: FakeOpenAI) -> None:
    fake.script.add("m", Reply(pieces=("a", "b", "c", "d"), fault=Fault.DROP, fault_after=2))
    got: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", fake.base_url + "/chat/completions", json=chat()) as r,
    ):
        for line in r.iter_lines():
            if line.startswith("data: "):
                got.append(line)
    contents = [json.loads(x[6:])["choices"][0]["delta"].get("content") for x in got]
    assert contents == ["", "a", "b"]
    assert fake.wait_for_no_connections()


def test_stall_holds_until_client_leaves(http: httpx.Client, fake: FakeOpenAI) -> None:
    fake.script.add("m", Reply(pieces=("a", "b"), fault=Fault.STALL, fault_after=1))
    with (
        pytest.raises(httpx.ReadTimeout),
        http.stream("POST", fake.base_url + "/chat/completions", json=chat(),
                    timeout=httpx.Timeout(5, read=0.3)) as r,
    ):
        for _ in r.iter_lines():
            pass
    assert fake.wait_for_no_connections()


def test_error_midstream_event(http: httpx.Client, fake: FakeOpenAI) -> None:
    fake.script.add("m", Reply(pieces=("a", "b"), fault=Fault.ERROR_MIDSTREAM, fault_after=1))
    events = sse_events(http, fake, chat())
    assert events[-1] == "[DONE]"
    assert "error" in events[-2] and events[-2]["error"]["message"]
    assert not any(e["choices"][0]["finish_reason"] for e in events[:-2])


def test_request_bodies_recorded(http: httpx.Client, fake: FakeOpenAI) -> None:
    fake.script.add("m", Reply())
    sse_events(http, fake, chat(temperature=0.5))
    assert fake.chat_bodies == [{**chat(temperature=0.5)}]
    assert fake.requests[0].method == "POST"


def test_cli_serves_demo_script(http: httpx.Client) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "loco_tui.testing.fake_openai", "--port", "0"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        ids = [m["id"] for m in http.get(base_url + "/models").json()["data"]]
        assert "demo-chat" in ids
    finally:
        proc.terminate()
        proc.wait(10)
