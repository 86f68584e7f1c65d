"""Tiny apps hosting the parse-trace inspector and the call preview, for Pilot tests and SVG
snapshots, fed with the events the real parser and checker produce for a fixed reply."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Label

from loco_tui.events import Parse
from loco_tui.orchestrator.tools import OfferedTool, ToolSet
from loco_tui.parser import StreamParser
from loco_tui.screens.inspector import InspectorScreen
from loco_tui.widgets.call_preview import CallPreview

WEATHER = {"type": "object", "required": ["city"], "properties": {
    "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}}
READ = {"type": "object", "required": ["path"], "properties": {"path": {"type": "string"}}}
TOOLS = ToolSet((OfferedTool("get_weather", "Weather now", WEATHER),
                 OfferedTool("read_file", "Read a file", READ)))

# A reply with reasoning, two calls (one repaired, one that fails its schema check), a
# candidate that is rejected, and a control sequence that must be shown, never executed.
REPLY = (
    "<think>The user wants weather and a file.</think>I will check both.\n"
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius",}}\n'
    "</tool_call>\n"
    "Then \x1b[31mthe notes\x1b[0m:\n"
    '<tool_call>\n{"name": "read_file", "arguments": {"path": 42}}\n</tool_call>\n'
    "And one day:\n[launch_rocket(target='moon')]"
)


def parse_events(text: str = REPLY, tools: ToolSet = TOOLS, member: str = "m1",
                 chunk: int = 5) -> list[Parse]:
    """The parse events a member emits for ``text`` (streamed in ``chunk``-sized pieces):
    the parser's trace and previews, then one schema check per call."""
    parser = StreamParser(tools=tools.schemas(), previews=True)
    raw = []
    for i in range(0, len(text), chunk):
        raw += parser.feed(text[i:i + chunk])
    traced = len([e for e in raw if e.kind != "call_delta"])
    result = parser.finish()
    raw += result.trace[traced:]
    out = []
    for event in raw:
        detail: dict[str, Any] = dict(event.detail)
        if event.offset is not None:
            detail.setdefault("offset", event.offset)
        out.append(Parse(run_id="r", member=member, kind=event.kind, detail=detail))
    for check in tools.check([], result.tool_calls):
        out.append(Parse(run_id="r", member=member, kind="schema_check",
                         detail=check.detail()))
    return out


class InspectorHost(App[None]):
    """A label standing for the workbench, with the inspector pushed on top."""

    def __init__(self, text: str = REPLY, events: list[Parse] | None = None) -> None:
        super().__init__()
        self.text = text
        self.events = parse_events(text) if events is None else events

    def compose(self) -> ComposeResult:
        yield Label("Workbench panes go here.")

    def on_mount(self) -> None:
        self.push_screen(InspectorScreen("m1", "qwen3:8b · skeptic", self.text, self.events))


class PreviewHost(App[None]):
    """One call preview under a label, fed by ``feed``."""

    CSS = "Label { height: 3; }"

    def compose(self) -> ComposeResult:
        yield Label("The reply streams here.")
        yield CallPreview(id="calls")

    @property
    def preview(self) -> CallPreview:
        return self.query_one(CallPreview)
