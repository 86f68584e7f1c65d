"""Compare any models: every model the configured providers offer, to pick 2-6 of for the
next prompt (a throwaway ensemble with the current judge), to save as a named ensemble, or
to download onto an Ollama server when the registry names a model the server lacks.

The list comes from the providers' last health check (Ollama's tags, an OpenAI-compatible
server's /v1/models, the embedded model), with size, quantisation, whether the model is in
memory (◆) and whether its provider answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, ProgressBar, SelectionList
from textual.widgets.selection_list import Selection

from loco_tui.safe_text import neutralise_line

if TYPE_CHECKING:
    from loco_tui.controller import Controller
    from loco_tui.providers.base import Health, ModelInfo
    from loco_tui.registry.schema import Registry

MIN_PICK = 2
MAX_PICK = 6


@dataclass(frozen=True)
class Offered:
    """One model a provider offers (or one the registry names that its server lacks)."""

    provider: str
    model: str
    info: ModelInfo | None
    installed: bool

    @property
    def key(self) -> str:
        return f"{self.provider}\x00{self.model}"


@dataclass(frozen=True)
class Picked:
    """What the picker was closed with: members (``{"provider", "model"}``) to compare, and
    a name to save them under (None: a throwaway comparison for the next prompt)."""

    members: tuple[dict[str, str], ...]
    save_as: str | None = None


def offered_models(registry: Registry, health: dict[str, Health]) -> list[Offered]:
    """Every model the providers list, then the registry's models their server lacks."""
    out: list[Offered] = []
    listed: set[tuple[str, str]] = set()
    for pid in registry.providers:
        h = health.get(pid)
        for info in (h.models if h is not None else []):
            out.append(Offered(pid, info.name, info, installed=True))
            listed.add((pid, info.name))
    for model in registry.models.values():
        h = health.get(model.provider)
        if h is not None and h.up and h.models and (model.provider, model.model) not in listed:
            out.append(Offered(model.provider, model.model, None, installed=False))
            listed.add((model.provider, model.model))
    return out


def describe(offer: Offered, health: dict[str, Health]) -> str:
    info = offer.info
    parts = [f"{offer.provider} · {offer.model}"]
    if info is not None:
        if info.parameter_size:
            parts.append(info.parameter_size)
        if info.quantization:
            parts.append(info.quantization)
        if info.loaded:
            vram = f"{info.vram_bytes / 2**30:.1f}G" if info.vram_bytes else "in memory"
            parts.append(f"◆ {vram}")
    if not offer.installed:
        parts.append("not installed (p pulls it)")
    h = health.get(offer.provider)
    if h is not None and not h.up:
        parts.append("provider down")
    return "  ".join(parts)


