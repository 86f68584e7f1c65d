"""Choose what the next prompt runs on: an ensemble, auto-routing, a role or a workflow.

A modal list with a filter box: type to narrow the list (every word typed must appear),
Up/Down move, Enter picks, Esc closes. With a dozen targets this beats cycling blindly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from loco_tui.safe_text import neutralise_line


class TargetLike(Protocol):
    @property
    def label(self) -> str: ...


T = TypeVar("T", bound=TargetLike)


class TargetPicker(ModalScreen[T | None], Generic[T]):
    """Dismisses with the chosen target, or None. Keys: type to filter, Up/Down, Enter,
    Esc."""

    DEFAULT_CSS = """
    TargetPicker { align: center middle; }
    TargetPicker > Vertical {
        width: 64; height: auto; max-height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    TargetPicker OptionList { height: auto; max-height: 24; border: none; }
    TargetPicker Label { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="close_target_picker"),
        Binding("down", "move(1)", "Next", show=False, id="target_next"),
        Binding("up", "move(-1)", "Previous", show=False, id="target_previous"),
    ]

    def __init__(self, targets: Sequence[T], current: T | None = None) -> None:
        super().__init__()
        self.targets = list(targets)
        self.current = current
        self._shown: list[T] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Run the next prompt on… (type to filter, Enter picks, Esc closes)")
            yield Input(placeholder="filter", id="target-filter")
            yield OptionList(id="target-list")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#target-filter", Input).focus()

    def _fill(self, query: str) -> None:
        words = query.lower().split()
        self._shown = [t for t in self.targets if all(w in t.label.lower() for w in words)]
        options = self.query_one("#target-list", OptionList)
        options.clear_options()
        for target in self._shown:
            mark = "● " if target == self.current else "  "
            options.add_option(Option(Content(neutralise_line(mark + target.label))))
        if self._shown:
            index = self._shown.index(self.current) if self.current in self._shown else 0
            options.highlighted = index

    @on(Input.Changed, "#target-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#target-filter")
    def _submit(self) -> None:
        options = self.query_one("#target-list", OptionList)
        if options.highlighted is not None and self._shown:
            self.dismiss(self._shown[options.highlighted])

    @on(OptionList.OptionSelected, "#target-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._shown[event.option_index])

    def action_move(self, step: int) -> None:
        options = self.query_one("#target-list", OptionList)
        if not self._shown:
            return
        current = options.highlighted if options.highlighted is not None else -step
        options.highlighted = max(0, min(len(self._shown) - 1, current + step))
