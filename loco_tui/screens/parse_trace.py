"""How the parser read each member's output: formats recognised, tool calls, repairs, schema
checks and the response's classification, member by member, for the last run.

This is the overview of every member at once. One pane's trace, in place (its raw text with
the recognised spans highlighted, its calls as a tree, n/p between calls), is
``loco_tui.screens.inspector.InspectorScreen``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from loco_tui.describe import describe_check
from loco_tui.safe_text import neutralise_line

if TYPE_CHECKING:
    from loco_tui.events import Parse

_STYLE = {"format": "cyan", "call": "bold green", "call_started": "green", "repair": "yellow",
          "rejected": "red", "retract": "red", "classification": "magenta", "think": "dim",
          "tools_offered": "blue"}
_DETAIL_CHARS = 400


def render_trace(titles: dict[str, str], events: dict[str, list[Parse]]) -> Text:
    text = Text()
    if not events:
        text.append("No parse events yet: send a prompt first.", style="dim")
    for member, parsed in events.items():
        text.append(neutralise_line(f"{member} · {titles.get(member, '')}") + "\n",
                    style="bold")
        previews = 0
        for event in parsed:
            if event.kind == "call_delta":
                previews += 1  # the calls they previewed follow, final
                continue
            detail = dict(event.detail)
            offset = detail.pop("offset", None)
            where = f"@{offset} " if offset is not None else ""
            if event.kind == "schema_check":
                ok = bool(detail.get("ok"))
                text.append(f"  {'schema_check':<15}", style="green" if ok else "bold red")
                text.append(neutralise_line(describe_check(detail)) + "\n")
                continue
            body = json.dumps(detail, ensure_ascii=False)
            if len(body) > _DETAIL_CHARS:
                body = body[: _DETAIL_CHARS - 1] + "…"
            text.append(f"  {event.kind:<15}", style=_STYLE.get(event.kind, ""))
            # JSON escapes C0 controls, not C1 ones or bidi overrides: neutralised too.
            text.append(neutralise_line(f"{where}{body}") + "\n")
        if previews:
            text.append(f"  ({previews} preview(s) of calls while they streamed)\n", "dim")
        text.append("\n")
    return text


class ParseTraceScreen(ModalScreen[None]):
    """The parse trace of the last run. Esc closes."""

    DEFAULT_CSS = """
    ParseTraceScreen { align: center middle; }
    ParseTraceScreen > VerticalScroll {
        width: 90%; height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="close_parse_trace")]

    def __init__(self, titles: dict[str, str], events: dict[str, list[Parse]]) -> None:
        super().__init__()
        self.titles = titles
        self.events = events

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Parse trace (Esc closes)"
            yield Static(render_trace(self.titles, self.events), id="parse-trace")
