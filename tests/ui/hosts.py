"""Tiny standalone apps that host the prompt editor and the history screen, for Pilot tests,
SVG snapshots, and (``python -m tests.ui.hosts editor OUT``) a real terminal.

Run on a pseudo-terminal, the editor host writes each submitted prompt to OUT and exits, so
a test can type into a real Textual app (Ctrl+E suspends it for a real ``$EDITOR``) and read
what would have been sent.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Label

from loco_tui.prompt_history import PromptHistory
from loco_tui.screens.history import HistoryScreen
from loco_tui.store import Store
from loco_tui.widgets.prompt_editor import PromptEditor

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel


class EditorHost(App[None]):
    """A label above, the prompt editor at the bottom (as in the workbench), and a
    plain-letter app binding (``q`` quits) that must never fire while typing."""

    CSS = "#above { height: 1fr; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit", show=False)]

    def __init__(self, history: PromptHistory | None = None, *, out: Path | None = None,
                 text: str = "", clear_on_submit: bool = True) -> None:
        super().__init__()
        self.clear_on_submit = clear_on_submit
        self.history = history
        self.out = out
        self.text = text
        self.submitted: list[str] = []
        self.notes: list[str] = []

    def compose(self) -> ComposeResult:
        yield Label("Workbench panes go here.", id="above")
        yield PromptEditor(self.text, history=self.history, id="prompt",
                           clear_on_submit=self.clear_on_submit)
        yield Footer()

    def on_mount(self) -> None:
        editor = self.query_one(PromptEditor)
        editor.cursor_blink = False  # snapshots see the cursor, always
        editor.focus()

    @property
    def editor(self) -> PromptEditor:
        return self.query_one(PromptEditor)

    def on_prompt_editor_submitted(self, message: PromptEditor.Submitted) -> None:
        self.submitted.append(message.text)
        if self.out is not None:
            self.out.write_text(message.text, encoding="utf-8")
            self.exit()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        self.notes.append(message)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)


class HistoryHost(App[None]):
    """Opens the store at ``path`` in its own event loop (as snapshots need) and pushes the
    history screen; ``results`` collects what the screen was dismissed with."""

    def __init__(self, path: Path, *, now: float, page_size: int = 100,
                 debounce_s: float = 0.15, busy_timeout_s: float = 2.0) -> None:
        super().__init__()
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self.now = now
        self.page_size = page_size
        self.debounce_s = debounce_s
        self.store: Store | None = None
        self.results: list[str | None] = []

    async def on_mount(self) -> None:
        self.store = await Store.open(self.path, busy_timeout_s=self.busy_timeout_s)
        screen = HistoryScreen(self.store, now=lambda: self.now, page_size=self.page_size,
                               debounce_s=self.debounce_s)
        await self.push_screen(screen, self.results.append)
        screen.query_one("#history-search", Input).cursor_blink = False

    async def on_unmount(self) -> None:
        if self.store is not None:
            await self.store.aclose()


if __name__ == "__main__":
    kind, out = sys.argv[1], Path(sys.argv[2])
    if kind != "editor":
        raise SystemExit(f"unknown host {kind!r}")
    EditorHost(PromptHistory(None), out=out, text=sys.argv[3] if len(sys.argv) > 3 else "").run()
