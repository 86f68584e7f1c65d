"""Switch which model a role uses first, from the keyboard.

A modal list of every role's chain. Choosing ``role → model`` moves that model to the front
of the role's chain (the rest stay behind it as fallbacks); a switched role also offers
"reset" (back to the registry's own chain). The app saves switches to the overrides file in
the data dir, never into the user's registry.
"""

from __future__ import annotations

from collections.abc import Collection

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from loco_tui.registry.schema import Registry
from loco_tui.safe_text import neutralise_line

RESET = "\x00reset"


def promoted(chain: list[str], model_id: str) -> list[str]:
    """``chain`` with ``model_id`` moved to the front."""
    return [model_id, *(m for m in chain if m != model_id)]


class RoleSwitcher(ModalScreen[tuple[str, str | None] | None]):
    """Dismisses with (role, model id) to put first, (role, None) to reset a switched role
    to the registry's chain, or None."""

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

    def __init__(self, registry: Registry, switched: Collection[str] = ()) -> None:
        super().__init__()
        self.registry = registry
        self.switched = switched

    def compose(self) -> ComposeResult:
        options: list[Option | None] = []
        for role, chain in self.registry.roles.items():
            if role in self.switched:
                label = f"↺ reset {role} to the registry's chain"
                options.append(Option(Content(neutralise_line(label)), id=f"{role}{RESET}"))
            for model_id in self.registry.models:
                model = self.registry.models[model_id]
                current = chain and chain[0] == model_id
                mark = "● " if current else "  "
                label = f"{mark}{role} → {model_id}  ({model.size}, {model.provider})"
                options.append(Option(Content(neutralise_line(label)),
                                      id=f"{role}\x00{model_id}", disabled=bool(current)))
            options.append(None)
        with Vertical():
            yield Label("Use which model first for a role? (Enter picks, Esc closes)")
            yield OptionList(*options[:-1] if options else [])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or "\x00"
        if option_id.endswith(RESET):
            self.dismiss((option_id[: -len(RESET)], None))
            return
        role, model_id = option_id.split("\x00", 1)
        self.dismiss((role, model_id))
