"""Messages widgets send the app (cross-widget messages live here, in one place)."""

from __future__ import annotations

from textual.message import Message
from textual.widget import Widget


class CopyRequested(Message):
    """A widget wants ``text`` on the clipboard (None: nothing to copy); the app copies it
    and says what and how much."""

    def __init__(self, text: str | None, what: str) -> None:
        super().__init__()
        self.text = text
        self.what = what


class ZoomRequested(Message):
    """A widget asks to be maximised (or restored when it already is)."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget
