"""The routing trace pane: a log of one plain line per decision of a run (see
``trace_lines`` for what each event says)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import RichLog

from loco_tui.safe_text import neutralise_line

if TYPE_CHECKING:  # the trace is drawn before the event vocabulary is imported
    from loco_tui.events import Event


class RoutingTrace(RichLog):
    """The trace pane: ``show`` an event, ``note`` a line of untrusted text."""

    DEFAULT_CSS = """
    RoutingTrace {
        height: 8;
        border: round $panel-lighten-2;
        border-title-color: $text;
        padding: 0 1;
        overflow-y: auto;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False, wrap=True, max_lines=2000)
        self.border_title = "Routing trace"

    def note(self, text: str, style: str = "") -> None:
        """Add a line of untrusted text."""
        self.write(Text(neutralise_line(text), style=style))

    def show(self, event: Event) -> None:
        from loco_tui.widgets.trace_lines import trace_line

        line = trace_line(event)
        if line is not None:
            self.write(line)

    @property
    def text(self) -> str:
        """Everything in the trace, as plain text (for tests and copying)."""
        return "\n".join(line.text for line in self.lines)
