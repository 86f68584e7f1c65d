"""Tools in the workbench as it is wired today: a run of an ensemble offered tools reaches the
panes, and Ctrl+O's trace folds the call previews and says how each call fared."""

from __future__ import annotations

from textual.widgets import Static

from loco_tui.events import Parse
from loco_tui.testing.script import Reply
from tests.common import ENSEMBLE, SIZE, ask, booted, make_app, trio_script
from tests.tools.hosts import InspectorHost
from tests.tools.support import TOOLS

BODY = TOOLS + ENSEMBLE.replace('judge = "judge"\n', 'judge = "judge"\ntools = ["get_weather"]\n')
LONG_CITY = "Llanfairpwllgwyngyll" * 4
BAD_CALL = ('<tool_call>{"name": "get_weather", "arguments": {"city": "' + LONG_CITY
            + '", "unit": "kelvin"}}</tool_call>')


async def test_a_run_with_tools_shows_each_members_checks_in_the_parse_trace(ollama_server):
    script = trio_script(
        alpha=Reply.text("(described)", with_tools=Reply(pieces=(), tool_calls=[
            {"name": "get_weather", "arguments": {"city": "Paris"}}])),
        beta=Reply(pieces=tuple(BAD_CALL[i:i + 3] for i in range(0, len(BAD_CALL), 3)),
                   piece_delay_s=0.002),
    )
    script.no_tools.add("beta:3b")
    server = ollama_server(script)
    app = make_app(server.url, BODY)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "weather in Paris?")
        parsed = app._parsed  # what the app hands the parse-trace screens
        assert [e.kind for e in parsed["m1"] if e.kind == "schema_check"] == ["schema_check"]
        assert any(e.kind == "call_delta" for e in parsed["m2"])
        await pilot.press("ctrl+o")
        await pilot.pause()
        shown = str(app.screen.query_one("#parse-trace", Static).render())
        assert "✓ get_weather fits its schema" in shown
        assert "✗ get_weather: arguments.unit is 'kelvin', expected one of 'celsius', " \
               "'fahrenheit'" in shown
        assert "preview(s) of calls while they streamed" in shown
        assert "call_delta" not in shown
        await pilot.press("escape")
        await pilot.pause()
        # What the inspector would be given for the focused pane: its raw text and events.
        pane = app._panes["m2"]
        events: list[Parse] = list(parsed["m2"])
    host = InspectorHost(pane.text, events)
    async with host.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        screen = host.screen
        [call] = screen.located
        assert pane.text[call.span[0]:call.span[1]].startswith('{"name": "get_weather"')
        assert call.problems == ["arguments.unit is 'kelvin', expected one of 'celsius', "
                                 "'fahrenheit'"]
