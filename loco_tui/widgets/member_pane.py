"""A pane that shows one member's reply as it streams, with its model, persona and status."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from loco_tui.events import CallStats


class MemberPane(VerticalScroll):
    """One ensemble member (or the judge, or a routed role).

    The border title names the member, model and persona; the border subtitle carries the
    status (waiting, streaming, done with stats, failed with its category). Text arrives in
    batches from the app's drain timer, never per token, so the pane re-wraps its text at
    most once per frame.
    """

    DEFAULT_CSS = """
    MemberPane {
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    MemberPane.-streaming { border: round $accent; }
    MemberPane.-done { border: round $success; }
    MemberPane.-failed { border: round $error; border-subtitle-color: $error; }
    MemberPane.-winner { border: heavy $success; }
    MemberPane > .body { width: 1fr; }
    """

    def __init__(self, member: str, title: str, *, show_rates: bool = True, id: str | None = None):
        super().__init__(id=id)
        self.member = member
        self.show_rates = show_rates
        self._answer: list[str] = []
        self._thinking: list[str] = []
        self._markers: list[str] = []
        self._body = Static("", classes="body")
        self.border_title = title
        self.border_subtitle = "waiting"

    def compose(self) -> ComposeResult:
        yield self._body

    @property
    def text(self) -> str:
        return "".join(self._answer)

    def reset(self, title: str) -> None:
        """Back to an empty, waiting pane (a new run reuses the judge pane)."""
        self._answer.clear()
        self._thinking.clear()
        self._markers.clear()
        self.set_class(False, "-streaming", "-done", "-failed", "-winner")
        self.border_title = title
        self.border_subtitle = "waiting"
        self._render_body()

    def start(self, title: str, attempt: int = 1) -> None:
        if attempt > 1:
            # A fallback restarts the reply on the next model; keep what the failed one said
            # visible above a marker instead of silently replacing it.
            self._markers.append(f"{''.join(self._answer)}\n── fell back to {title} ──\n")
            self._answer.clear()
            self._thinking.clear()
        self.border_title = f"{self.member} · {title}"
        self.border_subtitle = "streaming…" if attempt == 1 else f"streaming… (attempt {attempt})"
        self.set_class(True, "-streaming")
        self.set_class(False, "-done", "-failed", "-winner")
        self._render_body()

    def append(self, answer: str, thinking: str = "") -> None:
        if answer:
            self._answer.append(answer)
        if thinking:
            self._thinking.append(thinking)
        follow = self.scroll_y >= self.max_scroll_y - 1
        self._render_body()
        if follow:
            self.scroll_end(animate=False, immediate=False)

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
        self._answer.append(f"\n[{category}] {message}")
        self._render_body()

    def mark_winner(self, note: str) -> None:
        self.set_class(True, "-winner")
        self.border_subtitle = f"★ {note} · {self.border_subtitle}"

    def _render_body(self) -> None:
        text = Text()
        for marker in self._markers:
            if marker:
                text.append(marker, style="dim")
        if self._thinking:
            text.append("".join(self._thinking) + "\n", style="dim italic")
        text.append("".join(self._answer))
        self._body.update(text)
