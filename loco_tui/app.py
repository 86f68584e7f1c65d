"""The Loco workbench: a prompt bar, live member panes, a judge pane, a routing trace and a
model sidebar. It renders events and sends commands to the controller; it never calls a
provider itself."""

from __future__ import annotations

import gc
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Input, RichLog

from loco_tui.registry import LoadedRegistry
from loco_tui.registry.schema import Registry
from loco_tui.widgets.member_pane import MemberPane
from loco_tui.widgets.sidebar import ModelSidebar

if TYPE_CHECKING:
    from loco_tui.controller import Controller
    from loco_tui.events import Event, Verdict
    from loco_tui.orchestrator import RunRequest

# Repainting panes per token cannot keep up with 4 panes x 500 tok/s; 30 Hz batches can.
FRAME_S = 1 / 30


@dataclass(frozen=True)
class UiSettings:
    """What tests and demos switch off to keep the screen deterministic."""

    show_rates: bool = True  # tokens/s, durations and latencies
    watch_config: bool = True
    health_interval_s: float = 15.0
    seed: int | None = None  # fixes the judge's label shuffle (tests, reproducible demos)


@dataclass(frozen=True)
class Target:
    kind: str  # "ensemble" | "role" | "auto" | "workflow"
    name: str | None = None

    @property
    def label(self) -> str:
        return "auto-route" if self.kind == "auto" else f"{self.kind} {self.name}"

    def request(self, prompt: str) -> RunRequest:
        from loco_tui.orchestrator import RunRequest

        return RunRequest(
            prompt,
            role=self.name if self.kind == "role" else None,
            ensemble=self.name if self.kind == "ensemble" else None,
            workflow=self.name if self.kind == "workflow" else None,
        )


def targets_of(registry: Registry) -> list[Target]:
    """Ensembles first (the workbench's reason to exist), then routing, roles, workflows."""
    return (
        [Target("ensemble", e) for e in registry.ensembles]
        + [Target("auto")]
        + [Target("role", r) for r in registry.roles]
        + [Target("workflow", w) for w in registry.workflows]
    )


