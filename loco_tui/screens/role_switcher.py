"""Switch which model a role uses first, from the keyboard.

A modal list of every role's chain. Choosing ``role → model`` moves that model to the front
of the role's chain (the rest stay behind it as fallbacks). The app saves the switch to the
overrides file in the data dir, never into the user's registry.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from loco_tui.registry.schema import Registry


def promoted(chain: list[str], model_id: str) -> list[str]:
    """``chain`` with ``model_id`` moved to the front."""
    return [model_id, *(m for m in chain if m != model_id)]


class RoleSwitcher(ModalScreen[tuple[str, str] | None]):
    """Dismisses with (role, model id) to put first, or None."""

    DEFAULT_CSS = """
    RoleSwitcher { align: center middle; }
    RoleSwitcher > Vertical {
        width: 70; height: auto; max-height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    RoleSwitcher OptionList { height: auto; max-height: 30; border: none; }
    RoleSwitcher Label { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="close_role_switcher")]

    def __init__(self, registry: Registry) -> None:
        super().__init__()
        self.registry = registry

    def compose(self) -> ComposeResult:
        options: list[Option | None] = []
        for role, chain in self.registry.roles.items():
            for model_id in self.registry.models:
                model = self.registry.models[model_id]
                current = chain and chain[0] == model_id
                mark = "● " if current else "  "
                label = f"{mark}{role} → {model_id}  ({model.size}, {model.provider})"
                options.append(Option(label, id=f"{role}\x00{model_id}", disabled=bool(current)))
            options.append(None)
        with Vertical():
            yield Label("Use which model first for a role? (Enter picks, Esc closes)")
            yield OptionList(*options[:-1] if options else [])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        role, model_id = (event.option.id or "\x00").split("\x00", 1)
        self.dismiss((role, model_id))
