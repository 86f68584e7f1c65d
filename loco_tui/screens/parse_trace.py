"""How the parser read each member's output: formats recognised, tool calls, repairs, and
the response's classification, member by member, for the last run."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from loco_tui.events import Parse

_STYLE = {"format": "cyan", "call": "bold green", "call_started": "green", "repair": "yellow",
          "rejected": "red", "retract": "red", "classification": "magenta", "think": "dim"}
_DETAIL_CHARS = 400


def render_trace(titles: dict[str, str], events: dict[str, list[Parse]]) -> Text:
    text = Text()
    if not events:
        text.append("No parse events yet: send a prompt first.", style="dim")
    for member, parsed in events.items():
        text.append(f"{member} · {titles.get(member, '')}\n", style="bold")
        for event in parsed:
            detail = dict(event.detail)
            offset = detail.pop("offset", None)
            where = f"@{offset} " if offset is not None else ""
            body = json.dumps(detail, ensure_ascii=False)
            if len(body) > _DETAIL_CHARS:
                body = body[: _DETAIL_CHARS - 1] + "…"
            text.append(f"  {event.kind:<15}", style=_STYLE.get(event.kind, ""))
            text.append(f"{where}{body}\n")
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