class LocoApp(App[None]):
    """Keys: Enter sends the prompt, Esc cancels the run, Ctrl+T changes the target,
    Ctrl+R switches the model a role uses first, Ctrl+O shows how the parser read each
    reply, Ctrl+L clears the panes, Ctrl+Q quits
    (q too when the prompt is not focused)."""

    CSS_PATH = "loco.tcss"
    TITLE = "Loco"
    BINDINGS = [
        Binding("escape", "cancel_run", "Cancel run", id="cancel_run", priority=True),
        Binding("ctrl+t", "next_target", "Target", id="next_target", priority=True),
        # Enter sends; Ctrl+Enter too where the terminal reports it (ctrl+j in most).
        Binding("ctrl+enter,ctrl+j", "send", "Send", id="send", show=False, priority=True),
        Binding("ctrl+r", "switch_role", "Roles", id="switch_role"),
        Binding("ctrl+o", "parse_trace", "Parse trace", id="parse_trace"),
        Binding("ctrl+l", "clear", "Clear", id="clear"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+q", "quit", "Quit", id="quit_ctrl", show=False, priority=True),
    ]

    def __init__(
        self,
        loaded: LoadedRegistry,
        *,
        settings: UiSettings | None = None,
        controller: Controller | None = None,
    ) -> None:
        super().__init__()
        self.loaded = loaded
        self.settings = settings or UiSettings()
        # Built after the first frame unless given: the orchestration stack (events, parser,
        # providers) costs ~0.18 s of imports that the first frame does not need.
        self.controller: Controller | None = controller
        self._inbox: deque[Event] = deque()
        self.registry_error: str | None = None
        # The last run's parser events per member, for the parse-trace screen.
        self._parsed: dict[str, list] = {}
        self._titles: dict[str, str] = {}
        self._panes: dict[str, MemberPane] = {}
        self._targets = targets_of(loaded.registry)
        self._target = self._targets[0] if self._targets else Target("auto")
        self.sub_title = loaded.source

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            yield ModelSidebar(show_latency=self.settings.show_rates, id="sidebar")
            with Vertical(id="main"):
                yield Horizontal(id="members")
                yield MemberPane("judge", "judge", show_rates=self.settings.show_rates,
                                 id="judge")
                yield RichLog(id="trace", markup=False, wrap=True, max_lines=2000)
                yield Input(placeholder="Ask the models…  (Enter sends, Esc cancels)",
                            id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#trace", RichLog).border_title = "Routing trace"
        self._show_idle()
        self._refresh_sidebar()
        self.query_one("#prompt", Input).focus()
        self.call_after_refresh(self._boot)

    def _boot(self) -> None:
        """Start the controller and background work once the first frame is on screen."""
        if self.controller is None:
            from loco_tui.controller import Controller

            self.controller = Controller(self.loaded.registry)
        # Everything alive now lives for the session; freezing it keeps full collections
        # (50-125 ms pauses while streaming, measured) off that heap.
        gc.freeze()
        self.controller.subscribe(self._inbox.append)
        self.set_interval(FRAME_S, self._drain)
        self._health_loop()
        if self.loaded.path is not None and self.settings.watch_config:
            self._watch_registry(self.loaded.path)

    @property
    def registry(self) -> Registry:
        return self.controller.registry if self.controller else self.loaded.registry

    @property
    def running(self) -> bool:
        return bool(self.controller and self.controller.active_runs)

    async def on_unmount(self) -> None:
        if self.controller is not None:
            await self.controller.aclose()

    # -- commands --------------------------------------------------------------------------
    @on(Input.Submitted, "#prompt")
    def _send(self, event: Input.Submitted) -> None:
        prompt = event.value.strip()
        if not prompt:
            return
        if self.controller is None:
            self.notify("Still starting up: try again in a moment.", severity="warning")
            return
        if self.running:
            self.notify("A run is in progress: Esc cancels it.", severity="warning")
            return
        from loco_tui.orchestrator import RunError

        request = self._target.request(prompt)
        try:
            self.controller.validate(request)
        except RunError as exc:
            self.notify(str(exc), severity="error")
            return
        event.input.value = ""
        self._reset_panes()
        self._parsed.clear()
        self._titles.clear()
        self._trace(Text.assemble(("› ", "bold"), (prompt, "")))
        self.controller.start(request, seed=self.settings.seed)

    def action_send(self) -> None:
        prompt = self.query_one("#prompt", Input)
        prompt.post_message(Input.Submitted(prompt, prompt.value))

    async def action_cancel_run(self) -> None:
        if not self.running or self.controller is None:
            return
        await self.controller.cancel()
        self._drain()

    def action_next_target(self) -> None:
        if not self._targets:
            return
        i = self._targets.index(self._target) if self._target in self._targets else -1
        self._target = self._targets[(i + 1) % len(self._targets)]
        self._show_idle()
        self._refresh_sidebar()

    def action_switch_role(self) -> None:
        from loco_tui.screens.role_switcher import RoleSwitcher

        self.push_screen(RoleSwitcher(self.registry), self._switched)

    async def _switched(self, choice: tuple[str, str] | None) -> None:
        if choice is None or self.controller is None:
            return
        from loco_tui.registry import apply_overrides, data_dir, save_role_override
        from loco_tui.screens.role_switcher import promoted

        role, model_id = choice
        chain = promoted(self.registry.roles[role], model_id)
        # Saved per registry file in the data dir; the user's registry is never rewritten.
        save_role_override(data_dir(), role, chain, config=self.loaded.path)
        await self.controller.set_registry(apply_overrides(self.registry, {role: chain}))
        self._refresh_sidebar()
        self._trace(Text(f"⇄ role {role} now uses {' → '.join(chain)}", style="cyan"))

    def action_parse_trace(self) -> None:
        from loco_tui.screens.parse_trace import ParseTraceScreen

        self.push_screen(ParseTraceScreen(dict(self._titles), {
            member: list(events) for member, events in self._parsed.items()}))

    def action_clear(self) -> None:
        if not self.running:
            self._show_idle()
            self.query_one("#trace", RichLog).clear()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":
            return True if self.running else None
        return True

    # -- rendering events ------------------------------------------------------------------
    def _drain(self) -> None:
        """Apply queued events; consecutive deltas of a member become one append."""
        if not self._inbox:
            return
        pending: dict[str, tuple[list[str], list[str]]] = {}
        while self._inbox:
            event = self._inbox.popleft()
            if event.type == "delta":
                answer, thinking = pending.setdefault(event.member, ([], []))
                (thinking if event.channel == "thinking" else answer).append(event.text)
                continue
            self._flush(pending)
            self._apply(event)
        self._flush(pending)

    def _flush(self, pending: dict[str, tuple[list[str], list[str]]]) -> None:
        for member, (answer, thinking) in pending.items():
            pane = self._panes.get(member)
            if pane is not None:
                pane.append("".join(answer), "".join(thinking))
        pending.clear()

    def _apply(self, event: Event) -> None:
        kind = event.type
        if kind == "member_started":
            title = event.model + (f" · {event.persona}" if event.persona else "")
            self._titles[event.member] = title
            self._pane(event.member).start(title, event.attempt)
        elif kind == "member_finished":
            self._pane(event.member).finish(event.stats)
        elif kind == "member_failed":
            self._pane(event.member).fail(event.category, event.message)
            self._trace(Text(f"✗ {event.member} ({event.model}) {event.category}: "
                             f"{event.message}", style="red"))
        elif kind == "route":
            who = f"{event.member}: " if event.member and event.member != event.role else ""
            self._trace(Text(f"» {who}{event.role or '-'} → {event.model}  ({event.reason})",
                             style="yellow" if event.category else "cyan"))
        elif kind == "judge_started":
            labels = ", ".join(f"{label}={member}" for label, member in event.labels.items())
            self._trace(Text(f"⚖ judge {event.model} sees {labels}", style="magenta"))
        elif kind == "verdict":
            self._show_verdict(event)
        elif kind == "parse":
            self._parsed.setdefault(event.member, []).append(event)
            if event.kind in ("format", "call", "repair"):
                self._trace(Text(f"  {event.member} parse {event.kind}: {_brief(event.detail)}",
                                 style="dim"))
        elif kind == "run_started":
            self._trace(Text(f"run · {event.mode} {event.target}", style="dim"))
        elif kind == "phase_started":
            self._trace(Text(f"▶ phase {event.phase} ({event.phase_type})", style="bold"))
        elif kind == "phase_finished":
            self._trace(Text(f"■ phase {event.phase}: {event.status}", style="bold"))
        elif kind == "run_finished":
            style = {"ok": "green", "partial": "yellow"}.get(event.status, "red")
            tail = f": {event.message}" if event.message else ""
            self._trace(Text(f"run {event.status}{tail}", style=f"bold {style}"))
            self.refresh_bindings()
            if event.status == "failed":
                self.notify(f"Run failed{tail}", severity="error")

    def _show_verdict(self, event: Verdict) -> None:
        if event.mode == "pick" and event.winner:
            pane = self._panes.get(event.winner)
            if pane is not None:
                pane.mark_winner(event.label or "winner")
            headline = f"picked {event.winner}" + (f" ({event.label})" if event.label else "")
        else:
            headline = "synthesized an answer"
        judge = self.query_one("#judge", MemberPane)
        judge.display = True
        judge.border_subtitle = f"{headline} · confidence {event.confidence:.2f}"
        self._trace(Text(f"★ verdict: {headline}, confidence {event.confidence:.2f} "
                         f"[{event.parsed_by}] {event.reason}", style="bold green"))

    def _pane(self, member: str) -> MemberPane:
        pane = self._panes.get(member)
        if pane is None:
            if member.endswith("judge"):
                pane = self.query_one("#judge", MemberPane)
                pane.display = True
            else:
                pane = MemberPane(member, member, show_rates=self.settings.show_rates)
                self.query_one("#members").mount(pane)
            self._panes[member] = pane
        return pane

    def _trace(self, line: Text) -> None:
        self.query_one("#trace", RichLog).write(line)

    # -- idle state ------------------------------------------------------------------------
    def _reset_panes(self) -> None:
        for pane in self.query_one("#members").query(MemberPane):
            pane.remove()
        self._panes.clear()
        judge = self.query_one("#judge", MemberPane)
        judge.reset("judge")
        judge.display = self._target.kind in ("ensemble", "workflow")

    def _show_idle(self) -> None:
        """Placeholder panes for what the current target will run."""
        self._reset_panes()
        reg = self.registry
        members = self.query_one("#members")
        if self._target.kind == "ensemble" and self._target.name in reg.ensembles:
            for i, m in enumerate(reg.ensembles[self._target.name].members, start=1):
                title = (m.model or f"role {m.role}") + (f" · {m.persona}" if m.persona else "")
                members.mount(MemberPane(f"m{i}", f"m{i} · {title}",
                                         show_rates=self.settings.show_rates))
        else:
            members.mount(MemberPane("-", self._target.label, show_rates=self.settings.show_rates))

    def _refresh_sidebar(self) -> None:
        self.query_one(ModelSidebar).show(
            self.registry,
            dict(self.controller.pool.health) if self.controller else {},
            self._target.label,
            self.registry_error,
        )

    # -- background work -------------------------------------------------------------------
    @work(exclusive=True, group="health", exit_on_error=False)
    async def _health_loop(self) -> None:
        import asyncio

        assert self.controller is not None
        while True:
            await self.controller.check_health()
            self._refresh_sidebar()
            await asyncio.sleep(self.settings.health_interval_s)

    @work(exclusive=True, group="registry-watcher", exit_on_error=False)
    async def _watch_registry(self, path: Path) -> None:
        from loco_tui.registry import RegistryError, watch_registry

        assert self.controller is not None
        async for result in watch_registry(path):
            if isinstance(result, RegistryError):
                self.registry_error = str(result)
                self._refresh_sidebar()
                self.notify(f"{result}\nKeeping the last good registry.",
                            title="Registry error", severity="error", timeout=10)
                continue
            self.registry_error = None
            result = _with_overrides(result, path)
            await self.controller.set_registry(result)
            self._targets = targets_of(result)
            if self._target not in self._targets:
                self._target = self._targets[0] if self._targets else Target("auto")
            if not self.running:
                self._show_idle()
            self._refresh_sidebar()
            self.notify(f"Reloaded {path.name}", title="Registry")


def _with_overrides(registry: Registry, path: Path) -> Registry:
    """A reloaded registry keeps the live role switches made for its file."""
    from loco_tui.registry import data_dir, load_overrides, resolve_overrides

    resolved, _applied, _dropped = resolve_overrides(registry, load_overrides(data_dir(), path))
    return resolved


def _brief(detail: dict) -> str:
    parts = [f"{k}={v}" for k, v in detail.items() if k != "offset"]
    text = ", ".join(parts)
    return text if len(text) <= 100 else text[:97] + "…"
