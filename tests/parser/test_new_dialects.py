"""The dialects added for issue 17: each read right, under any split, and previewed safely."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loco_tui.parser import ResponseKind, StreamParser, parse_response

from .cases import NEW_DIALECT_CASES, new_dialect_texts

CASES = [pytest.param(t, c, o, id=i)
         for cases in NEW_DIALECT_CASES.values() for i, t, c, o in cases]


@pytest.mark.parametrize(("text", "expected", "opts"), CASES)
def test_reads_the_calls(text: str, expected: list[tuple[str, dict[str, Any]]],
                         opts: dict[str, Any]) -> None:
    result = parse_response(text, opts.get("known"), tools=opts.get("tools"))
    assert [(c.name, c.arguments) for c in result.tool_calls] == expected
    if expected:
        assert result.kind is ResponseKind.TOOL_CALL
        if "format" in opts:
            assert {c.format for c in result.tool_calls} == {opts["format"]}
    else:
        assert result.kind is not ResponseKind.TOOL_CALL
    if "text" in opts:
        assert result.text == opts["text"]


def test_every_dialect_has_five_cases_with_a_negative() -> None:
    for dialect, cases in NEW_DIALECT_CASES.items():
        assert len(cases) >= 5, dialect
        assert any(not calls for _i, _t, calls, _o in cases), dialect
        assert any(len(calls) >= 2 for _i, _t, calls, _o in cases), dialect


def _split(text: str, cuts: list[int], known: list[str] | None,
           tools: dict[str, Any] | None, previews: bool) -> tuple[dict[str, Any], list[Any]]:
    p = StreamParser(known, tools=tools, previews=previews)
    events = []
    prev = 0
    for c in [*sorted(set(cuts)), len(text)]:
        events += p.feed(text[prev:c])
        prev = c
    return p.finish().to_dict(), events


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.parametrize(("text", "known", "tools"),
                         [pytest.param(t, k, s, id=i) for i, t, k, s in new_dialect_texts()])
@given(data=st.data())
def test_random_splits_equal_whole(text: str, known: list[str] | None,
                                   tools: dict[str, Any] | None, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=len(text)))
    whole = parse_response(text, known, tools=tools).to_dict()
    result, _events = _split(text, cuts, known, tools, previews=False)
    assert result == whole
    # Previews change nothing in the result: the trace holds no call_delta.
    with_previews, _events = _split(text, cuts, known, tools, previews=True)
    assert with_previews == whole
    assert all(e["kind"] != "call_delta" for e in with_previews["trace"])
