"""What a member forwards while a call streams: ``call_delta`` previews in order, each valid
JSON and a prefix of the final call, besides a trace that is exactly the parser's."""

from __future__ import annotations

import json
from typing import Any

from loco_tui.events import Delta, Parse
from loco_tui.orchestrator import RunRequest
from loco_tui.parser import parse_response
from loco_tui.testing.script import Reply, Script
from tests.tools.support import ASSISTANT_ROLE, parses, registry, run

# Two calls, streamed three characters at a time, the second with a long argument.
TEXT = (
    "I will look both up.\n<tool_call>\n"
    '{"name": "get_weather", "arguments": {"city": "São Paulo, the largest city of Brazil", '
    '"unit": "celsius"}}\n</tool_call>\n<tool_call>\n'
    '{"name": "read_file", "arguments": {"path": "docs/'
    + "/".join(f"level-{n}" for n in range(30)) + '/itinerary.md"}}\n</tool_call>'
)
EXTRA = ("tools_offered", "schema_check", "call_delta")


def prefix_of(partial: Any, final: Any) -> bool:
    """``partial`` shows nothing ``final`` does not: same keys and values, except that a
    string (the last one still streaming) may be cut short."""
    if isinstance(partial, dict):
        return isinstance(final, dict) and all(
            k in final and prefix_of(v, final[k]) for k, v in partial.items())
    if isinstance(partial, list):
        return isinstance(final, list) and len(partial) <= len(final) and all(
            prefix_of(a, b) for a, b in zip(partial, final, strict=False))
    if isinstance(partial, str):
        return isinstance(final, str) and final.startswith(partial)
    return bool(partial == final)


async def test_call_deltas_are_forwarded_in_order_and_are_prefixes_of_the_final_calls(
        ollama_server):
    pieces = tuple(TEXT[i:i + 3] for i in range(0, len(TEXT), 3))
    server = ollama_server(Script(no_tools={"qwen3:8b"}).add("qwen3:8b", Reply(pieces=pieces)))
    status, events = await run(registry(ollama=server.url, body=ASSISTANT_ROLE),
                               RunRequest("Weather in São Paulo, and my notes?", role="assistant"))
    assert status == "ok"
    member = [e for e in events if isinstance(e, (Parse, Delta)) and e.member == "assistant"]
    deltas = [e for e in member if isinstance(e, Parse) and e.kind == "call_delta"]
    finals = {e.detail["index"]: e for e in parses(events, "assistant", "call")}
    assert sorted(finals) == [0, 1]
    assert {d.detail["index"] for d in deltas} == {0, 1}
    # Looked at again each time a call's text grew by half: a few previews, never a flood.
    assert 3 <= len(deltas) <= 12
    assert len([d for d in deltas if d.detail["index"] == 1]) >= 2
    for index, final in finals.items():
        mine = [d for d in deltas if d.detail["index"] == index]
        assert mine, f"call {index} was never previewed"
        for d in mine:
            # Valid JSON (what a headless consumer reads back) and the final call's prefix.
            assert json.loads(json.dumps(d.detail["arguments"])) == d.detail["arguments"]
            assert d.detail["name"] == final.detail["name"]
            assert prefix_of(d.detail["arguments"], final.detail["arguments"])
            # A preview comes before the call it previews is final.
            assert member.index(d) < member.index(final)
        # Previews of one call only ever grow.
        sizes = [len(json.dumps(d.detail["arguments"], ensure_ascii=False)) for d in mine]
        assert sizes == sorted(sizes)
    # The call deltas of call 0 all come before those of call 1.
    order = [d.detail["index"] for d in deltas]
    assert order == sorted(order)


async def test_the_forwarded_trace_is_the_parsers_whole_text_trace(ollama_server):
    """Previews are not trace events: the member counts only trace events as forwarded, so
    finish() adds exactly what streaming had not yet said, nothing twice, nothing lost."""
    pieces = tuple(TEXT[i:i + 3] for i in range(0, len(TEXT), 3))
    server = ollama_server(Script(no_tools={"qwen3:8b"}).add("qwen3:8b", Reply(pieces=pieces)))
    _, events = await run(registry(ollama=server.url, body=ASSISTANT_ROLE),
                          RunRequest("Weather?", role="assistant"))
    forwarded = [(e.kind, e.detail) for e in parses(events, "assistant") if e.kind not in EXTRA]
    reg = registry(ollama=server.url, body=ASSISTANT_ROLE)
    schemas = {name: reg.tools[name].parameters for name in ("get_weather", "read_file")}
    whole = parse_response(TEXT, tools=schemas)
    expected = []
    for event in whole.trace:
        detail = dict(event.detail)
        if event.offset is not None:
            detail.setdefault("offset", event.offset)
        expected.append((event.kind, detail))
    assert forwarded == expected
    assert [c.name for c in whole.tool_calls] == ["get_weather", "read_file"]
    # One schema check per call, after the classification that ends the trace.
    kinds = [e.kind for e in parses(events, "assistant") if e.kind != "call_delta"]
    assert kinds[-3:] == ["classification", "schema_check", "schema_check"]
