"""A pane that shows one member's reply as it streams, with its model, persona and status."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message

from loco_tui.safe_text import neutralise_line
from loco_tui.widgets.messages import CopyRequested, ZoomRequested
from loco_tui.widgets.stream_view import StreamView

if TYPE_CHECKING:
    from loco_tui.events import CallStats

# How often the live figures in a streaming pane's border are redrawn.
LIVE_EVERY_S = 0.5


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
    status: what the model is reading before its first token, live tokens/s and time to
    first token while streaming, the figures when done (or "cut" when the token limit
    stopped it), the failure's category, and the judge's or the person's pick. The answer
    renders as Markdown while it streams; reasoning is dimmed and collapsible; a fallback
    keeps what the failed model said above a marker. Text arrives in batches from the app's
    drain timer, never per token.

    Keys (when the pane has focus): ``c`` copy the answer (Markdown source), ``C`` copy its
    last code block, ``v`` copy the verdict's reason (judge pane), ``z`` or Enter zoom,
    ``r`` raw text (what the parser saw), ``t`` fold reasoning, End follow the stream.
    """

    DEFAULT_CSS = """
    MemberPane {
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        height: 1fr;
        min-height: 3;
    }
    MemberPane:focus { border: round $accent; border-title-style: bold; }
    /* While text streams in, no scrollbar is redrawn every frame (~15% of the CPU, measured);
       its column stays reserved, so nothing re-wraps when it comes back. */
    MemberPane.-streaming { border: round $primary; scrollbar-visibility: hidden; }
    MemberPane.-done { border: round $success; }
    MemberPane.-failed { border: round $error; border-subtitle-color: $error; }
    MemberPane.-cut { border: round $warning; border-subtitle-color: $warning; }
    MemberPane.-winner { border: heavy $success; }
    MemberPane.-chosen { border: double $accent; }
    MemberPane:focus.-winner, MemberPane:focus.-chosen { border-title-color: $accent; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy_answer", "Copy", id="pane_copy"),
        Binding("C", "copy_code", "Copy code", id="pane_copy_code"),
        Binding("v", "copy_reason", "Copy reason", id="pane_copy_reason", show=False),
        Binding("z,enter", "zoom", "Zoom", id="pane_zoom"),
        Binding("r", "toggle_raw", "Raw", id="pane_raw"),
        Binding("t", "toggle_thinking", "Fold thinking", id="pane_thinking", show=False),
        Binding("i", "app.parse_trace", "Inspect", id="pane_inspect"),
    ]

    can_focus = True

    class Scrolled(Message):
        """The pane scrolled to content line ``line`` (sent while ``report_scrolling``:
        the app scrolls the other panes along)."""

        def __init__(self, pane: MemberPane, line: int) -> None:
            super().__init__()
            self.pane = pane
            self.line = line

    def __init__(self, member: str, title: str, *, show_rates: bool = True,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.member = member
        self.show_rates = show_rates
        self._answer: list[str] = []
        self._started_at: float | None = None
        self._first_at: float | None = None
        self._pieces = 0
        self._shown_live_at = 0.0
        self._base_status = "waiting"
        self.reason: str | None = None  # the verdict's reason (judge pane)
        self.report_scrolling = False
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
        self.clear_text()
        self.set_class(False, "-streaming", "-done", "-failed", "-winner", "-cut", "-chosen")
        self._started_at = self._first_at = None
        self._pieces = 0
        self.reason = None
        self.title = title
        self.status = "waiting"

    def start(self, title: str, attempt: int = 1, prompt_tokens: int | None = None) -> None:
        if attempt > 1:
            # A fallback restarts the reply on the next model; what the failed one said stays
            # visible above a marker instead of being silently replaced.
            self.end_stream()
            self.write(f"\n── fell back to {title} ──\n", "bold yellow")
            self._answer.clear()
        self.title = f"{self.member} · {title}"
        self._started_at = time.monotonic()
        self._first_at = None
        self._pieces = 0
        again = f" (attempt {attempt})" if attempt > 1 else ""
        # Until the first token the model is reading its prompt: say how much, so a long
        # wait (a judge reading three proposals) does not look like a hang.
        reading = (f"reading ~{prompt_tokens:,} tokens" if prompt_tokens
                   else "waiting for the 1st token")
        self._base_status = reading + again
        self.status = self._base_status + "…"
        self.set_class(True, "-streaming")
        self.set_class(False, "-done", "-failed", "-winner", "-cut", "-chosen")

    def queued(self, ahead: int, running: int, limit: int) -> None:
        """The member waits for a free slot of its provider (``max_parallel``)."""
        self.set_class(True, "-streaming")
        self.status = (f"queued, {ahead} ahead ({running} of {limit} running)" if ahead
                       else f"queued, next ({running} of {limit} running)")

    def append(self, answer: str, thinking: str = "", pieces: int = 0) -> None:
        if (answer or thinking) and self._first_at is None:
            self._first_at = time.monotonic()
        self._pieces += pieces
        # The document neutralises what it renders (StreamView), so text goes in as it came.
        if thinking:
            self.write_thinking(thinking)
        if answer:
            self._answer.append(answer)
            self.write_markdown(answer)

    def tick(self, now: float) -> None:
        """Redraw the live figures (tokens so far, tokens/s, time to first token)."""
        if self._started_at is None or not self.has_class("-streaming"):
            return
        if now - self._shown_live_at < LIVE_EVERY_S:
            return
        self._shown_live_at = now
        if self._first_at is None:
            self.status = f"{self._base_status}… {now - self._started_at:.0f}s"
            return
        parts = [f"streaming · {self._pieces} tok"]
        if self.show_rates:
            span = now - self._first_at
            if span > 0.2 and self._pieces > 1:
                parts.append(f"{self._pieces / span:.0f} t/s")
            parts.append(f"1st {self._first_at - self._started_at:.1f}s")
        self.status = " · ".join(parts)

    def done(self, stats: CallStats, finish_reason: str | None = None) -> None:
        """The call finished: render the last block whole and show its figures."""
        self.end_stream()
        cut = finish_reason == "length"
        self.set_class(False, "-streaming")
        self.set_class(True, "-cut" if cut else "-done")
        self.status = stats_line(stats, rates=self.show_rates, cut=cut)

    def fail(self, category: str, message: str) -> None:
        self.end_stream()
        self.set_class(False, "-streaming")
        self.set_class(True, "-failed")
        self.status = f"failed · {category}"
        self.write(f"\n[{category}] {message}", "red")

    def mark_winner(self, note: str) -> None:
        self.set_class(True, "-winner")
        self.status = f"★ {note} · {self.status}"

    def mark_chosen(self, chosen: bool) -> None:
        """A person chose this pane's answer to continue with (over the judge's pick)."""
        self.set_class(chosen, "-chosen")
        base = self.status.removeprefix("☆ your pick · ")
        self.status = f"☆ your pick · {base}" if chosen else base

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.report_scrolling:
            self.post_message(self.Scrolled(self, int(new_value)))

    # -- keys --------------------------------------------------------------------------------
    def action_copy_answer(self) -> None:
        self.post_message(CopyRequested(self.answer_source or None, f"{self.member}'s answer"))

    def action_copy_code(self) -> None:
        self.post_message(CopyRequested(self.last_code_block, f"{self.member}'s last code block"))

    def action_copy_reason(self) -> None:
        self.post_message(CopyRequested(self.reason, "the verdict's reason"))

    def action_zoom(self) -> None:
        self.post_message(ZoomRequested(self))

    def action_toggle_raw(self) -> None:
        raw = self.toggle_raw()
        self.notify("raw text (what the parser saw)" if raw else "rendered Markdown",
                    title=neutralise_line(self.member), timeout=2, markup=False)

    def action_toggle_thinking(self) -> None:
        self.toggle_think()
