"""call_delta previews: valid JSON, prefix-consistent with the final call, never in the trace."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loco_tui.parser import ParseEvent, StreamParser, parse_response

from .cases import DIALECT_CASES, MALFORMED_CASES, NEW_DIALECT_CASES


def consistent(preview: Any, final: Any) -> bool:
    """``preview`` is what ``final`` looked like earlier: same keys and values, except that
    strings may be cut short and lists may be shorter (their last item still forming)."""
    if isinstance(preview, str):
        return isinstance(final, str) and final.startswith(preview)
    if isinstance(preview, dict):
        return isinstance(final, dict) and all(
            k in final and consistent(v, final[k]) for k, v in preview.items())
    if isinstance(preview, list):
        return isinstance(final, list) and len(preview) <= len(final) and all(
            consistent(p, f) for p, f in zip(preview, final, strict=False))
    return type(preview) is type(final) and preview == final


def stream(text: str, cuts: list[int], known: list[str] | None = None,
           tools: dict[str, Any] | None = None) -> tuple[list[ParseEvent], Any]:
    p = StreamParser(known, tools=tools, previews=True)
    events: list[ParseEvent] = []
    prev = 0
    for c in [*sorted(set(cuts)), len(text)]:
        events += p.feed(text[prev:c])
        prev = c
    return [e for e in events if e.kind == "call_delta"], p.finish()


CASES = (
    [pytest.param(t, o.get("known"), o.get("tools"), id=i) for i, t, _c, o in DIALECT_CASES]
    + [pytest.param(t, None, None, id=i) for i, t, _c, _f in MALFORMED_CASES]
    + [pytest.param(t, o.get("known"), o.get("tools"), id=i)
       for cases in NEW_DIALECT_CASES.values() for i, t, _c, o in cases]
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.parametrize(("text", "known", "tools"), CASES)
@given(data=st.data())
def test_previews_are_json_and_prefixes_of_the_final_call(
        text: str, known: list[str] | None, tools: dict[str, Any] | None,
        data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=len(text)))
    previews, result = stream(text, cuts, known, tools)
    assert result.to_dict() == parse_response(text, known, tools=tools).to_dict()
    for e in previews:
        d = e.detail
        assert json.loads(json.dumps(d["arguments"], allow_nan=False)) == d["arguments"]
        final = result.tool_calls[d["index"]]
        assert final.name == d["name"]
        assert consistent(d["arguments"], final.arguments), (d, final)


def test_a_long_call_is_previewed_as_it_streams() -> None:
    body = "x" * 400
    text = ('Writing it.\n<tool_call>\n{"name": "write_file", "arguments": {"path": "a.txt", '
            f'"content": "{body}", "mode": 420}}}}\n</tool_call>')
    p = StreamParser(previews=True)
    seen: list[tuple[int, dict[str, Any]]] = []
    for i, ch in enumerate(text):
        seen += [(i, e.detail) for e in p.feed(ch) if e.kind == "call_delta"]
    result = p.finish()
    assert len(seen) >= 3
    contents = [d["arguments"].get("content", "") for _i, d in seen]
    assert contents == sorted(contents, key=len) and 0 < len(contents[-1]) <= len(body)
    assert all(d["name"] == "write_file" and d["index"] == 0 for _i, d in seen)
    # previews arrive before the call closes, and the fragments add up to the raw call text
    assert seen[0][0] < text.index("</tool_call>")
    assert "".join(d["fragment"] for _i, d in seen) in text
    assert result.tool_calls[0].arguments == {"path": "a.txt", "content": body, "mode": 420}
    assert not any(e.kind == "call_delta" for e in result.trace)


def test_no_half_name_and_no_number_that_may_go_on() -> None:
    text = '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris", "days": 12, "unit": "celsius"}'
    previews, _ = stream(text, list(range(len(text))))
    for e in previews:
        assert e.detail["name"] == "get_weather"
        assert e.detail["arguments"].get("days", 12) == 12


def test_bare_json_is_not_previewed() -> None:
    previews, result = stream('{"name": "Alice", "arguments": {"age": 30}, "x": 1}',
                              list(range(60)))
    assert previews == [] and result.tool_calls == []


def test_xml_values_preview_only_what_can_only_grow() -> None:
    text = ("<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
            "<parameter=days>\n12\n</parameter>\n</function>\n</tool_call>")
    tools = {"get_weather": {"type": "object", "properties": {"city": {"type": "string"},
                                                              "days": {"type": "integer"}}}}
    previews, result = stream(text, list(range(len(text))), tools=tools)
    assert previews
    assert result.tool_calls[0].arguments == {"city": "Paris", "days": 12}
    for e in previews:
        assert e.detail["arguments"].get("days", 12) == 12
