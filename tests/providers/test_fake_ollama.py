"""The fake Ollama server speaks Ollama's wire format (checked with plain httpx on loopback)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from loco_tui.testing.fake_ollama import FakeOllama, demo_script
from loco_tui.testing.script import Fault, Reply, Script

PIECES = ("The", " answer", " is", " 42", ".")


def _script() -> Script:
    script = Script()
    script.add("plain:7b", Reply(pieces=PIECES, tokens_in=11), parameter_size="7.6B")
    script.add("slow:3b", Reply(pieces=PIECES, first_token_delay_s=0.1, piece_delay_s=0.03),
               parameter_size="3.2B")
    script.add("thinker:4b", Reply(pieces=("Yes",), thinking=("Let", " me", " think")),
               parameter_size="4.0B")
    script.add("tooly:8b", Reply(pieces=("Calling",),
                                 tool_calls=[{"name": "get_weather",
                                              "arguments": {"city": "Tokyo"}}]))
    script.add("missing", Reply(fault=Fault.MODEL_MISSING))
    script.add("broken", Reply(fault=Fault.HTTP_500))
    script.add("limited", Reply(fault=Fault.RATE_LIMITED))
    script.add("overflow", Reply(fault=Fault.CONTEXT_OVERFLOW))
    script.add("drop", Reply(pieces=PIECES, fault=Fault.DROP, fault_after=2))
    script.add("stall", Reply(pieces=PIECES, fault=Fault.STALL, fault_after=2))
    script.add("errmid", Reply(pieces=PIECES, fault=Fault.ERROR_MIDSTREAM, fault_after=3))
    script.add("echo", lambda model, messages: Reply.text(f"{model} heard: "
                                                          f"{messages[-1]['content']}"))
    script.loaded = {"plain:7b", "thinker:4b"}
    return script


@pytest.fixture(scope="module")
def server():
    with FakeOllama(_script()) as srv:
        yield srv


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=5) as client:
        yield client


def _lines(response: httpx.Response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def _chat(model: str, **extra) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "what is six times seven"}],
            **extra}


def test_chat_streams_ndjson_with_a_final_metrics_chunk(http):
    r = http.post("/api/chat", json=_chat("plain:7b"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-ndjson"
    assert r.headers["transfer-encoding"] == "chunked"
    parts = _lines(r)
    assert [p["message"]["content"] for p in parts[:-1]] == list(PIECES)
    for p in parts[:-1]:
        assert p["done"] is False and p["model"] == "plain:7b"
        assert p["message"]["role"] == "assistant"
        assert p["created_at"].endswith("Z")
        assert "thinking" not in p["message"] and "tool_calls" not in p["message"]
        assert "eval_count" not in p  # metrics only on the final chunk (omitempty)
    final = parts[-1]
    assert final["done"] is True and final["done_reason"] == "stop"
    assert final["message"] == {"role": "assistant", "content": ""}
    assert final["prompt_eval_count"] == 11
    assert final["eval_count"] == len(PIECES)
    for key in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(final[key], int) and final[key] > 0
    assert final["total_duration"] >= final["eval_duration"]


def test_durations_follow_real_elapsed_time(http):
    start = time.monotonic()
    final = _lines(http.post("/api/chat", json=_chat("slow:3b")))[-1]
    elapsed = time.monotonic() - start
    assert final["prompt_eval_duration"] >= 0.09e9  # the first-token delay
    assert final["eval_duration"] >= 0.03e9 * (len(PIECES) - 1) * 0.9
    assert 0.2e9 <= final["total_duration"] <= elapsed * 1e9


def test_prompt_tokens_default_to_a_word_count(http):
    final = _lines(http.post("/api/chat", json=_chat("echo")))[-1]
    assert final["prompt_eval_count"] == 5


def test_thinking_streams_before_content_and_can_be_turned_off(http):
    parts = _lines(http.post("/api/chat", json=_chat("thinker:4b", think=True)))
    thinking = [p["message"].get("thinking", "") for p in parts]
    content = [p["message"]["content"] for p in parts]
    assert "".join(thinking) == "Let me think" and "".join(content) == "Yes"
    last_thought = max(i for i, t in enumerate(thinking) if t)
    first_word = min(i for i, c in enumerate(content) if c)
    assert last_thought < first_word
    assert parts[-1]["eval_count"] == 4
    parts = _lines(http.post("/api/chat", json=_chat("thinker:4b", think=False)))
    assert not any(p["message"].get("thinking") for p in parts)


def test_tool_calls_use_ollamas_function_shape(http):
    parts = _lines(http.post("/api/chat", json=_chat("tooly:8b")))
    calls = [c for p in parts for c in p["message"].get("tool_calls", [])]
    assert calls == [{"function": {"name": "get_weather", "arguments": {"city": "Tokyo"}}}]


def test_stream_false_returns_one_object(http):
    r = http.post("/api/chat", json=_chat("thinker:4b", stream=False))
    assert r.status_code == 200 and "content-length" in r.headers
    body = r.json()
    assert body["done"] is True and body["eval_count"] == 4
    assert body["message"] == {"role": "assistant", "content": "Yes", "thinking": "Let me think"}
    body = http.post("/api/chat", json=_chat("tooly:8b", stream=False)).json()
    assert body["message"]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_generate_uses_response_and_adds_context(http):
    parts = _lines(http.post("/api/generate", json={"model": "echo", "prompt": "hi there"}))
    assert "".join(p["response"] for p in parts) == "echo heard: hi there"
    assert "message" not in parts[0]
    assert parts[-1]["done"] is True and isinstance(parts[-1]["context"], list)
    body = http.post("/api/generate", json={"model": "plain:7b", "prompt": "x",
                                            "stream": False}).json()
    assert body["response"] == "".join(PIECES) and body["done"] is True


def test_empty_requests_load_and_unload(http):
    parts = _lines(http.post("/api/chat", json={"model": "plain:7b", "messages": []}))
    assert parts == [parts[-1]] and parts[-1]["done_reason"] == "load"
    parts = _lines(http.post("/api/generate", json={"model": "plain:7b", "keep_alive": 0}))
    assert parts[-1]["done_reason"] == "unload"


def test_num_predict_ends_with_length(http):
    final = _lines(http.post("/api/chat", json=_chat("plain:7b", options={"num_predict": 5})))[-1]
    assert final["done_reason"] == "length"


def test_tags_ps_show_version(http):
    models = http.get("/api/tags").json()["models"]
    assert [m["name"] for m in models] == list(_script().models)
    plain = models[0]
    assert set(plain) == {"name", "model", "modified_at", "size", "digest", "details"}
    assert plain["details"]["parameter_size"] == "7.6B"
    assert plain["details"]["family"] == "llama" or plain["details"]["family"]
    assert plain["details"]["quantization_level"] == "Q4_K_M"
    assert 4e9 < plain["size"] < 5e9 and len(plain["digest"]) == 64

    ps = http.get("/api/ps").json()["models"]
    assert sorted(m["name"] for m in ps) == ["plain:7b", "thinker:4b"]
    for m in ps:
        assert m["size_vram"] > 0 and m["expires_at"] and m["context_length"] > 0

    show = http.post("/api/show", json={"model": "thinker:4b"}).json()
    assert show["details"]["parameter_size"] == "4.0B"
    assert show["model_info"]["general.parameter_count"] == 4_000_000_000
    assert "completion" in show["capabilities"]
    r = http.post("/api/show", json={"model": "nope"})
    assert r.status_code == 404 and r.json() == {"error": "model 'nope' not found"}

    assert http.get("/api/version").json()["version"]
    assert http.get("/").text == "Ollama is running"
    assert http.get("/api/nothing").status_code == 404


@pytest.mark.parametrize(
    ("model", "status", "needle"),
    [
        ("unknown:1b", 404, "model 'unknown:1b' not found"),
        ("missing", 404, "model 'missing' not found"),
        ("broken", 500, ""),
        ("limited", 429, ""),
        ("overflow", 400, "context length"),
    ],
)
def test_faults_before_the_stream_are_json_errors(http, model, status, needle):
    r = http.post("/api/chat", json=_chat(model))
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    assert needle in r.json()["error"]
    assert http.post("/api/generate", json={"model": model, "prompt": "x"}).status_code == status


def test_missing_model_field_is_400(http):
    r = http.post("/api/chat", json={"messages": []})
    assert r.status_code == 400 and r.json()["error"] == "model is required"


def test_drop_cuts_the_connection_after_n_pieces(server):
    seen = []
    with (
        httpx.Client(base_url=server.url, timeout=5) as client,
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", "/api/chat", json=_chat("drop")) as r,
    ):
        assert r.status_code == 200
        for line in r.iter_lines():
            seen.append(json.loads(line)["message"]["content"])
    assert seen == list(PIECES[:2])


def test_error_midstream_is_an_error_line_on_a_200(http):
    r = http.post("/api/chat", json=_chat("errmid"))
    assert r.status_code == 200
    parts = _lines(r)
    assert [p["message"]["content"] for p in parts[:3]] == list(PIECES[:3])
    assert set(parts[3]) == {"error"} and len(parts) == 4
    r = http.post("/api/chat", json=_chat("errmid", stream=False))
    assert r.status_code == 500 and "error" in r.json()


def test_stall_goes_silent_and_ends_when_the_client_hangs_up(server):
    assert server.wait_for_no_connections(2)
    with httpx.Client(base_url=server.url, timeout=httpx.Timeout(5, read=0.3)) as client:
        seen = []
        with (
            pytest.raises(httpx.ReadTimeout),
            client.stream("POST", "/api/chat", json=_chat("stall")) as r,
        ):
            for line in r.iter_lines():
                seen.append(json.loads(line)["message"]["content"])
        assert seen == list(PIECES[:2])
    assert server.wait_for_no_connections(2)


def test_requests_are_recorded(server, http):
    http.post("/api/chat", json=_chat("plain:7b", options={"temperature": 0.1},
                                       keep_alive="5m", think=True))
    body = server.last_body("/api/chat")
    assert body["options"] == {"temperature": 0.1}
    assert body["keep_alive"] == "5m" and body["think"] is True
    assert server.requests[-1].headers["content-type"] == "application/json"
    assert body in server.bodies("/api/chat")


async def test_num_parallel_queues_requests_per_model():
    script = Script().add("one:1b", Reply(pieces=("a", "b"), first_token_delay_s=0.15))
    script.add("two:1b", Reply(pieces=("c",), first_token_delay_s=0.15))

    async def call(client: httpx.AsyncClient, model: str) -> float:
        start = time.monotonic()
        r = await client.post("/api/chat", json=_chat(model))
        assert r.status_code == 200 and _lines(r)[-1]["done"]
        return time.monotonic() - start

    with FakeOllama(script, num_parallel=1) as srv:
        async with httpx.AsyncClient(base_url=srv.url, timeout=5) as client:
            times = await asyncio.gather(call(client, "one:1b"), call(client, "one:1b"),
                                         call(client, "two:1b"))
    assert sorted(times[:2])[1] >= 0.29  # the second call on one:1b waited for the first
    assert times[2] < 0.28  # another model is not held up


def test_demo_script_answers_depend_on_the_prompt():
    script = demo_script(delay=0)
    assert len(script.models) >= 3 and script.loaded <= set(script.models)
    answers = {}
    for model in script.models:
        a = script.reply_for(model, [{"role": "user", "content": "Fix the login bug."}])
        b = script.reply_for(model, [{"role": "user", "content": "Plan a garden."}])
        assert a is not None and b is not None
        assert a.full_text != b.full_text
        assert a.full_text.count(".") >= 2
        answers[model] = a.full_text
    assert len(set(answers.values())) == len(answers)
    assert any("<tool_call>" in text and "</tool_call>" in text for text in answers.values())


def test_demo_server_runs_as_a_module():
    proc = subprocess.Popen(
        [sys.executable, "-m", "loco_tui.testing.fake_ollama", "--port", "0", "--delay", "0"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line
        url = line.split()[-1]
        assert len(httpx.get(f"{url}/api/tags", timeout=5).json()["models"]) >= 3
        r = httpx.post(f"{url}/api/chat", timeout=5, json={
            "model": "qwen2.5-coder:7b", "stream": False,
            "messages": [{"role": "user", "content": "Reverse a linked list."}]})
        assert "Reverse a linked list" in r.json()["message"]["content"]
    finally:
        proc.terminate()
        proc.wait(5)
        proc.stdout.close()
