"""The Loco workbench: live member panes, a judge pane, the conversation so far, a routing
trace, a model sidebar and a prompt editor. It renders events and sends commands to the
controller; it never calls a provider itself.

A session (a conversation) is always open: each prompt is a turn of it, and every member,
the judge and every workflow phase sees the turns before (see ``loco_tui.sessions``). The
panes show the current turn; earlier turns move to the transcript below them. Sessions are
kept in the store and reopen from the history screen.

Everything shown that came from a model, a server or a file is plain, neutralised text:
panes, titles, the trace, the sidebar and notifications never parse it as markup and never
pass a control sequence to the terminal.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Header, Input, TextArea

from loco_tui.registry import LoadedRegistry
from loco_tui.registry.schema import Registry
from loco_tui.safe_text import has_controls, neutralise, neutralise_line
from loco_tui.sessions import Session, Turn
from loco_tui.widgets.call_preview import CallPreview
from loco_tui.widgets.member_pane import MemberPane
from loco_tui.widgets.messages import CopyRequested, ZoomRequested
from loco_tui.widgets.prompt_editor import PromptEditor
from loco_tui.widgets.routing_trace import RoutingTrace
from loco_tui.widgets.sidebar import ModelSidebar
from loco_tui.widgets.transcript import Transcript

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from loco_tui.controller import Controller
    from loco_tui.events import Event, Parse, RunFinished, Verdict
    from loco_tui.orchestrator import RunRequest
    from loco_tui.registry.schema import EnsembleConfig
    from loco_tui.screens.model_picker import Picked
    from loco_tui.store import Store

# Repainting panes per token cannot keep up with 4 panes x 500 tok/s; batches can. 20 Hz
# measured 0.26 ms of CPU per token against 0.31 at 30 Hz, and halved key-press latency
# while streaming (less work between two keys); the eye does not see the difference.
FRAME_S = 1 / 20
# While the user types, pane updates wait up to this many frames: a frame that repaints four
# streaming panes is what delays a key's echo, and the panes catch up a moment later.
TYPING_HOLD_S = 0.15
MAX_HELD_FRAMES = 2
# Below this width the sidebar folds away (Ctrl+B shows it) and panes stack.
NARROW_COLUMNS = 110
# A pane narrower than this reads badly side by side: stack the panes instead.
MIN_PANE_COLUMNS = 28

TargetKind = Literal["ensemble", "role", "auto", "workflow", "picked"]


@dataclass(frozen=True)
class UiSettings:
    """What tests and demos switch off to keep the screen deterministic."""

    show_rates: bool = True  # tokens/s, durations and latencies
    watch_config: bool = True
    health_interval_s: float = 15.0
    seed: int | None = None  # fixes the judge's label shuffle (tests, reproducible demos)
    history: bool = True  # record runs and keep sessions in the store
    remember_preferences: bool = True  # theme and sidebar, in the data dir


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    name: str | None = None
    # The model picker's throwaway ensemble (kind "picked").
    config: EnsembleConfig | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        if self.kind == "auto":
            return "auto-route"
        if self.kind == "picked":
            return f"picked: {self.name}"
        return f"{self.kind} {self.name}"

    def request(self, prompt: str, session: Session, *, blind: bool = False) -> RunRequest:
        from loco_tui.orchestrator import RunRequest

        return RunRequest(
            prompt,
            role=self.name if self.kind == "role" else None,
            ensemble=self.name if self.kind == "ensemble" else None,
            workflow=self.name if self.kind == "workflow" else None,
            session=session.id,
            turn=len(session.turns),
            thread=tuple(session.turns),
            ensemble_config=self.config,
            blind=blind,
        )


def targets_of(registry: Registry) -> list[Target]:
    """Ensembles first (the workbench's reason to exist), then routing, roles, workflows."""
    return (
        [Target("ensemble", e) for e in registry.ensembles]
        + [Target("auto")]
        + [Target("role", r) for r in registry.roles]
        + [Target("workflow", w) for w in registry.workflows]
    )


@dataclass(frozen=True)
class ReplayRequest:
    """Open the workbench on a stored run, re-streamed at ``speed`` (0: at once)."""

    run_id: str
    speed: float = 1.0


@dataclass
class CurrentTurn:
    """What the panes show: the run of the session's newest turn."""

    prompt: str
    run_id: str | None = None
    finished: RunFinished | None = None
    proposals: dict[str, str] = field(default_factory=dict)  # member -> final text
    judge_pick: str | None = None
    person_pick: str | None = None
    # A blind comparison: names and the judge's pick stay hidden until the person votes.
    blind: bool = False
    revealed: bool = False
    verdict: Verdict | None = None
    titles: dict[str, str] = field(default_factory=dict)  # member -> "model · persona"


class WorkbenchBody(Horizontal):
    """The sidebar and the main column; fits the layout to the space it gets."""

    def on_resize(self) -> None:
        app = self.app
        if isinstance(app, LocoApp):
            app._fit_layout()


class LocoApp(App[None]):
    """Keys: Enter sends the prompt (Ctrl+J inserts a newline), Esc cancels the run, Ctrl+T
    chooses the target, Ctrl+R switches the model a role uses first, Ctrl+N starts a new
    session, F2 (Ctrl+H where the terminal tells it from Backspace) opens the history,
    Ctrl+O shows how the parser read each reply, Ctrl+B toggles the sidebar, Ctrl+L clears
    the panes, Tab moves between panes (then c copy, C copy code, z zoom, r raw, 1-9
    continue with a pane), F1 lists the keys that apply where you are, Ctrl+P the palette,
    Ctrl+Q quits (q too when you are not typing)."""

    CSS_PATH = "loco.tcss"
    TITLE = "Loco"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_run", "Cancel run", id="cancel_run", priority=True),
        Binding("ctrl+t", "choose_target", "Target", id="choose_target", priority=True),
        Binding("ctrl+r", "switch_role", "Roles", id="switch_role"),
        Binding("ctrl+n", "new_session", "New", id="new_session"),
        Binding("f2,ctrl+h", "history", "History", id="history", key_display="F2"),
        Binding("f3", "pick_models", "Models", id="pick_models", key_display="F3"),
        Binding("f4", "toggle_blind", "Blind", id="toggle_blind", key_display="F4"),
        Binding("f6", "leaderboard", "Leaderboard", id="leaderboard", show=False,
                key_display="F6"),
        Binding("f7", "evals", "Evals", id="evals", show=False, key_display="F7"),
        Binding("ctrl+o", "parse_trace", "Parse trace", id="parse_trace"),
        Binding("ctrl+b", "toggle_sidebar", "Sidebar", id="toggle_sidebar", show=False),
        Binding("ctrl+g", "toggle_trace", "Trace", id="toggle_trace", show=False),
        Binding("ctrl+l", "clear", "Clear", id="clear", show=False),
        Binding("ctrl+y", "sync_scroll", "Sync scroll", id="sync_scroll", show=False),
        Binding("f1", "show_keys", "Keys", id="show_keys", key_display="F1"),
        Binding("question_mark", "show_keys_unless_typing", "Keys", id="show_keys_q",
                show=False),
        *[Binding(str(n), f"continue_with({n})", f"Pane {n} is best: continue with it",
                  id=f"continue_with_{n}", show=False) for n in range(1, 10)],
        Binding("equals_sign", "vote('tie')", "Vote: a tie", id="vote_tie", show=False),
        Binding("0", "vote('all_bad')", "Vote: all bad", id="vote_all_bad", show=False),
        Binding("q", "quit_unless_typing", "Quit", id="quit", show=False),
        Binding("ctrl+q", "quit", "Quit", id="quit_ctrl", show=False, priority=True),
    ]

    def __init__(
        self,
        loaded: LoadedRegistry,
        *,
        settings: UiSettings | None = None,
        controller: Controller | None = None,
        replay: ReplayRequest | None = None,
    ) -> None:
        super().__init__()
        self.loaded = loaded
        self.settings = settings or UiSettings()
        # Built after the first frame unless given: the orchestration stack (events, parser,
        # providers) costs ~0.18 s of imports that the first frame does not need.
        self.controller: Controller | None = controller
        self.store: Store | None = None
        self.history_problem: str | None = None
        self._history_ready = asyncio.Event()
        self._replay = replay
        self._inbox: deque[Event] = deque()
        # Paused while nothing runs: an idle workbench should cost next to no CPU.
        self._drain_timer: Timer | None = None
        self._replaying = False
        self._typing_until = 0.0
        self._held_frames = 0
        self.registry_error: str | None = None
        self.session = Session()
        self.current: CurrentTurn | None = None
        self._last_prompt: str | None = None
        # The last run's parser events per member, for the parse-trace screen.
        self._parsed: dict[str, list[Parse]] = {}
        self._titles: dict[str, str] = {}
        self._panes: dict[str, MemberPane] = {}
        # Each member's tool calls as they form and once checked, under its pane.
        self._previews: dict[str, CallPreview] = {}
        self._targets = targets_of(loaded.registry)
        self._target = self._targets[0] if self._targets else Target("auto")
        # Roles switched live (Ctrl+R) for this registry, and why some switches were dropped.
        self._switched_roles: set[str] = set(loaded.overrides_applied)
        self._warnings: list[str] = list(loaded.warnings)
        self._sidebar_wanted = True
        self._sync_scroll = False
        self._blind_next = False  # F4: compare blind whatever the ensemble says
        self.sub_title = neutralise_line(loaded.source)

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with WorkbenchBody(id="body"):
            yield ModelSidebar(show_latency=self.settings.show_rates, id="sidebar")
            with Vertical(id="main"):
                yield Horizontal(id="members")
                yield MemberPane("judge", "judge", show_rates=self.settings.show_rates,
                                 id="judge")
                with Horizontal(id="lower"):
                    yield Transcript(id="transcript")
                    yield RoutingTrace(id="trace")
        # The box is cleared when a run really starts: a refused prompt stays where it was.
        yield PromptEditor(id="prompt", clear_on_submit=False)
        yield Footer()

    def on_mount(self) -> None:
        from loco_tui.themes import LOCO_THEMES

        for theme in LOCO_THEMES:
            self.register_theme(theme)
        self._load_preferences()
        self.query_one("#transcript").display = False
        self._show_idle()
        self._refresh_sidebar()
        self.prompt.focus()
        for warning in self._warnings:
            self.trace.note(f"⚠ {warning}", "yellow")
        self.call_after_refresh(self._boot)

    def _boot(self) -> None:
        """Start the controller and background work once the first frame is on screen."""
        if self.controller is None:
            from loco_tui.controller import Controller

            self.controller = Controller(self.loaded.registry)
        # Everything alive now lives for the session; freezing it keeps full collections
        # (50-125 ms pauses while streaming, measured) off that heap. What a stream
        # allocates lives a few frames: with the default thresholds, full collections took
        # ~30% of the CPU of Markdown panes, in pauses up to 140 ms; these made them rare.
        # (5000, 20, 20) saved no more CPU but let garbage pile up: 195 MB after 100k Markdown
        # tokens against 186 MB here (bench_tui RSS).
        gc.freeze()
        gc.set_threshold(5_000, 10, 10)
        self.controller.subscribe(self._inbox.append)
        self._drain_timer = self.set_interval(FRAME_S, self._drain)
        self._credential_warnings()
        self._health_loop()
        self._watch_engine_build()
        self._open_history()
        if self.loaded.path is not None and self.settings.watch_config:
            self._watch_registry(self.loaded.path)

    def _fit_layout(self) -> None:
        """Fold the sidebar and stack the panes when the terminal is narrow."""
        width = self.query_one(WorkbenchBody).size.width or self.size.width
        sidebar = self.query_one(ModelSidebar)
        sidebar.display = self._sidebar_wanted and width >= NARROW_COLUMNS
        members = self.query_one("#members")
        count = max(1, len(members.children))
        room = width - (ModelSidebar.WIDTH if sidebar.display else 0)
        members.set_class(room / count < MIN_PANE_COLUMNS, "-stacked")
        self.set_class(self.size.height < 30, "-short")

    # -- properties --------------------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        return self.controller.registry if self.controller else self.loaded.registry

    @property
    def running(self) -> bool:
        return bool(self.controller and self.controller.active_runs)

    @property
    def trace(self) -> RoutingTrace:
        return self.query_one("#trace", RoutingTrace)

    @property
    def prompt(self) -> PromptEditor:
        return self.query_one("#prompt", PromptEditor)

    @property
    def transcript(self) -> Transcript:
        return self.query_one("#transcript", Transcript)

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
        if self.store is not None:
            await self.store.aclose()

    # -- history (the store) -----------------------------------------------------------------
    @work(exclusive=True, group="history", exit_on_error=False)
    async def _open_history(self) -> None:
        """Open the store; with none, history is off (said in the sidebar), nothing else."""
        try:
            if self.settings.history:
                from loco_tui.store import Store, StoreError

                try:
                    self.store = await Store.open()
                except StoreError as exc:
                    self.history_problem = str(exc)
                    self.trace.note(f"history off: {exc}", "yellow")
                else:
                    assert self.controller is not None
                    if self.controller.recorder is None:
                        self.controller.attach_store(self.store)
        finally:
            self._history_ready.set()
            self._refresh_sidebar()
        if self._replay is not None:
            await self._play_stored_run(self._replay.run_id, self._replay.speed)

    async def _play_stored_run(self, run_id: str, speed: float) -> None:
        """Re-stream a stored run into the panes (never re-recorded: the events go to the
        panes directly, not through the controller and its recorder)."""
        from loco_tui.store import StoreError, play

        if self.store is None:
            self.say(f"cannot replay {run_id}: {self.history_problem or 'history is off'}",
                     severity="error")
            return
        try:
            events = await self.store.events(run_id)
            detail = await self.store.run(run_id)
            session = await self.store.session(detail.run.session_id)
        except StoreError as exc:
            self.say(str(exc), severity="error")
            return
        earlier = []
        for turn in session.turns:
            if turn.run_id == detail.run.id:
                break
            earlier.append(turn)
        # Follow-ups continue the session after its newest turn, whichever run replays.
        self._open_session(session, earlier)
        self.trace.note(f"replaying run {detail.run.id}"
                        + (f" at {speed:g}x" if speed else ""), "magenta")
        self._begin_turn(detail.run.prompt)
        self._replaying = True
        self._wake()
        try:
            await play(events, self._inbox.append, speed)
        finally:
            self._replaying = False

    @property
    def history_off(self) -> str | None:
        """Why sessions are not being kept (None while they are)."""
        if not self.settings.history:
            return None
        if self.history_problem is not None:
            return self.history_problem
        return self.controller.history_error if self.controller else None

    # -- sending -----------------------------------------------------------------------------
    @on(TextArea.Changed, "#prompt")
    def _typing(self, event: TextArea.Changed) -> None:
        document = event.text_area.document
        if document.line_count == 1 and not document.get_line(0):
            return  # sending cleared the prompt: the run's panes should show at once
        self._typing_until = time.monotonic() + TYPING_HOLD_S

    @on(PromptEditor.Submitted, "#prompt")
    async def _submitted(self, event: PromptEditor.Submitted) -> None:
        await self.send(event.text)

    async def send(self, text: str) -> None:
        """Run ``text`` as the next turn of the session on the current target. The text goes
        as typed (the editor already trims blank lines): the indentation of a pasted code
        block's first line is part of it."""
        prompt = text
        if not prompt.strip():
            return
        if self.controller is None:
            self.say("Still starting up: try again in a moment.", severity="warning")
            return
        if self.running:
            self.say("A run is in progress: Esc cancels it.", severity="warning")
            return
        await self._history_ready.wait()  # a run started before the store opened is lost
        from loco_tui.orchestrator import RunError

        request = self._target.request(prompt, self.session, blind=self._blind_next)
        try:
            self.controller.validate(request)
        except RunError as exc:
            self.say(str(exc), severity="error")
            return
        self.prompt.clear()
        self._last_prompt = prompt
        self._archive_current()
        self._begin_turn(prompt)
        self.trace.note(f"› {prompt}", "bold")
        self.controller.start(request, seed=self.settings.seed)
        self._wake()
        self.refresh_bindings()  # Esc cancels now

    def _begin_turn(self, prompt: str) -> None:
        self._reset_panes()
        self._parsed.clear()
        self._titles.clear()
        self.current = CurrentTurn(prompt)

    def _archive_current(self) -> None:
        """The turn the panes show becomes history: it moves to the transcript."""
        if self.current is None or self.current.finished is None:
            return
        turn = self.session.turns[-1] if self.session.turns else None
        if turn is not None and turn.run_id == self.current.run_id:
            self.transcript.add(turn, chosen_by_person=self.current.person_pick is not None)
            self.transcript.display = True
            self._fit_layout()
        self.current = None

    async def action_cancel_run(self) -> None:
        if not self.running or self.controller is None:
            return
        await self.controller.cancel()
        self._drain()

    async def action_rerun(self) -> None:
        if self._last_prompt is not None:
            await self.send(self._last_prompt)

    def action_choose_target(self) -> None:
        from loco_tui.screens.target_picker import TargetPicker

        def chosen(target: Target | None) -> None:
            if target is not None:
                self._target = target
                if not self.running:
                    self._show_idle()
                self._refresh_sidebar()

        self.push_screen(TargetPicker(self._targets, self._target), chosen)

    def action_next_target(self) -> None:
        if not self._targets:
            return
        i = self._targets.index(self._target) if self._target in self._targets else -1
        self._target = self._targets[(i + 1) % len(self._targets)]
        self._show_idle()
        self._refresh_sidebar()

    # -- sessions ----------------------------------------------------------------------------
    def action_new_session(self) -> None:
        if self.running:
            self.say("A run is in progress: Esc cancels it first.", severity="warning")
            return
        self._open_session(Session(), [])
        self._show_idle()
        self.trace.note("new session", "magenta")
        self.prompt.focus()

    def _open_session(self, session: Session, earlier: list[Turn]) -> None:
        """Make ``session`` the one follow-ups continue; ``earlier`` turns go to the
        transcript (the one the panes will show is not among them)."""
        self.session = session
        self.current = None
        self.transcript.show(earlier)
        self.transcript.display = bool(earlier)
        title = session.title or (session.turns[0].prompt if session.turns else None)
        self.sub_title = neutralise_line(title[:60] if title else self.loaded.source)
        self._fit_layout()

    def action_history(self) -> None:
        if self.store is None:
            self.say(f"History is off: {self.history_problem or 'still opening'}",
                     severity="warning")
            return
        if self.running:
            self.say("A run is in progress: Esc cancels it first.", severity="warning")
            return
        from loco_tui.screens.history import HistoryScreen

        def chosen(session_id: str | None) -> None:
            if session_id is not None:
                self._reopen(session_id)

        self.push_screen(HistoryScreen(self.store), chosen)

    @work(exclusive=True, group="reopen", exit_on_error=False)
    async def _reopen(self, session_id: str) -> None:
        """Reopen a stored session: earlier turns in the transcript, the last one in the
        panes (re-rendered from its stored events), ready for a follow-up."""
        from loco_tui.store import StoreError

        assert self.store is not None
        try:
            session = await self.store.session(session_id)
            events = await self.store.events(session.turns[-1].run_id) \
                if session.turns and session.turns[-1].run_id else []
        except StoreError as exc:
            self.say(str(exc), severity="error")
            return
        last = session.turns[-1] if session.turns else None
        self._open_session(session, session.turns[:-1])
        self.trace.note(f"reopened session {session.id}", "magenta")
        if last is not None:
            self._begin_turn(last.prompt)
            self._inbox.extend(events)
            self._drain()
            current = self.current
            if current is not None and current.finished is not None \
                    and last.answer_from != current.finished.answer_from:
                # A person chose another pane than the judge: show it again.
                current.person_pick = last.answer_from
                for member, pane in self._panes.items():
                    pane.mark_chosen(member == last.answer_from)
        self.prompt.focus()

    def action_continue_with(self, n: int) -> None:
        """Pane ``n`` is best: a human verdict, stored beside the judge's, and its answer is
        what the next turn sees."""
        self._vote("pick", n)

    def action_vote(self, kind: str) -> None:
        """``=`` the proposals tie, ``0`` they are all bad (the answer stays as it is)."""
        self._vote(kind, None)

    @work(exclusive=True, group="vote", exit_on_error=False)
    async def _vote(self, kind: str, n: int | None) -> None:
        current = self.current
        if current is None or current.finished is None or current.run_id is None:
            self.say("Vote once a run has finished.", severity="warning")
            return
        members = [m for m in self._panes if m in current.proposals]
        member = None
        if n is not None:
            if n > len(members):
                self.say(f"There is no pane {n} with an answer.", severity="warning")
                return
            member = members[n - 1]
        elif len(members) < 2:
            self.say("A tie or 'all bad' needs two proposals or more.", severity="warning")
            return
        if self.store is not None and self.controller is not None:
            from loco_tui.store import StoreError

            try:
                await self.controller.flush_history()
                await self.store.vote(current.run_id, kind, member)  # type: ignore[arg-type]
            except StoreError as exc:
                self.say(f"Your vote was not saved: {exc}", severity="error")
        if member is not None:
            self.session.with_answer(current.run_id, current.proposals[member], member)
            current.person_pick = member
            for pane_member, pane in self._panes.items():
                pane.mark_chosen(pane_member == member)
            self.trace.note(f"☆ you chose {member}: the next turn continues from its answer",
                            "bold magenta")
        else:
            what = "a tie" if kind == "tie" else "all bad"
            self.trace.note(f"☆ you voted {what} ({len(members)} proposals)", "bold magenta")
        if current.blind and not current.revealed:
            self._reveal(current)

    # -- comparing models --------------------------------------------------------------------
    def action_pick_models(self) -> None:
        from loco_tui.screens.model_picker import ModelPicker

        if self.controller is None:
            return
        picked: tuple[tuple[str, str], ...] = ()
        if self._target.kind == "picked" and self._target.config is not None:
            picked = tuple((m.provider or "", m.model or "")
                           for m in self._target.config.members)
        self.push_screen(ModelPicker(self.registry, dict(self.controller.pool.health),
                                     self.controller, picked=picked), self._picked_models)

    def _current_judge(self) -> str | None:
        reg = self.registry
        if self._target.kind == "ensemble" and self._target.name in reg.ensembles:
            return reg.ensembles[self._target.name].judge
        if self._target.kind == "picked" and self._target.config is not None:
            return self._target.config.judge
        return "judge" if "judge" in reg.roles else None

    async def _picked_models(self, picked: Picked | None) -> None:
        if picked is None or self.controller is None:
            return
        from loco_tui.registry import picked_ensemble, save_ensemble

        judge = self._current_judge()
        names = ", ".join(m["model"] for m in picked.members)
        if picked.save_as is None:
            config = picked_ensemble(list(picked.members), judge)
            self._target = Target("picked", names, config)
            self.trace.note(f"⇄ the next prompt compares {names}"
                            + (f" (judge: {judge})" if judge else " (no judge)"), "cyan")
        else:
            path = save_ensemble(picked.save_as, list(picked.members), judge,
                                 scope=self.loaded.scope, registry=self.registry)
            self.loaded = self.loaded.with_overrides()
            await self.controller.set_registry(self.loaded.registry)
            self._targets = targets_of(self.loaded.registry)
            self._target = Target("ensemble", picked.save_as)
            self.trace.note(f"⇄ saved ensemble {picked.save_as} ({names}) in {path}", "cyan")
        if not self.running:
            self._show_idle()
        self._refresh_sidebar()

    def action_toggle_blind(self) -> None:
        self._blind_next = not self._blind_next
        self.say("Blind: model names and the judge's pick stay hidden until you vote "
                 "(1-9, = or 0)" if self._blind_next else "Blind off", timeout=4)
        self._refresh_sidebar()

    def _reveal(self, current: CurrentTurn) -> None:
        """The person voted: show who wrote what, and what the judge picked."""
        current.revealed = True
        for member, pane in self._panes.items():
            title = current.titles.get(member)
            if title and not member.endswith("judge"):
                pane.title = f"{member} · {title}"
        names = ", ".join(f"{m} = {t}" for m, t in current.titles.items()
                          if not m.endswith("judge"))
        self.trace.note(f"revealed: {names}", "bold cyan")
        judge = self.query_one("#judge", MemberPane)
        judge.display = True
        if current.verdict is not None:
            self._show_verdict(current.verdict, reveal=True)
        self._refresh_sidebar()

    def action_evals(self) -> None:
        """`loco eval` results: each eval's strategies side by side."""
        if self.store is None:
            self.say(f"History is off: {self.history_problem or 'still opening'}",
                     severity="warning")
            return
        from loco_tui.screens.eval import EvalScreen

        self.push_screen(EvalScreen(self.store))

    def action_leaderboard(self) -> None:
        if self.store is None:
            self.say(f"History is off: {self.history_problem or 'still opening'}",
                     severity="warning")
            return
        from loco_tui.screens.leaderboard import LeaderboardScreen

        self.push_screen(LeaderboardScreen(self.store))

    # -- the registry ------------------------------------------------------------------------
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

    def _credential_warnings(self) -> None:
        from loco_tui.inventory import credential_warnings

        for warning in credential_warnings(self.registry):
            if warning not in self._warnings:
                self._warnings.append(warning)
                self.trace.note(f"⚠ {warning}", "yellow")
        self._refresh_sidebar()

    # -- views -------------------------------------------------------------------------------
    def action_parse_trace(self) -> None:
        """The focused pane's reply in the inspector (its spans, calls and checks); with no
        pane focused, how the parser read every reply of the run."""
        focused = self.focused
        if isinstance(focused, MemberPane) and focused.member in self._parsed:
            from loco_tui.screens.inspector import InspectorScreen

            self.push_screen(InspectorScreen(
                focused.member, self._titles.get(focused.member, ""), focused.text,
                list(self._parsed[focused.member])))
            return
        from loco_tui.screens.parse_trace import ParseTraceScreen

        self.push_screen(ParseTraceScreen(dict(self._titles), {
            member: list(events) for member, events in self._parsed.items()}))

    def action_clear(self) -> None:
        if not self.running:
            self._show_idle()
            self.trace.clear()

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one(ModelSidebar)
        self._sidebar_wanted = not sidebar.display
        if self._sidebar_wanted and self.size.width < NARROW_COLUMNS:
            sidebar.display = True  # asked for on a narrow screen: show it anyway
        else:
            self._fit_layout()
        self._save_preferences()

    def action_toggle_trace(self) -> None:
        lower = self.query_one("#lower")
        lower.display = not lower.display

    def action_sync_scroll(self) -> None:
        self._sync_scroll = not self._sync_scroll
        for pane in self._panes.values():
            pane.report_scrolling = self._sync_scroll
        self.say("Panes scroll together" if self._sync_scroll else "Panes scroll on their own",
                 timeout=2)

    def action_show_keys(self) -> None:
        """The keys that apply where you are (Textual's help panel, beside the screen)."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_show_keys_unless_typing(self) -> None:
        self.action_show_keys()

    async def action_quit_unless_typing(self) -> None:
        await self.action_quit()

    def action_zoom(self) -> None:
        focused = self.focused
        if isinstance(focused, MemberPane | Transcript):
            self._zoom(focused)

    @on(ZoomRequested)
    def _zoom_requested(self, event: ZoomRequested) -> None:
        self._zoom(event.widget)

    def _zoom(self, widget: Widget) -> None:
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
        else:
            screen.maximize(widget, container=False)

    @on(CopyRequested)
    def _copy(self, event: CopyRequested) -> None:
        if not event.text:
            self.say(f"Nothing to copy: no {event.what} yet.", severity="warning", timeout=3)
            return
        # The clipboard gets what the screen shows: a control sequence in a reply must not
        # ride along into a shell it is pasted into.
        text = neutralise(event.text)
        note = " (control characters shown as symbols)" if has_controls(event.text) else ""
        self.copy_to_clipboard(text)
        self.say(f"Copied {event.what}: {len(text):,} characters{note}", timeout=3)

    @on(MemberPane.Scrolled)
    def _pane_scrolled(self, event: MemberPane.Scrolled) -> None:
        if not self._sync_scroll:
            return
        for pane in self._panes.values():
            if pane is not event.pane and int(pane.scroll_y) != event.line:
                pane.scroll_to_line(event.line)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":
            # A modal screen's Esc closes the modal; here Esc only cancels a run.
            return True if self.running and len(self.screen_stack) == 1 else None
        if action in ("quit_unless_typing", "show_keys_unless_typing", "vote") \
                or action.startswith("continue_with"):
            # Letter and digit keys belong to the text being typed.
            return not isinstance(self.focused, TextArea | Input)
        return True

    # -- palette -----------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every workbench action, in the palette (Ctrl+P)."""
        yield from super().get_system_commands(screen)
        commands = [
            ("Send the prompt", "Run what is in the prompt box", self.action_send_prompt),
            ("Cancel the run", "Stop every stream of the current run (Esc)",
             self.action_cancel_run),
            ("Rerun the last prompt", "Send the last prompt again, as a new turn",
             self.action_rerun),
            ("Choose the target", "Ensemble, auto-route, role or workflow (Ctrl+T)",
             self.action_choose_target),
            ("Switch a role's model", "Put another model first in a role (Ctrl+R)",
             self.action_switch_role),
            ("New session", "Start a new conversation (Ctrl+N)", self.action_new_session),
            ("History", "Reopen, search, rename or delete sessions (F2)",
             self.action_history),
            ("Parse trace", "How the parser read each reply (Ctrl+O)", self.action_parse_trace),
            ("Toggle the sidebar", "Show or hide the models sidebar (Ctrl+B)",
             self.action_toggle_sidebar),
            ("Toggle the trace", "Show or hide the conversation and trace (Ctrl+G)",
             self.action_toggle_trace),
            ("Scroll panes together", "Toggle scrolling every pane at once (Ctrl+Y)",
             self.action_sync_scroll),
            ("Zoom the focused pane", "Maximise it, or restore it (z)", self.action_zoom),
            ("Clear the panes", "Empty the panes and the trace (Ctrl+L)", self.action_clear),
            ("Pick models to compare", "Any 2-6 models, on the next prompt (F3)",
             self.action_pick_models),
            ("Toggle blind comparison", "Hide names and the judge's pick until you vote (F4)",
             self.action_toggle_blind),
            ("Leaderboard", "Which models win, by the judge and by your votes (F6)",
             self.action_leaderboard),
            ("Evals", "Results of `loco eval`: strategies compared on your suites (F7)",
             self.action_evals),
        ]
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)
        for member, pane in self._panes.items():
            yield SystemCommand(f"Copy {member}'s answer", "As Markdown source",
                                pane.action_copy_answer)
            yield SystemCommand(f"Copy {member}'s last code block", "Its content only",
                                pane.action_copy_code)
        judge = self._panes.get("judge")
        if judge is not None and judge.reason:
            yield SystemCommand("Copy the verdict's reason", "Why the judge chose",
                                judge.action_copy_reason)
        if self.current is not None and self.current.finished is not None:
            members = [m for m in self._panes if m in self.current.proposals]
            for n, member in enumerate(members, start=1):
                yield SystemCommand(f"Continue with pane {n} ({member})",
                                    "Vote it best; its answer is what the next turn sees",
                                    lambda n=n: self.action_continue_with(n))
            if len(members) > 1:
                yield SystemCommand("Vote: a tie", "No proposal is better (=)",
                                    lambda: self.action_vote("tie"))
                yield SystemCommand("Vote: all bad", "No proposal is good (0)",
                                    lambda: self.action_vote("all_bad"))

    async def action_send_prompt(self) -> None:
        await self.send(self.prompt.text)

    # -- preferences -------------------------------------------------------------------------
    def _load_preferences(self) -> None:
        if not self.settings.remember_preferences:
            return
        from loco_tui.preferences import Preferences
        from loco_tui.registry import data_dir

        prefs = Preferences.load(data_dir())
        if prefs.warning:
            self.trace.note(prefs.warning, "yellow")
        if prefs.theme and prefs.theme in self.available_themes:
            self.theme = prefs.theme
        self._sidebar_wanted = prefs.sidebar
        self.theme_changed_signal.subscribe(self, lambda _theme: self._save_preferences())

    def _save_preferences(self) -> None:
        if not self.settings.remember_preferences:
            return
        from loco_tui.preferences import Preferences
        from loco_tui.registry import data_dir

        try:
            Preferences(theme=self.theme, sidebar=self._sidebar_wanted).save(data_dir())
        except OSError as exc:
            self.trace.note(f"preferences not saved: {exc}", "yellow")

    # -- rendering events ------------------------------------------------------------------
    def _wake(self) -> None:
        """Events are coming: drain them every frame again."""
        if self._drain_timer is not None:
            self._drain_timer.resume()

    def _drain(self) -> None:
        """Apply queued events; consecutive deltas of a member become one append."""
        if self._inbox and self.running and time.monotonic() < self._typing_until \
                and self._held_frames < MAX_HELD_FRAMES:
            self._held_frames += 1  # the key being typed shows first
            return
        self._held_frames = 0
        if self._inbox:
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
        if self.running:
            now = time.monotonic()
            for pane in self._panes.values():
                pane.tick(now)
        elif not self._inbox and not self._replaying and self._drain_timer is not None:
            self._drain_timer.pause()

    def _flush_deltas(self, pending: dict[str, tuple[list[str], list[str]]]) -> None:
        for member, (answer, thinking) in pending.items():
            pane = self._panes.get(member)
            if pane is not None:
                pane.append("".join(answer), "".join(thinking), len(answer) + len(thinking))
        pending.clear()

    def _apply(self, event: Event) -> None:
        from loco_tui.events import (
            MemberFailed,
            MemberFinished,
            MemberQueued,
            MemberStarted,
            Parse,
            RunFinished,
            RunStarted,
            Verdict,
        )

        current = self.current
        hidden = current is not None and current.blind and not current.revealed
        self.trace.show(event, blind=hidden)
        match event:
            case RunStarted():
                if current is not None:
                    current.run_id = event.run_id
                    current.blind = event.blind
                    if event.blind:
                        self.query_one("#judge", MemberPane).display = False
                        self._refresh_sidebar()
            case MemberStarted():
                title = event.model + (f" · {event.persona}" if event.persona else "")
                self._titles[event.member] = title
                # A fallback's next model writes a new text: offsets and calls start over.
                self._parsed[event.member] = []
                if (preview := self._previews.get(event.member)) is not None:
                    preview.reset()
                if current is not None:
                    current.titles[event.member] = title
                pane = self._pane(event.member)
                if event.member.endswith("reversed-judge"):
                    pane.write("\n── the same judge again, proposals in reverse order ──\n",
                               "bold magenta")
                pane.start("?" if hidden and not event.member.endswith("judge") else title,
                           event.attempt, event.prompt_tokens)
            case MemberQueued():
                self._pane(event.member).queued(event.ahead, event.running, event.limit)
            case MemberFinished():
                self._pane(event.member).done(event.stats, event.finish_reason)
                if self.current is not None and not event.member.endswith("judge"):
                    self.current.proposals[event.member] = event.text
            case MemberFailed():
                self._pane(event.member).fail(event.category, event.message)
            case Verdict():
                if current is not None:
                    current.verdict = event
                if hidden:
                    self.trace.note("★ the verdict stays hidden until you vote (1-9, = or 0)",
                                    "bold green")
                else:
                    self._show_verdict(event)
            case Parse():
                self._parsed.setdefault(event.member, []).append(event)
                if (preview := self._previews.get(event.member)) is not None:
                    preview.apply(event.kind, event.detail)
            case RunFinished():
                self._finished(event)
            case _:
                pass

    def _finished(self, event: RunFinished) -> None:
        current = self.current
        if current is not None and current.run_id == event.run_id:
            current.finished = event
            turn = Turn(current.prompt, event.answer, event.answer_from,
                        dict(current.proposals), event.run_id)
            if not self.session.turns or self.session.turns[-1].run_id != event.run_id:
                self.session.turns.append(turn)
            if len(self.session.turns) == 1:
                self.sub_title = neutralise_line(current.prompt[:60])
        self.refresh_bindings()
        if event.status == "failed":
            tail = f": {event.message}" if event.message else ""
            self.say(f"Run failed{tail}", severity="error")
        if self.history_off:
            self._refresh_sidebar()
        self.prompt.focus()  # after a run, the next prompt

    def _show_verdict(self, event: Verdict, *, reveal: bool = False) -> None:
        from loco_tui.describe import confidence_text, verdict_headline
        from loco_tui.widgets.trace_lines import trace_line

        if reveal:
            line = trace_line(event)
            if line is not None:
                self.trace.note(line.plain, str(line.style))
        headline = verdict_headline(event)
        if event.mode == "pick" and event.winner:
            pane = self._panes.get(event.winner)
            if pane is not None:
                pane.mark_winner(event.label or "winner")
            if self.current is not None:
                self.current.judge_pick = event.winner
        judge = self.query_one("#judge", MemberPane)
        judge.display = True
        judge.reason = event.reason
        judge.status = f"{headline} · {confidence_text(event.confidence)}"

    def _pane(self, member: str) -> MemberPane:
        pane = self._panes.get(member)
        if pane is None:
            if member.endswith("judge"):
                pane = self.query_one("#judge", MemberPane)
                current = self.current
                pane.display = not (current and current.blind and not current.revealed)
            else:
                pane = MemberPane(member, member, show_rates=self.settings.show_rates)
                pane.report_scrolling = self._sync_scroll
                self._mount_member(pane)
                self.call_after_refresh(self._fit_layout)
            self._panes[member] = pane
        return pane

    def _mount_member(self, pane: MemberPane) -> None:
        """A member's pane, with the tool calls it makes shown below it (a ScrollView cannot
        hold children, so the two share a box)."""
        preview = CallPreview()
        self._previews[pane.member] = preview
        self.query_one("#members").mount(Vertical(pane, preview, classes="pane-box"))

    # -- idle state ------------------------------------------------------------------------
    def _reset_panes(self) -> None:
        self.query_one("#members").remove_children()
        self._panes.clear()
        self._previews.clear()
        judge = self.query_one("#judge", MemberPane)
        judge.reset("judge")
        judge.display = self._target_has_judge()

    def _target_has_judge(self) -> bool:
        reg = self.registry
        target = self._target
        if target.kind == "ensemble" and target.name in reg.ensembles:
            return reg.ensembles[target.name].judge is not None
        if target.kind == "picked":
            return target.config is not None and target.config.judge is not None
        return target.kind == "workflow"

    def _show_idle(self) -> None:
        """Placeholder panes for what the current target will run."""
        self._reset_panes()
        reg = self.registry
        if self._target.kind == "ensemble" and self._target.name in reg.ensembles:
            for i, m in enumerate(reg.ensembles[self._target.name].members, start=1):
                title = (m.model or f"role {m.role}") + (f" · {m.persona}" if m.persona else "")
                self._mount_member(MemberPane(f"m{i}", f"m{i} · {title}",
                                              show_rates=self.settings.show_rates))
        else:
            self._mount_member(MemberPane("-", self._target.label,
                                          show_rates=self.settings.show_rates))
        self.call_after_refresh(self._fit_layout)

    def _refresh_sidebar(self) -> None:
        warnings = list(self._warnings)
        if self.history_off:
            warnings.append(f"history off: {self.history_off}")
        current = self.current
        self.query_one(ModelSidebar).show(
            self.registry,
            dict(self.controller.pool.health) if self.controller else {},
            self._target.label + (" · blind" if self._blind_next else ""),
            self.registry_error,
            switched=self._switched_roles,
            warnings=warnings,
            blind=bool(current and current.blind and not current.revealed),
        )

    # -- background work -------------------------------------------------------------------
    @work(exclusive=True, group="health", exit_on_error=False)
    async def _health_loop(self) -> None:
        assert self.controller is not None
        while True:
            await self.controller.check_health()
            self._refresh_sidebar()
            await asyncio.sleep(self.settings.health_interval_s)

    # -- the embedded engine's background build (issue 18) -----------------------------------
    # `make run` builds llama.cpp in a background process when it is missing. Its progress
    # is the embedded provider's state in the sidebar; when it is done the provider is
    # checked again and used, without a restart. Everything about it is in this block.
    @work(exclusive=True, group="engine-build", exit_on_error=False)
    async def _watch_engine_build(self) -> None:
        from loco_tui.engine_build import BuildPhase, EngineBuild

        sidebar = self.query_one(ModelSidebar)
        usual_placeholder = self.prompt.placeholder
        seen: BuildPhase | None = None
        async for status in EngineBuild().watch():
            # With no server answering, nothing can answer until the engine is built.
            waiting = status.phase is BuildPhase.RUNNING and not self._a_server_is_up()
            placeholder = (f"Answers start when the embedded engine is ready "
                           f"(llama.cpp: {status.summary or 'starting'})" if waiting
                           else usual_placeholder)
            if self.prompt.placeholder != placeholder:
                self.prompt.placeholder = placeholder
            if status.phase is BuildPhase.READY:
                sidebar.engine_build = None
                if seen is not None:  # it was missing when the workbench opened
                    assert self.controller is not None
                    await self.controller.check_health()
                    self.say("llama.cpp is built: the embedded model answers now.",
                             title="Embedded engine ready", timeout=8)
            else:
                sidebar.engine_build = status
                if status.phase is not seen:
                    seen = status.phase
                    self._say_engine_build(status, waiting)
            self._refresh_sidebar()

    def _a_server_is_up(self) -> bool:
        health = self.controller.pool.health if self.controller else {}
        providers = self.registry.providers
        return any(h.up for pid, h in health.items()
                   if pid in providers and providers[pid].kind != "embedded")

    def _say_engine_build(self, status: object, waiting: bool) -> None:
        from loco_tui.engine_build import BuildPhase, BuildStatus

        assert isinstance(status, BuildStatus)
        if status.phase is BuildPhase.FAILED:
            # A compile line in the log can be 2 KB long (the full command): the start says it.
            lines = "\n".join(line[:200] for line in status.tail[-3:])
            self.say(f"{status.message}\n{lines}\n{status.retry_hint} (log: {status.log_path})",
                     title="Embedded engine", severity="error", timeout=20)
        elif status.phase is BuildPhase.RUNNING and waiting:
            self.say("llama.cpp is building in the background for the embedded model "
                     f"(log: {status.log_path}). Answers start when it is ready.",
                     title="Embedded engine", timeout=10)
    # -- end of the embedded engine's build block ---------------------------------------------

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
