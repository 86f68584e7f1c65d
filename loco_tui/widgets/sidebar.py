"""The model-status sidebar: roles -> model chains, and whether each provider answers."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from loco_tui.safe_text import neutralise, neutralise_line

if TYPE_CHECKING:  # the sidebar is drawn before the provider stack is imported
    from loco_tui.engine_build import BuildStatus
    from loco_tui.providers.base import Health
    from loco_tui.registry.schema import Registry

# The embedded engine is being built: its models are coming, not down.
_BUILDING = ("◐", "yellow")


def _dot(up: bool | None) -> tuple[str, str]:
    if up is None:
        return "○", "dim"
    return ("●", "green") if up else ("●", "red")


class ModelSidebar(Static):
    """Roles with their fallback chains and provider reachability (● up, ● down, ○ unknown);
    a model the server does not list is marked not installed, one in memory ◆ with the
    memory it holds; a role switched live (Ctrl+R) is marked ⇄. Registry errors and warnings
    (credentials in clear text, switches that no longer apply) stay on top until resolved.
    While llama.cpp builds in the background (``engine_build``), embedded providers show
    the build as their state: ◐ building with its progress and log, or the failure with the
    log's last lines and how to retry. Every name shown may come from a file, a server or a
    build log: all of it is neutralised text."""

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
        # The embedded engine's build while it matters (building, failed, not installed);
        # None once the engine is ready. Set by the app's build watcher before ``show``.
        self.engine_build: BuildStatus | None = None

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
                building = model is not None and self._building(registry, model.provider, h)
                dot, style = _BUILDING if building else _dot(up)
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
        engine_shown = False
        for pid, cfg in registry.providers.items():
            h = health.get(pid)
            build = self._build_state(registry, pid, h)
            dot, style = _BUILDING if self._building(registry, pid, h) else _dot(_up(h))
            text.append(f" {dot} ", style=style)
            text.append(neutralise_line(pid), style="")
            text.append(f" {cfg.kind}", style="dim")
            if build is not None:
                text.append(f" {build.phase}", style=_PHASE_STYLES.get(build.phase, "red"))
            elif h is not None and h.up and h.latency_s is not None and self.show_latency:
                text.append(f" {h.latency_s * 1000:.0f}ms", style="dim")
            elif h is not None and not h.up:
                text.append(" down", style="red")
            text.append("\n")
            if build is not None and not engine_shown:
                # One build serves every embedded provider: its details are said once.
                engine_shown = True
                self._show_build(text, build)
        self.update(text)

    def _build_state(self, registry: Registry, provider: str,
                     health: Health | None) -> BuildStatus | None:
        """The engine build to show for ``provider``: only for an embedded provider that is
        not up (a build never hides a working engine)."""
        build = self.engine_build
        cfg = registry.providers.get(provider)
        if build is None or cfg is None or cfg.kind != "embedded":
            return None
        if health is not None and health.up:
            return None
        return build

    def _building(self, registry: Registry, provider: str, health: Health | None) -> bool:
        from loco_tui.engine_build import BuildPhase

        build = self._build_state(registry, provider, health)
        return build is not None and build.phase is BuildPhase.RUNNING

    def _show_build(self, text: Text, build: BuildStatus) -> None:
        from loco_tui.engine_build import BuildPhase

        log = _home_relative(str(build.log_path))
        if build.phase is BuildPhase.RUNNING:
            # The sidebar is 30 columns wide: short lines, the log's path on its own.
            text.append(f"   {build.summary or 'starting'}\n", style="yellow")
            text.append("   answers once it is built\n", style="dim")
            text.append(f"   log: {neutralise_line(log)}\n", style="dim")
        elif build.phase is BuildPhase.FAILED:
            if build.message:
                text.append(f"   {neutralise_line(build.message)}\n", style="red")
            for line in build.tail[-3:]:
                text.append(f"   │ {neutralise_line(line)[:200]}\n", style="dim red")
            text.append(f"   {build.retry_hint}\n", style="yellow")
            text.append(f"   log: {neutralise_line(log)}\n", style="dim")
        elif build.phase is BuildPhase.NOT_STARTED:
            text.append("   make run builds it, or pip install "
                        "'loco-tui[embedded]'\n", style="dim")


def _up(health: Health | None) -> bool | None:
    return None if health is None else health.up


_PHASE_STYLES = {"building": "yellow", "not installed": "red", "build failed": "bold red"}


def _home_relative(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + "/") else path
