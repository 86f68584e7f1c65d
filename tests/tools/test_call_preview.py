"""The call preview: a call forming from ``call_delta`` events, replaced by the final call,
then its schema check; hostile names and values shown as text; an SVG snapshot."""

from __future__ import annotations

from textual.pilot import Pilot

from loco_tui.describe import describe_check
from loco_tui.widgets.call_preview import CallPreview
from tests.tools.hosts import PreviewHost, parse_events


def shown(preview: CallPreview) -> str:
    return preview.visual.plain if preview.has_class("-shown") else ""


async def test_a_call_forms_then_is_final_then_checked() -> None:
    app = PreviewHost()
    async with app.run_test(size=(70, 20)) as pilot:
        preview = app.preview
        assert not preview.has_class("-shown") and preview.display is False
        preview.apply("call_delta", {"index": 0, "name": "get_weather",
                                     "arguments": {"city": "Pa"}, "format": "hermes"})
        await pilot.pause()
        assert preview.display is True
        assert shown(preview) == '⚙ get_weather · hermes · forming…\n  {\n    "city": "Pa"\n  }'
        assert preview.apply("call", {"index": 0, "name": "get_weather", "format": "hermes",
                                      "arguments": {"city": "Paris", "unit": "kelvin"}})
        # A preview arriving after the final call never replaces it.
        preview.apply("call_delta", {"index": 0, "name": "get_weather",
                                     "arguments": {"city": "P"}})
        assert "final" in shown(preview) and '"unit": "kelvin"' in shown(preview)
        preview.apply("schema_check", {"index": 0, "name": "get_weather", "native": False,
                                       "ok": False, "problems": [
                                           {"kind": "not_in_enum", "path": "arguments.unit",
                                            "message": "arguments.unit is 'kelvin', expected "
                                                       "one of 'celsius', 'fahrenheit'"}]})
        await pilot.pause()
        text = shown(preview)
        assert text.startswith("⚙ get_weather · hermes · ✗ 1 problem\n")
        assert text.endswith("  ✗ arguments.unit is 'kelvin', expected one of 'celsius', "
                             "'fahrenheit'")
        assert not preview.apply("format", {"format": "hermes"})


async def test_every_event_of_a_streamed_reply_in_order() -> None:
    app = PreviewHost()
    async with app.run_test(size=(70, 30)) as pilot:
        for event in parse_events():
            app.preview.apply(event.kind, event.detail)
        await pilot.pause()
        calls = app.preview.calls
        assert [(c.name, c.final, c.checked, c.problems) for c in calls] == [
            ("get_weather", True, True, []),
            ("read_file", True, True, ["arguments.path is integer, expected string"]),
        ]
        # Calls read before a lone </think> were reasoning after all: they go.
        app.preview.apply("call", {"index": 0, "name": "f", "arguments": {}, "native": True,
                                   "format": "native"})
        app.preview.apply("retract", {"reason": "calls were inside reasoning", "count": 2})
        assert [(c.name, c.native) for c in app.preview.calls] == [("f", True)]
        app.preview.reset()
        await pilot.pause()
        assert app.preview.calls == [] and app.preview.display is False


async def test_names_and_values_from_a_model_are_plain_text() -> None:
    app = PreviewHost()
    async with app.run_test(size=(70, 20)) as pilot:
        app.preview.show_call(0, "[bold]x[/bold]\x1b]52;c;Zm9v\x07", {"k": "\x1b[2J[red]v"},
                              final=True, problems=["bad \x9b1m"])
        await pilot.pause()
        text = shown(app.preview)
        assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
        assert "[bold]x[/bold]␛]52;c;Zm9v␇" in text
        # The JSON escapes the control character itself; the markup stays literal.
        assert '"k": "\\u001b[2J[red]v"' in text
        assert "✗ bad \\x9b1m" in text


def test_describe_check_for_the_trace() -> None:
    assert describe_check({"name": "f", "ok": True, "problems": []}) == "✓ f fits its schema"
    assert describe_check({"name": "f", "ok": False, "problems": [
        {"message": "arguments.a is required but missing"}, {"message": "x"}]}) == (
        "✗ f: arguments.a is required but missing (+1 more)")
    assert describe_check({"ok": False}) == "✗ ? failed its schema check"


def test_snapshot_preview_of_two_checked_calls(snap_compare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, PreviewHost)
        for event in parse_events():
            app.preview.apply(event.kind, event.detail)
        await pilot.pause()

    assert snap_compare(PreviewHost(), terminal_size=(70, 18), run_before=run_before)
