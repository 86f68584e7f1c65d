"""A pane that shows one member's reply as it streams, with its model, persona and status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loco_tui.widgets.stream_view import StreamView

if TYPE_CHECKING:
    from loco_tui.events import CallStats


class MemberPane(StreamView):
    """One ensemble member (or the judge, or a routed role).

    The border title names the member, model and persona; the border subtitle carries the
    status (waiting, streaming, done with stats, failed with its category). Everything shown
    is appended, never redrawn: reasoning in dim italics, a marker when a fallback restarts
    the reply on the next model, the failure in red. Text arrives in batches from the app's
    drain timer, never per token.
    """

    DEFAULT_CSS = """
    MemberPane {
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        height: 1fr;
    }
    MemberPane.-streaming { border: round $accent; }
    MemberPane.-done { border: round $success; }
    MemberPane.-failed { border: round $error; border-subtitle-color: $error; }
    MemberPane.-winner { border: heavy $success; }
    """

    def __init__(self, member: str, title: str, *, show_rates: bool = True, id: str | None = None):
        super().__init__(id=id)
        self.member = member
        self.show_rates = show_rates
        self._answer: list[str] = []
        self._in_thinking = False
        self.border_title = title
        self.border_subtitle = "waiting"

    @property
    def text(self) -> str:
        """The answer of the model now streaming (reasoning and markers excluded)."""
        return "".join(self._answer)

    def reset(self, title: str) -> None:
        """Back to an empty, waiting pane (a new run reuses the judge pane)."""
        self._answer.clear()
        self._in_thinking = False
        self.clear_text()
        self.set_class(False, "-streaming", "-done", "-failed", "-winner")
        self.border_title = title
        self.border_subtitle = "waiting"

    def start(self, title: str, attempt: int = 1) -> None:
        if attempt > 1:
            # A fallback restarts the reply on the next model; what the failed one said stays
            # visible above a marker instead of being silently replaced.
            self.write(f"\n── fell back to {title} ──\n", "bold yellow")
            self._answer.clear()
            self._in_thinking = False
        self.border_title = f"{self.member} · {title}"
        self.border_subtitle = "streaming…" if attempt == 1 else f"streaming… (attempt {attempt})"
        self.set_class(True, "-streaming")
        self.set_class(False, "-done", "-failed", "-winner")

    def append(self, answer: str, thinking: str = "") -> None:
        if thinking:
            self._in_thinking = True
            self.write(thinking, "dim italic")
        if answer:
            if self._in_thinking:
                self._in_thinking = False
                self.write("\n")
            self._answer.append(answer)
            self.write(answer)

    def finish(self, stats: CallStats) -> None:
        self.set_class(False, "-streaming")
        self.set_class(True, "-done")
        parts = [f"✓ {stats.tokens_out} tok"]
        if self.show_rates:
            if stats.tokens_per_s:
                parts.append(f"{stats.tokens_per_s:.1f} t/s")
            parts.append(f"{stats.duration_s:.1f}s")
        self.border_subtitle = " · ".join(parts)

    def fail(self, category: str, message: str) -> None:
        self.set_class(False, "-streaming")
        self.set_class(True, "-failed")
        self.border_subtitle = f"failed · {category}"
        self.write(f"\n[{category}] {message}", "red")

    def mark_winner(self, note: str) -> None:
        self.set_class(True, "-winner")
        self.border_subtitle = f"★ {note} · {self.border_subtitle}"
