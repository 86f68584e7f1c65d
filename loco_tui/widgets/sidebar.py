"""The model-status sidebar: roles -> model chains, and whether each provider answers."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from loco_tui.safe_text import neutralise, neutralise_line

if TYPE_CHECKING:  # the sidebar is drawn before the provider stack is imported
    from loco_tui.providers.base import Health
    from loco_tui.registry.schema import Registry


def _dot(up: bool | None) -> tuple[str, str]:
    if up is None:
        return "○", "dim"
    return ("●", "green") if up else ("●", "red")


class ModelSidebar(Static):
    """Roles with their fallback chains and provider reachability (● up, ● down, ○ unknown);
    a model the server does not list is marked not installed, one in memory ◆ with the
    memory it holds; a role switched live (Ctrl+R) is marked ⇄. Registry errors and warnings
    (credentials in clear text, switches that no longer apply) stay on top until resolved.
    Every name shown may come from a file or a server: all of it is neutralised text."""

    WIDTH = 34

    DEFAULT_CSS = """
    ModelSidebar {
        width: 34;
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, *, show_latency: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.show_latency = show_latency
        self.border_title = "Models"

    def show(
        self,
        registry: Registry,
        health: dict[str, Health],
        target: str,
        error: str | None = None,
        *,
        switched: Collection[str] = (),
        warnings: Sequence[str] = (),
        blind: bool = False,
    ) -> None:
        text = Text()
        if error:
            # Stays until a good reload: a toast alone is gone before the user looks.
            text.append("Registry error (last good kept)\n", style="bold red")
            text.append(f"{neutralise(error)}\n\n", style="red")
        for warning in warnings:
            text.append(f"⚠ {neutralise(warning)}\n", style="yellow")
        if warnings:
            text.append("\n")
        text.append("Target ", style="bold")
        text.append(f"{neutralise_line(target)}\n", style="bold cyan")
        if blind:
            # The roles below would tell which model is in which pane.
            text.append("\nBlind comparison: model names stay hidden until you vote "
                        "(1-9 best pane, = tie, 0 all bad).\n", style="magenta")
            self.update(text)
            return
        text.append("\nRoles\n", style="bold")
        for role, chain in registry.roles.items():
            text.append(f" {neutralise_line(role)}", style="")
            if role in switched:
                text.append(" ⇄ switched", style="magenta")
            text.append("\n")
            for model_id in chain:
                model = registry.models.get(model_id)
                h = None if model is None else health.get(model.provider)
                info = None
                up = _up(h)
                if h is not None and h.up and h.models and model is not None:
                    # The server lists what it has: a model it lacks is not callable.
                    info = next((m for m in h.models if m.name == model.model), None)
                    up = info is not None
                dot, style = _dot(up)
                text.append(f"   {dot} ", style=style)
                text.append(neutralise_line(model_id), style="")
                if model is not None:
                    text.append(f" {model.size}", style="dim")
                if h is not None and h.up and h.models and info is None:
                    text.append(" not installed", style="red")
                elif info is not None and info.loaded:
                    vram = f"{info.vram_bytes / 2**30:.1f}G" if info.vram_bytes else "loaded"
                    text.append(f" ◆{vram}", style="green")
                text.append("\n")
        text.append("\nProviders\n", style="bold")
        for pid, cfg in registry.providers.items():
            h = health.get(pid)
            dot, style = _dot(_up(h))
            text.append(f" {dot} ", style=style)
            text.append(neutralise_line(pid), style="")
            text.append(f" {cfg.kind}", style="dim")
            if h is not None and h.up and h.latency_s is not None and self.show_latency:
                text.append(f" {h.latency_s * 1000:.0f}ms", style="dim")
            elif h is not None and not h.up:
                text.append(" down", style="red")
            text.append("\n")
        self.update(text)


def _up(health: Health | None) -> bool | None:
    return None if health is None else health.up
