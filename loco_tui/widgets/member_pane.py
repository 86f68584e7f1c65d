"""A pane that shows one member's reply as it streams, with its model, persona and status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content

from loco_tui.safe_text import neutralise, neutralise_line
from loco_tui.widgets.stream_view import StreamView

if TYPE_CHECKING:
    from loco_tui.events import CallStats


def stats_line(stats: CallStats, *, rates: bool, cut: bool = False) -> str:
    """A finished call's figures for a pane footer. Seconds and tokens/s cover the same
    interval (generation: first token to last), so one is the other's check."""
    parts = [f"✓ {stats.tokens_out} tok"]
    if rates and stats.gen_s is not None and stats.tokens_per_s:
        parts.append(f"{stats.gen_s:.1f}s gen @ {stats.tokens_per_s:.0f} t/s")
    if rates and stats.ttft_s is not None:
        parts.append(f"1st {stats.ttft_s:.1f}s")
    if cut:
        parts.append(f"cut at {stats.tokens_out} tok")
    return " · ".join(parts)


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
    MemberPane.-cut { border: round $warning; border-subtitle-color: $warning; }
    MemberPane.-winner { border: heavy $success; }
    """

    def __init__(self, member: str, title: str, *, show_rates: bool = True, id: str | None = None):
        super().__init__(id=id)
        self.member = member
        self.show_rates = show_rates
        self._answer: list[str] = []
        self._in_thinking = False
        self._started = False
        self.title = title
        self.status = "waiting"

    @property
    def title(self) -> str:
        return self._title

    @title.setter
    def title(self, value: str) -> None:
        # Model and persona names come from files and servers: plain text, never markup.
        self._title = neutralise_line(value)
        self.border_title = Content(self._title)

    @property
    def status(self) -> str:
        return self._status

    @status.setter
    def status(self, value: str) -> None:
        self._status = neutralise_line(value)
        self.border_subtitle = Content(self._status)

    @property
    def text(self) -> str:
        """The answer of the model now streaming (reasoning and markers excluded)."""
        return "".join(self._answer)

    def reset(self, title: str) -> None:
        """Back to an empty, waiting pane (a new run reuses the judge pane)."""
        self._answer.clear()
        self._in_thinking = False
        self.clear_text()
        self.set_class(False, "-streaming", "-done", "-failed", "-winner", "-cut")
        self._started = False
        self.title = title
        self.status = "waiting"

    def start(self, title: str, attempt: int = 1, prompt_tokens: int | None = None) -> None:
        if attempt > 1:
            # A fallback restarts the reply on the next model; what the failed one said stays
            # visible above a marker instead of being silently replaced.
            self.write(f"\n── fell back to {neutralise_line(title)} ──\n", "bold yellow")
            self._answer.clear()
            self._in_thinking = False
        self.title = f"{self.member} · {title}"
        self._started = False
        again = f" (attempt {attempt})" if attempt > 1 else ""
        # Until the first token the model is reading its prompt: say how much, so a long
        # wait (a judge reading three proposals) does not look like a hang.
        reading = (f"reading ~{prompt_tokens:,} tokens…" if prompt_tokens
                   else "waiting for 1st token…")
        self.status = reading + again
        self.set_class(True, "-streaming")
        self.set_class(False, "-done", "-failed", "-winner", "-cut")

    def append(self, answer: str, thinking: str = "") -> None:
        if not self._started and (answer or thinking):
            self._started = True
            self.status = "streaming…"
        if thinking:
            self._in_thinking = True
            self.write(neutralise(thinking), "dim italic")
        if answer:
            if self._in_thinking:
                self._in_thinking = False
                self.write("\n")
            self._answer.append(answer)
            self.write(neutralise(answer))

    def finish(self, stats: CallStats, finish_reason: str | None = None) -> None:
        cut = finish_reason == "length"
        self.set_class(False, "-streaming")
        self.set_class(True, "-cut" if cut else "-done")
        self.status = stats_line(stats, rates=self.show_rates, cut=cut)

    def fail(self, category: str, message: str) -> None:
        self.set_class(False, "-streaming")
        self.set_class(True, "-failed")
        self.status = f"failed · {category}"
        self.write(f"\n[{category}] {neutralise(message)}", "red")

    def mark_winner(self, note: str) -> None:
        self.set_class(True, "-winner")
        self.status = f"★ {note} · {self.status}"