class ModelPicker(ModalScreen[Picked | None]):
    """Keys: Space picks or unpicks a model (2 to 6), Enter compares them on the next prompt,
    ``s`` saves them as a named ensemble, ``p`` pulls a model the server lacks (Ollama;
    Esc stops the download), Esc closes."""

    DEFAULT_CSS = """
    ModelPicker { align: center middle; }
    ModelPicker > Vertical {
        width: 96; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ModelPicker SelectionList { height: auto; max-height: 26; border: none; }
    ModelPicker Label { color: $text-muted; }
    ModelPicker #pull { height: 1; display: none; }
    ModelPicker #pull.-pulling { display: block; }
    ModelPicker #save-name { display: none; }
    ModelPicker #save-name.-asking { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="models.close"),
        Binding("enter", "compare", "Compare", id="models.compare", priority=True),
        Binding("s", "ask_name", "Save", id="models.save"),
        Binding("p", "pull", "Pull", id="models.pull"),
    ]

    def __init__(self, registry: Registry, health: dict[str, Health],
                 controller: Controller | None = None, *,
                 picked: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__()
        self.registry = registry
        self.health = health
        self.controller = controller
        self.offers = offered_models(registry, health)
        self._initial = {f"{p}\x00{m}" for p, m in picked}
        self._pulling: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Pick {MIN_PICK}-{MAX_PICK} models to compare on the next prompt "
                        "(Space picks, Enter compares, s saves, p pulls, Esc closes)")
            yield SelectionList[str](
                *[Selection(Content(neutralise_line(describe(o, self.health))), o.key,
                            o.key in self._initial) for o in self.offers],
                id="models",
            )
            with Horizontal(id="pull"):
                yield Label(Content(""), id="pull-what")
                yield ProgressBar(id="pull-bar", show_eta=False)
            yield Input(placeholder="a name for this ensemble, then Enter", id="save-name")
            yield Label(Content(""), id="models-note")

    def on_mount(self) -> None:
        if not self.offers:
            self._note("No provider has answered its health check yet: no models to list.")
        self.query_one("#models", SelectionList).focus()

    def _note(self, text: str) -> None:
        self.query_one("#models-note", Label).update(Content(neutralise_line(text)))

    def _chosen(self) -> list[Offered]:
        keys = set(self.query_one("#models", SelectionList).selected)
        return [o for o in self.offers if o.key in keys]

    def _members(self) -> tuple[dict[str, str], ...] | None:
        chosen = self._chosen()
        if not MIN_PICK <= len(chosen) <= MAX_PICK:
            self._note(f"Pick {MIN_PICK} to {MAX_PICK} models ({len(chosen)} picked).")
            return None
        missing = [o for o in chosen if not o.installed]
        if missing:
            self._note(f"{missing[0].model} is not installed: p pulls it first.")
            return None
        return tuple({"provider": o.provider, "model": o.model} for o in chosen)

    def action_compare(self) -> None:
        if self.query_one("#save-name", Input).has_class("-asking"):
            self._save()
            return
        members = self._members()
        if members is not None:
            self.dismiss(Picked(members))

    def action_ask_name(self) -> None:
        if self._members() is None:
            return
        name = self.query_one("#save-name", Input)
        name.add_class("-asking")
        name.focus()

    @on(Input.Submitted, "#save-name")
    def _save(self) -> None:
        members = self._members()
        name = self.query_one("#save-name", Input).value.strip()
        if members is None:
            return
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            self._note("A name is letters, digits, - and _ (it becomes a target).")
            return
        self.dismiss(Picked(members, save_as=name))

    def action_close(self) -> None:
        if self._pulling is not None:
            self.workers.cancel_group(self, "pull")
            return
        name = self.query_one("#save-name", Input)
        if name.has_class("-asking"):
            name.remove_class("-asking")
            self.query_one("#models", SelectionList).focus()
            return
        self.dismiss(None)

    def action_pull(self) -> None:
        options = self.query_one("#models", SelectionList)
        index = options.highlighted
        if index is None:
            return
        offer = self.offers[index]
        if offer.installed:
            self._note(f"{offer.model} is already on {offer.provider}.")
            return
        if self.controller is None or not self.controller.can_pull(offer.provider):
            self._note(f"{offer.provider} cannot download models (only Ollama servers can).")
            return
        self._pull(offer)

    @work(exclusive=True, group="pull", exit_on_error=False)
    async def _pull(self, offer: Offered) -> None:
        import asyncio

        from loco_tui.providers.base import ProviderError

        assert self.controller is not None
        row = self.query_one("#pull", Horizontal)
        bar = self.query_one("#pull-bar", ProgressBar)
        what = self.query_one("#pull-what", Label)
        self._pulling = offer.key
        row.add_class("-pulling")
        bar.update(total=100, progress=0)
        try:
            async for step in self.controller.pull(offer.provider, offer.model):
                what.update(Content(neutralise_line(f"{offer.model}: {step.status}  ")))
                if step.fraction is not None:
                    bar.update(progress=step.fraction * 100)
            self._note(f"{offer.model} is on {offer.provider} now: pick it.")
            self.offers = [Offered(o.provider, o.model, o.info, True) if o.key == offer.key
                           else o for o in self.offers]
        except ProviderError as exc:
            self._note(f"Could not pull {offer.model}: {exc.message}")
        except asyncio.CancelledError:
            self._note(f"Stopped pulling {offer.model}.")
            raise
        finally:
            self._pulling = None
            row.remove_class("-pulling")
