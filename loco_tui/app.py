"""The Loco workbench: a prompt bar, live member panes, a judge pane, a routing trace and a
model sidebar. It renders events and sends commands to the controller; it never calls a
provider itself.

Everything shown that came from a model, a server or a file is plain, neutralised text:
panes, titles, the trace, the sidebar and notifications never parse it as markup and never
pass a control sequence to the terminal.
"""

from __future__ import annotations

import gc
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Input

from loco_tui.registry import LoadedRegistry
from loco_tui.registry.schema import Registry
from loco_tui.safe_text import neutralise, neutralise_line
from loco_tui.widgets.member_pane import MemberPane
from loco_tui.widgets.routing_trace import RoutingTrace
from loco_tui.widgets.sidebar import ModelSidebar

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from loco_tui.controller import Controller
    from loco_tui.events import Event, Parse, Verdict
    from loco_tui.orchestrator import RunRequest

# Repainting panes per token cannot keep up with 4 panes x 500 tok/s; 30 Hz batches can.
FRAME_S = 1 / 30

TargetKind = Literal["ensemble", "role", "auto", "workflow"]


@dataclass(frozen=True)
class UiSettings:
    """What tests and demos switch off to keep the screen deterministic."""

    show_rates: bool = True  # tokens/s, durations and latencies
    watch_config: bool = True
    health_interval_s: float = 15.0
    seed: int | None = None  # fixes the judge's label shuffle (tests, reproducible demos)


