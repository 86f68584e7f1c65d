"""The routing trace pane: one plain line per decision of a run (see ``trace_lines`` for what
each event says), wrapped to the pane's width and re-wrapped when it changes (a line is never
cut at the edge, and nothing scrolls sideways)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content

from loco_tui.safe_text import neutralise_line
from loco_tui.widgets.stream_view import StreamView

if TYPE_CHECKING:  # the trace is drawn before the event vocabulary is imported
    from loco_tui.events import Event

# Lines kept for ``text`` (tests, copying): a long session must not grow without bound.
_KEPT_LINES = 5000


class RoutingTrace(StreamView):
    """The trace pane: ``show`` an event, ``note`` a line of untrusted text."""

    DEFAULT_CSS = """
    RoutingTrace {
        border: round $panel-lighten-2;
        border-title-color: $text;
        padding: 0 1;
        height: 1fr;
    }
    RoutingTrace:focus { border: round $accent; }
    """

    can_focus = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = Content("Routing trace")
        self._entries: list[str] = []

    def note(self, text: str, style: str = "") -> None:
        """Add a line of untrusted text."""
        line = neutralise_line(text)
        self._entries.append(line)
        if len(self._entries) > _KEPT_LINES:
            del self._entries[: len(self._entries) - _KEPT_LINES]
        self.write(line + "\n", style)

    def show(self, event: Event, *, blind: bool = False) -> None:
        """Add the event's line; ``blind`` keeps model names out until the person votes."""
        from loco_tui.widgets.trace_lines import trace_line

        line = trace_line(event, blind=blind)
        if line is not None:
            self.note(line.plain, str(line.style))

    def clear(self) -> None:
        self._entries.clear()
        self.clear_text()

    @property
    def text(self) -> str:
        """The trace's lines as written (unwrapped), for tests and copying."""
        return "\n".join(self._entries)
