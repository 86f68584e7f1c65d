"""Tools offered to models, end to end through the real providers and the fake servers: sent
in the request to models that take them, described in the system prompt to the others, asked
again with them described when a server refuses them, and every call checked against them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from loco_tui.controller import Controller
from loco_tui.events import Event, MemberFailed, MemberFinished, Route, RunFinished
from loco_tui.orchestrator import RunRequest
from loco_tui.orchestrator.tools import ToolSet, tools_via
from loco_tui.providers.base import ProviderError
from loco_tui.providers.embedded import EmbeddedProvider
from loco_tui.providers.pool import ModelTarget, ProviderPool
from loco_tui.registry.schema import ModelConfig
from loco_tui.testing.fake_openai import LLAMA_CPP_TOOL_REFUSAL, VLLM_TOOL_REFUSAL
from loco_tui.testing.fake_provider import scripted_factory
from loco_tui.testing.script import Fault, Reply, Script
from tests.tools.support import ASSISTANT_ROLE, checks, parses, registry, run, system_prompt

WEATHER = {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}
DESCRIBED = '<tool_call>[{"name": "get_weather", "arguments": {"city": "Paris"}}]</tool_call>'


def native(*calls: dict[str, Any]) -> Reply:
    return Reply(pieces=(), tool_calls=list(calls))


async def test_ollama_gets_the_tools_in_the_request_and_its_calls_are_checked(ollama_server):
    script = Script().add("qwen3:8b", Reply.text("Probably sunny.", with_tools=native(WEATHER)))
    server = ollama_server(script)
    status, events = await run(registry(ollama=server.url, body=ASSISTANT_ROLE),
                               RunRequest("What is the weather in Paris?", role="assistant"))

    assert status == "ok"
    assert server.tools_sent("qwen3:8b") == [["get_weather", "read_file"]]
    sent = server.last_body()
    unit = sent["tools"][0]["function"]["parameters"]["properties"]["unit"]
    assert sent["tools"][0]["type"] == "function" and unit["enum"] == ["celsius", "fahrenheit"]
    # Sent natively, the tools are not described in the prompt as well.
    assert "<tools>" not in system_prompt(sent)
    assert [e.detail for e in parses(events, "assistant", "tools_offered")] == [
        {"names": ["get_weather", "read_file"], "via": "native"}]
    [call] = parses(events, "assistant", "call")
    assert call.detail["format"] == "native" and call.detail["arguments"] == WEATHER["arguments"]
    assert checks(events, "assistant") == [
        {"index": 0, "name": "get_weather", "format": "native", "native": True, "offset": None,
         "ok": True, "problems": []}]


async def test_openai_gets_the_tools_and_a_bad_native_call_fails_its_check(openai_server):
    bad = {"name": "get_weather", "arguments": {"city": 7, "unit": "kelvin"}}
    script = Script().add("hermes-3", Reply.text("no tools here", with_tools=native(bad)))
    server = openai_server(script)
    body = ASSISTANT_ROLE.replace('provider = "local"\nmodel = "qwen3:8b"',
                                  'provider = "remote"\nmodel = "hermes-3"')
    status, events = await run(registry(openai=server.base_url, body=body),
                               RunRequest("Weather?", role="assistant"))

    assert status == "ok"
    assert server.tools_sent() == [["get_weather", "read_file"]]
    fn = server.chat_bodies[-1]["tools"][1]["function"]
    assert fn["name"] == "read_file" and fn["parameters"]["required"] == ["path"]
    [check] = checks(events, "assistant")
    assert check["ok"] is False and check["native"] is True
    assert [(p["kind"], p["path"]) for p in check["problems"]] == [
        ("wrong_type", "arguments.city"), ("not_in_enum", "arguments.unit")]


async def test_a_model_without_tool_support_reads_them_in_its_system_prompt(ollama_server):
    # Its /api/show capabilities leave "tools" out: it is never sent them natively.
    bad = '<tool_call>[{"name": "read_file", "arguments": {}}]</tool_call>'
    script = Script(no_tools={"qwen3:8b"}).add("qwen3:8b", Reply.text(bad))
    server = ollama_server(script)
    status, events = await run(registry(ollama=server.url, body=ASSISTANT_ROLE),
                               RunRequest("Show me setup.py", role="assistant"))

    assert status == "ok"
    assert server.tools_sent("qwen3:8b") == [None]  # one request, and no refusal
    prompt = system_prompt(server.last_body())
    assert "<tools>" in prompt and '"name": "get_weather"' in prompt
    assert '"required": ["path"]' in prompt and "<tool_call>[" in prompt
    assert [e.detail["via"] for e in parses(events, "assistant", "tools_offered")] == ["prompt"]
    [check] = checks(events, "assistant")
    assert check["native"] is False and check["format"] == "hermes" and check["offset"] == 11
    assert [(p["kind"], p["path"]) for p in check["problems"]] == [
        ("missing_argument", "arguments.path")]


@pytest.mark.parametrize("refusal", [LLAMA_CPP_TOOL_REFUSAL, VLLM_TOOL_REFUSAL],
                         ids=["llama.cpp", "vllm"])
async def test_a_server_refusing_tools_is_asked_again_with_them_described(openai_server,
                                                                          refusal):
    script = Script(no_tools={"tiny"}).add("tiny", Reply.text(DESCRIBED))
    server = openai_server(script, tool_refusal=refusal)
    body = ASSISTANT_ROLE.replace('provider = "local"\nmodel = "qwen3:8b"',
                                  'provider = "remote"\nmodel = "tiny"')
    controller = Controller(registry(openai=server.base_url, body=body))
    events: list[Event] = []
    controller.subscribe(events.append)
    try:
        first = await controller.run(RunRequest("Weather in Paris?", role="assistant"))
        retries = [e for e in events if isinstance(e, Route) and e.category is not None]
        events.clear()
        second = await controller.run(RunRequest("And in Rome?", role="assistant"))
    finally:
        await controller.aclose()

    assert first == second == "ok"
    [retry] = retries
    assert retry.reason.startswith("retry with the tools described in the prompt: qwen "
                                   f"refused them in the request (HTTP {refusal[0]}:")
    assert refusal[1] in retry.reason
    # The refused request carried the tools; the retry described them; the next run went
    # straight to the description (the provider remembers the refusal).
    assert server.tools_sent() == [["get_weather", "read_file"], None, None]
    assert "<tools>" in system_prompt(server.chat_bodies[1])
    assert "<tools>" in system_prompt(server.chat_bodies[2])
    assert not [e for e in events if isinstance(e, Route) and e.category is not None]
    [check] = checks(events, "assistant")
    assert check["ok"] is True and check["name"] == "get_weather"


async def test_a_failure_that_is_not_about_tools_is_not_retried_without_them(ollama_server):
    # A 500 from a crashed runner: the member fails (and would fall back) as ever; asking
    # again with the tools described would only hide the real error.
    script = Script().add("qwen3:8b", Reply(fault=Fault.HTTP_500))
    server = ollama_server(script)
    status, events = await run(registry(ollama=server.url, body=ASSISTANT_ROLE),
                               RunRequest("Weather?", role="assistant"))
    assert status == "failed"
    assert server.tools_sent() == [["get_weather", "read_file"]]
    assert not [e for e in events if isinstance(e, Route) and e.category is not None]
    [failed] = [e for e in events if isinstance(e, MemberFailed)]
    assert "llama runner process has terminated" in failed.message


async def test_forced_native_tools_refused_by_ollama_fall_back_to_the_prompt(ollama_server):
    script = Script(no_tools={"qwen3:8b"}).add("qwen3:8b", Reply.text(DESCRIBED))
    server = ollama_server(script)
    body = ASSISTANT_ROLE.replace('model = "qwen3:8b"',
                                  'model = "qwen3:8b"\ntool_calling = "native"')
    status, events = await run(registry(ollama=server.url, body=body),
                               RunRequest("Weather in Paris?", role="assistant"))

    assert status == "ok"
    assert server.tools_sent() == [["get_weather", "read_file"], None]
    [retry] = [e for e in events if isinstance(e, Route) and e.category is not None]
    assert "does not support tools" in retry.reason
    assert [e.detail["via"] for e in parses(events, "assistant", "tools_offered")] == [
        "native", "prompt"]
    assert [c["ok"] for c in checks(events, "assistant")] == [True]


async def test_tool_calling_prompt_describes_them_even_to_a_model_that_takes_them(ollama_server):
    script = Script().add("qwen3:8b", Reply.text(DESCRIBED, with_tools=native(WEATHER)))
    server = ollama_server(script)
    body = ASSISTANT_ROLE.replace('model = "qwen3:8b"',
                                  'model = "qwen3:8b"\ntool_calling = "prompt"')
    status, events = await run(registry(ollama=server.url, body=body),
                               RunRequest("Weather in Paris?", role="assistant"))
    assert status == "ok"
    assert server.tools_sent() == [None]
    assert [c["format"] for c in checks(events, "assistant")] == ["hermes"]


async def test_a_provider_that_cannot_take_tools_gets_them_described() -> None:
    seen: list[list[dict[str, Any]]] = []

    def answer(model: str, messages: list[dict[str, Any]]) -> Reply:
        seen.append(messages)
        return Reply.text(DESCRIBED)

    script = Script().add("qwen3:8b", answer)
    reg = registry(ollama="http://127.0.0.1:9", body=ASSISTANT_ROLE)
    controller = Controller(reg, pool=ProviderPool(reg, factory=scripted_factory(script)))
    events: list[Event] = []
    controller.subscribe(events.append)
    try:
        assert await controller.run(RunRequest("Weather in Paris?", role="assistant")) == "ok"
    finally:
        await controller.aclose()
    [messages] = seen
    assert "<tools>" in messages[0]["content"] and messages[-1]["content"] == "Weather in Paris?"
    assert [c["ok"] for c in checks(events, "assistant")] == [True]


async def test_the_embedded_model_never_takes_tools_in_the_request() -> None:
    reg = registry(ollama="http://127.0.0.1:9", body=ASSISTANT_ROLE)
    tools = ToolSet.from_registry(reg, ["get_weather"])
    provider = EmbeddedProvider("builtin")
    auto = ModelTarget("smol", ModelConfig(provider="builtin", model="smollm2"), "builtin",
                       provider)
    forced = ModelTarget("smol", ModelConfig(provider="builtin", model="smollm2",
                                             tool_calling="native"), "builtin", provider)
    assert await tools_via(tools, auto) == "prompt"
    assert await tools_via(None, auto) is None
    assert await tools_via(tools, forced) == "native"
    # Sent anyway, they are refused as a server refuses them: the member then describes them.
    assert tools is not None
    stream = provider.stream_chat("smollm2", [{"role": "user", "content": "hi"}],
                                  tools=tools.wire())
    try:
        await anext(stream)
    except ProviderError as exc:
        assert exc.refused_request and "tools" in exc.message
    else:
        raise AssertionError("the embedded provider took tools in the request")
    await provider.aclose()


TEAM = """
[models.alpha]
provider = "local"
model = "alpha:7b"
[models.beta]
provider = "local"
model = "beta:3b"
[models.arbiter]
provider = "local"
model = "arbiter:14b"
[roles]
judge = "arbiter"
[ensembles.duo]
members = [{ model = "alpha" }, { model = "beta" }]
tools = ["get_weather"]
verdict = "pick"
"""


def judge_picking(label_of_text: str) -> Any:
    """A judge that picks the proposal containing ``label_of_text``."""

    def answer(model: str, messages: list[dict[str, Any]]) -> Reply:
        brief = messages[-1]["content"]
        for block in brief.split("<proposal-")[1:]:
            if label_of_text in block:
                label = block.split('label="', 1)[1][0]
                return Reply.text(json.dumps({"reason": "fits", "winner": label,
                                              "confidence": 0.9}))
        return Reply.text('{"winner": null}')

    return answer


async def test_the_judge_is_told_which_call_failed_its_check(ollama_server):
    script = Script(no_tools={"beta:3b"})
    script.add("alpha:7b", Reply.text("sunny", with_tools=native(WEATHER)))
    script.add("beta:3b", Reply.text(
        'Checking. <tool_call>[{"name": "get_weather", "arguments": {"unit": "kelvin"}}]'
        "</tool_call>"))
    script.add("arbiter:14b", judge_picking("fits its schema"))
    server = ollama_server(script)
    status, events = await run(registry(ollama=server.url, body=TEAM),
                               RunRequest("Weather in Paris?", ensemble="duo"))

    assert status == "ok"
    brief = server.bodies("/api/chat")[-1]["messages"][-1]["content"]
    native_call = 'Tool call: get_weather {"city": "Paris", "unit": "celsius"}'
    fits = "Loco's check: the call of get_weather fits its schema."
    fails = ("Loco's check: the call of get_weather failed its schema check: arguments.city "
             "is required but missing (and 1 more problem(s)).")
    assert native_call in brief and fits in brief and fails in brief
    # The server-parsed call is part of what the model did: inside its proposal's fence.
    # Loco's checks are Loco's words: after the fence, where no proposal can forge them.
    closing = re.compile(r"</proposal-[0-9a-f]{8}>")
    for note in (fits, fails):
        before = brief[: brief.index(note)]
        assert len(closing.findall(before)) == before.count("<proposal-"), note
        assert "from Loco (not from its author):\n" + note in brief
    opened = brief.index(native_call)
    assert len(closing.findall(brief[:opened])) < brief[:opened].count("<proposal-")
    # The judge's notes stay with the judge: the answer is the picked member's own text.
    finished = {e.member: e for e in events if isinstance(e, MemberFinished)}
    done = events[-1]
    assert isinstance(done, RunFinished) and done.answer_from == "m1"
    assert done.answer == finished["m1"].text and "Loco's check" not in (done.answer or "")
    assert [c["ok"] for c in checks(events, "m2")] == [False]
    assert not parses(events, "judge", "tools_offered")  # the judge is offered no tools


@pytest.mark.parametrize(("status", "message", "refused"), [
    (400, "registry.ollama.ai/library/gemma:2b does not support tools", True),
    (500, "HTTP 500: tools param requires --jinja flag", True),
    (500, "HTTP 500: Cannot use tools with stream", True),
    (400, 'HTTP 400: "auto" tool choice requires --enable-auto-tool-choice and '
          "--tool-call-parser to be set", True),
    (404, "No endpoints found that support tool use", True),
    (400, "HTTP 400: invalid character '}' in request body", False),
    (500, "HTTP 500: llama runner process has terminated: exit status 2", False),
    (None, "the reply mentions tools param requires --jinja flag", False),
])
def test_what_counts_as_a_refusal_of_tools(status, message, refused) -> None:
    from loco_tui.events import FailureCategory
    from loco_tui.providers.openai import refuses_tools

    error = ProviderError(FailureCategory.HTTP_ERROR, message, status=status)
    assert refuses_tools(error) is refused
