"""The parse-trace inspector: the raw reply with the parser's spans highlighted (offsets intact
through neutralisation), the calls as a tree with repairs and schema checks, n/p between calls,
Esc to close; and an SVG snapshot of it."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Static, Tree

from loco_tui.screens.inspector import (
    STYLES,
    InspectorScreen,
    Span,
    highlighted,
    read_trace,
)
from tests.tools.hosts import REPLY, InspectorHost, parse_events

SIZE = (120, 30)


def styled(content, style: str) -> list[str]:
    """The pieces of ``content``'s text drawn with ``style`` (among others)."""
    return [content.plain[s.start:s.end] for s in content.spans if style in str(s.style)]


def test_the_trace_is_read_into_calls_spans_and_groups() -> None:
    trace = read_trace(REPLY, parse_events())
    weather, read = trace.calls
    assert (weather.name, weather.format, weather.repaired) == (
        "get_weather", "hermes", ["trailing_comma"])
    assert weather.checked and weather.problems == []
    assert read.problems == ["arguments.path is integer, expected string"]
    assert REPLY[weather.span[0]:weather.span[1]].startswith('{"name": "get_weather"')
    kinds = sorted({s.kind for s in trace.spans})
    assert kinds == ["call", "call_bad", "marker", "rejected", "think"]
    for span in trace.spans:
        if span.kind == "marker":
            assert REPLY[span.start:span.end] == "<tool_call>"
        if span.kind == "think":
            assert REPLY[span.start:span.end] == "<think>The user wants weather and a file.</think>"
        if span.kind == "rejected":
            assert REPLY[span.start:span.end] == "[launch_rocket(target='moon')]"
    assert trace.classification == "tool_call (2 tool call(s))"
    assert trace.rejected == ["pythonic launch_rocket @281 unknown tool"]
    # Previews are not the trace: the final calls replace them.
    assert all("call_delta" not in line for line in trace.other)


def test_highlighting_neutralises_each_piece_so_offsets_still_fit() -> None:
    text = "a\x1b[31mb<x>c"
    content = highlighted(text, [Span(1, 7, "rejected"), Span(7, 10, "marker")])
    assert "\x1b" not in content.plain and "␛[31mb" in content.plain
    assert styled(content, STYLES["marker"]) == ["<x>"]
    assert styled(content, STYLES["rejected"]) == ["␛[31mb"]
    # The current call is drawn over everything else.
    current = highlighted(text, [Span(7, 10, "marker")], current=(7, 11))
    assert styled(current, STYLES["current"]) == ["<x>", "c"]


async def test_inspector_highlights_spans_and_n_p_move_between_calls() -> None:
    app = InspectorHost()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InspectorScreen)
        raw = screen.query_one("#inspector-text", Static)
        content = raw.visual
        calls = [REPLY[c.span[0]:c.span[1]] for c in screen.located]
        assert styled(content, STYLES["call"]) == [calls[0]]
        assert styled(content, STYLES["call_bad"]) == [calls[1]]
        assert styled(content, STYLES["marker"]) == ["<tool_call>", "<tool_call>"]
        assert styled(content, STYLES["current"]) == []
        assert "\x1b" not in content.plain and "␛[31m" in content.plain
        tree = screen.query_one(Tree)

        await pilot.press("n")
        await pilot.pause()
        assert screen.current == 0
        assert "".join(styled(raw.visual, STYLES["current"])) == calls[0]
        assert str(tree.cursor_node.label).startswith("#0 get_weather · hermes · ✓ fits")

        await pilot.press("n")
        await pilot.pause()
        assert screen.current == 1
        assert "".join(styled(raw.visual, STYLES["current"])) == calls[1]
        assert str(tree.cursor_node.label) == "#1 read_file · hermes · ✗ 1 problem"
        problems = [str(n.label) for n in tree.cursor_node.children]
        assert "✗ arguments.path is integer, expected string" in problems

        await pilot.press("n")  # wraps around to the first call
        await pilot.pause()
        assert screen.current == 0
        await pilot.press("p")
        await pilot.pause()
        assert screen.current == 1

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InspectorScreen)


async def test_choosing_a_call_in_the_tree_highlights_it() -> None:
    app = InspectorHost()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InspectorScreen)
        tree = screen.query_one(Tree)
        tree.move_cursor(screen._call_nodes[1])
        await pilot.pause()
        assert screen.current == 1


async def test_a_reply_with_only_native_calls_and_no_text() -> None:
    events = parse_events("", member="m2")
    from loco_tui.events import Parse

    events += [
        Parse(run_id="r", member="m2", kind="call", detail={
            "format": "native", "name": "get_weather", "arguments": {"city": "Oslo"},
            "index": 0, "native": True}),
        Parse(run_id="r", member="m2", kind="schema_check", detail={
            "index": 0, "name": "get_weather", "format": "native", "native": True,
            "offset": None, "ok": True, "problems": []}),
    ]
    app = InspectorHost("", events)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InspectorScreen)
        assert "no text" in screen.query_one("#inspector-text", Static).visual.plain
        labels = [str(n.label) for n in screen.query_one(Tree).root.children[1].children]
        assert labels == ["#0 get_weather · native · ✓ fits"]
        await pilot.press("n")  # nothing to move to: said, not raised
        await pilot.pause()
        assert screen.current is None


def test_snapshot_inspector_on_the_second_call(snap_compare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.press("n", "n")
        await pilot.pause()

    assert snap_compare(InspectorHost(), terminal_size=SIZE, run_before=run_before)