@dataclass(frozen=True)
class Target:
    kind: TargetKind
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
        self._parsed: dict[str, list[Parse]] = {}
        self._titles: dict[str, str] = {}
        self._panes: dict[str, MemberPane] = {}
        self._targets = targets_of(loaded.registry)
        self._target = self._targets[0] if self._targets else Target("auto")
        # Roles switched live (Ctrl+R) for this registry, and why some switches were dropped.
        self._switched_roles: set[str] = set(loaded.overrides_applied)
        self._warnings: list[str] = list(loaded.warnings)
        self.sub_title = neutralise_line(loaded.source)

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            yield ModelSidebar(show_latency=self.settings.show_rates, id="sidebar")
            with Vertical(id="main"):
                yield Horizontal(id="members")
                yield MemberPane("judge", "judge", show_rates=self.settings.show_rates,
                                 id="judge")
                yield RoutingTrace(id="trace")
                yield Input(placeholder="Ask the models…  (Enter sends, Esc cancels)",
                            id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        self._show_idle()
        self._refresh_sidebar()
        self.query_one("#prompt", Input).focus()
        for warning in self._warnings:
            self.trace.note(f"⚠ {warning}", "yellow")
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
        self._credential_warnings()
        self._health_loop()
        if self.loaded.path is not None and self.settings.watch_config:
            self._watch_registry(self.loaded.path)

    def _credential_warnings(self) -> None:
        from loco_tui.inventory import credential_warnings

        for warning in credential_warnings(self.registry):
            if warning not in self._warnings:
                self._warnings.append(warning)
                self.trace.note(f"⚠ {warning}", "yellow")
        self._refresh_sidebar()

    @property
    def registry(self) -> Registry:
        return self.controller.registry if self.controller else self.loaded.registry

    @property
    def running(self) -> bool:
        return bool(self.controller and self.controller.active_runs)

    @property
    def trace(self) -> RoutingTrace:
        return self.query_one("#trace", RoutingTrace)

    def say(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
            timeout: float | None = None) -> None:
        """A notification of untrusted text (registry errors, server messages): shown as
        typed, never parsed as markup (``[@click=...]`` in a file must not become an
        action, ``[/`` must not crash the app)."""
        self.notify(neutralise(message), title=neutralise_line(title), severity=severity,
                    timeout=timeout, markup=False)

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
            self.say("Still starting up: try again in a moment.", severity="warning")
            return
        if self.running:
            self.say("A run is in progress: Esc cancels it.", severity="warning")
            return
        from loco_tui.orchestrator import RunError

        request = self._target.request(prompt)
        try:
            self.controller.validate(request)
        except RunError as exc:
            self.say(str(exc), severity="error")
            return
        event.input.value = ""
        self._reset_panes()
        self._parsed.clear()
        self._titles.clear()
        self.trace.note(f"› {prompt}", "bold")
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

        self.push_screen(RoleSwitcher(self.registry, self._switched_roles), self._switched)

    async def _switched(self, choice: tuple[str, str | None] | None) -> None:
        """Apply a Ctrl+R choice: (role, model to put first), or (role, None) to reset the
        role to the registry's own chain."""
        if choice is None or self.controller is None:
            return
        from loco_tui.registry import clear_role_override, data_dir, save_role_override
        from loco_tui.screens.role_switcher import promoted

        role, model_id = choice
        # Saved per registry (file, detected servers, built-in) in the data dir; the user's
        # registry is never rewritten.
        if model_id is None:
            clear_role_override(data_dir(), role, config=self.loaded.scope)
        else:
            chain = promoted(self.registry.roles[role], model_id)
            save_role_override(data_dir(), role, chain, config=self.loaded.scope)
        self.loaded = self.loaded.with_overrides()
        self._switched_roles = set(self.loaded.overrides_applied)
        await self.controller.set_registry(self.loaded.registry)
        self._refresh_sidebar()
        chain_now = " → ".join(self.registry.roles[role])
        what = "back to the registry's chain" if model_id is None else "now uses"
        self.trace.note(f"⇄ role {role} {what} {chain_now}", "cyan")

    def action_parse_trace(self) -> None:
        from loco_tui.screens.parse_trace import ParseTraceScreen

        self.push_screen(ParseTraceScreen(dict(self._titles), {
            member: list(events) for member, events in self._parsed.items()}))

    def action_clear(self) -> None:
        if not self.running:
            self._show_idle()
            self.trace.clear()

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
            self._flush_deltas(pending)
            self._apply(event)
        self._flush_deltas(pending)

    def _flush_deltas(self, pending: dict[str, tuple[list[str], list[str]]]) -> None:
        for member, (answer, thinking) in pending.items():
            pane = self._panes.get(member)
            if pane is not None:
                pane.append("".join(answer), "".join(thinking))
        pending.clear()

    def _apply(self, event: Event) -> None:
        from loco_tui.events import (
            MemberFailed,
            MemberFinished,
            MemberStarted,
            Parse,
            RunFinished,
            Verdict,
        )

        self.trace.show(event)
        match event:
            case MemberStarted():
                title = event.model + (f" · {event.persona}" if event.persona else "")
                self._titles[event.member] = title
                self._pane(event.member).start(title, event.attempt, event.prompt_tokens)
            case MemberFinished():
                self._pane(event.member).finish(event.stats, event.finish_reason)
            case MemberFailed():
                self._pane(event.member).fail(event.category, event.message)
            case Verdict():
                self._show_verdict(event)
            case Parse():
                self._parsed.setdefault(event.member, []).append(event)
            case RunFinished():
                self.refresh_bindings()
                if event.status == "failed":
                    tail = f": {event.message}" if event.message else ""
                    self.say(f"Run failed{tail}", severity="error")
            case _:
                pass

    def _show_verdict(self, event: Verdict) -> None:
        from loco_tui.widgets.trace_lines import confidence_text, verdict_headline

        headline = verdict_headline(event)
        if event.mode == "pick" and event.winner:
            pane = self._panes.get(event.winner)
            if pane is not None:
                pane.mark_winner(event.label or "winner")
        judge = self.query_one("#judge", MemberPane)
        judge.display = True
        judge.status = f"{headline} · {confidence_text(event.confidence)}"

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
            switched=self._switched_roles,
            warnings=self._warnings,
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
                self.say(f"{result}\nKeeping the last good registry.",
                         title="Registry error", severity="error", timeout=10)
                continue
            self.registry_error = None
            self.loaded = LoadedRegistry(result, path, base=result).with_overrides()
            self._switched_roles = set(self.loaded.overrides_applied)
            self._warnings = list(self.loaded.warnings)
            for warning in self.loaded.warnings:
                self.trace.note(f"⚠ {warning}", "yellow")
            await self.controller.set_registry(self.loaded.registry)
            self._credential_warnings()
            self._targets = targets_of(self.loaded.registry)
            if self._target not in self._targets:
                self._target = self._targets[0] if self._targets else Target("auto")
            if not self.running:
                self._show_idle()
            self._refresh_sidebar()
            self.say(f"Reloaded {path.name}", title="Registry")
