"""The transcript: the session's earlier turns, compact, below the panes of the current turn.

Each turn shows the prompt, the answer a follow-up sees (rendered Markdown) and who wrote it
(a member, the judge's synthesis, a person's choice). A failed or cancelled turn shows its
prompt and that it is left out of the thread. Turns are only ever appended while a session
goes on; reopening a session writes them all once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content

from loco_tui.sessions import Turn
from loco_tui.widgets.messages import CopyRequested
from loco_tui.widgets.stream_view import StreamView


def source_note(turn: Turn, chosen_by_person: bool = False) -> str:
    if turn.answer is None:
        return "   (no answer: left out of the conversation)"
    who = turn.answer_from or "?"
    if who.endswith("judge"):
        return f"   — the judge's synthesis ({who})"
    return f"   — {who}" + (" (your pick)" if chosen_by_person else "")


class Transcript(StreamView):
    """Earlier turns of the session. ``c`` copies the whole transcript as Markdown."""

    DEFAULT_CSS = """
    Transcript {
        border: round $panel-lighten-2;
        border-title-color: $text;
        padding: 0 1;
        height: 1fr;
    }
    Transcript:focus { border: round $accent; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy_transcript", "Copy", id="transcript_copy"),
    ]

    can_focus = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.turns: list[Turn] = []
        self._chosen: set[str] = set()
        self.border_title = Content("Conversation")

    def show(self, turns: Iterable[Turn], chosen: Iterable[str] = ()) -> None:
        """Write these turns afresh (a reopened session, an answer a person changed)."""
        self.turns = list(turns)
        self._chosen = set(chosen)
        self.clear_text()
        for turn in self.turns:
            self._write(turn)
        self._title()

    def add(self, turn: Turn, *, chosen_by_person: bool = False) -> None:
        self.turns.append(turn)
        if chosen_by_person and turn.run_id:
            self._chosen.add(turn.run_id)
        self._write(turn)
        self._title()

    def _write(self, turn: Turn) -> None:
        self.write(f"› {turn.prompt}\n", "bold")
        if turn.answer is not None:
            self.write_markdown(turn.answer)
            self.end_stream()
        self.write("\n" + source_note(turn, turn.run_id in self._chosen) + "\n\n", "dim")

    def _title(self) -> None:
        n = len(self.turns)
        self.border_title = Content(f"Conversation · {n} earlier turn{'s' if n != 1 else ''}")

    def as_markdown(self) -> str:
        parts = []
        for turn in self.turns:
            parts.append(f"**You:** {turn.prompt}\n")
            if turn.answer is not None:
                parts.append(f"{turn.answer}\n\n_{source_note(turn).strip()}_\n")
        return "\n".join(parts)

    def action_copy_transcript(self) -> None:
        self.post_message(CopyRequested(self.as_markdown() or None, "the conversation"))
