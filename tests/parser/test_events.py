"""The parse trace: what was recognised where, what was repaired, how it was classified."""

from __future__ import annotations

import json

from loco_tui.parser import ParseEvent, StreamParser, parse_response


def kinds(text: str, known: list[str] | None = None) -> list[str]:
    return [e.kind for e in parse_response(text, known).trace]


def test_hermes_trace_in_order_with_offsets() -> None:
    text = 'Hi.\n<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>'
    trace = parse_response(text).trace
    assert [e.kind for e in trace] == ["format", "call_started", "call", "classification"]
    fmt = trace[0]
    assert fmt.offset == text.index("<tool_call>")
    assert fmt.detail == {"format": "hermes", "marker": "<tool_call>"}
    call = trace[2]
    assert call.detail["name"] == "f" and call.detail["arguments"] == {"a": 1}
    assert call.detail["span"] == [text.index('{"name"'), len(text)]
    assert trace[-1].detail == {"kind": "tool_call", "reason": "1 tool call(s)"}


def test_repair_event_lists_fixes() -> None:
    trace = parse_response("<tool_call>{'name': 'f', 'arguments': {'a': True,}}</tool_call>").trace
    repair = next(e for e in trace if e.kind == "repair")
    assert set(repair.detail["fixes"]) >= {"single_quotes", "python_literal", "trailing_comma"}
    call = next(e for e in trace if e.kind == "call")
    assert call.detail["repaired"] == repair.detail["fixes"]


def test_think_event() -> None:
    trace = parse_response("<think>step by step</think>Answer: 4").trace
    think = trace[0]
    assert think.kind == "think" and think.offset == 0
    assert think.detail == {"chars": len("step by step"), "closed": True, "marker": "<think>"}


def test_lone_think_closer_retracts_calls() -> None:
    text = ('reasoning {"name": "draft", "arguments": {}} hmm\n</think>\n'
            '<tool_call>{"name": "real", "arguments": {}}</tool_call>')
    r = parse_response(text)
    assert [c.name for c in r.tool_calls] == ["real"]
    ks = [e.kind for e in r.trace]
    assert ks.index("retract") > ks.index("call")
    retract = next(e for e in r.trace if e.kind == "retract")
    assert retract.detail["names"] == ["draft"]
    assert r.reasoning.startswith("reasoning")


def test_bare_json_call_started_and_format() -> None:
    assert kinds('{"name": "f", "arguments": {}}') == [
        "call_started", "format", "call", "classification"]
    # data with a "name" key starts a call that is then rejected, with the reason
    trace = parse_response('{"name": "Alice", "age": 3}').trace
    assert [e.kind for e in trace] == ["call_started", "rejected", "classification"]
    assert "unexpected keys" in trace[1].detail["reason"]


def test_mistral_name_announced_once_complete() -> None:
    p = StreamParser()
    started = []
    for ch in '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}':
        started += [e for e in p.feed(ch) if e.kind == "call_started"]
    started += [e for e in p.finish().trace if e.kind == "call_started" and e not in started]
    assert len(started) == 1 and started[0].detail["name"] == "get_weather"


def test_rejected_marker_without_call() -> None:
    trace = parse_response("See [TOOL_CALLS] here").trace
    assert any(e.kind == "rejected" and e.detail["format"] == "mistral" for e in trace)


def test_all_details_serialise_as_jsonl() -> None:
    text = ("<think>x</think>[get_weather(city='Paris', days=(1, 2), tags={'a'})]\n"
            "<tool_call>{'name': 'f', 'arguments': {'x': NaN}}</tool_call>")
    r = parse_response(text)
    for e in r.trace:
        assert isinstance(e, ParseEvent)
        line = json.dumps({"type": "parse", "member": "m1", "kind": e.kind, "detail": e.detail},
                          allow_nan=False)
        assert json.loads(line)["kind"] == e.kind
    assert r.tool_calls[0].arguments == {"city": "Paris", "days": [1, 2], "tags": ["a"]}


def test_classification_is_last_and_once() -> None:
    for text in ["", "hi", "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>"]:
        ks = kinds(text)
        assert ks[-1] == "classification" and ks.count("classification") == 1
