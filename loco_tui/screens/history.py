"""The history screen: every stored session, newest first, to search, reopen, rename or delete.

Rows come from the store a page at a time (``Store.sessions(limit, offset, search)``), the
next page when the highlight or the view nears the last loaded row: 10,000 sessions never
load at once. Every string from the store is untrusted (titles are prompts, model ids come
from registries): rows are built as ``Content`` of ``neutralise_line(...)``, never markup.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from loco_tui.safe_text import neutralise_line

if TYPE_CHECKING:
    from loco_tui.store import SessionSummary, Store

PAGE_SIZE = 100
# Typing "retry loop" runs one search, not ten: FTS over 10,000 sessions costs tens of ms.
SEARCH_DEBOUNCE_S = 0.15
# Load the next page this many rows before the last loaded one comes into view.
PREFETCH_ROWS = 40
# A title is one line on screen; a 40 KB first prompt need not become a 40 KB row.
TITLE_CHARS = 240
# Lines per row: the title, then when, status, turns and models.
ROW_LINES = 2

_STATUS: dict[str | None, tuple[str, str]] = {
    "ok": ("✓ ok", "$text-success"),
    "partial": ("◐ partial", "$text-warning"),
    "failed": ("✗ failed", "$text-error"),
    "cancelled": ("⊘ cancelled", "$text-muted"),
    "interrupted": ("↯ interrupted", "$text-warning"),
    "running": ("● running", "$text-accent"),
    None: ("· no turn", "$text-muted"),
}


def when(ts: float, now: float) -> str:
    """A time as people say it: "just now", "3 min ago", "5 h ago", "yesterday", "12 Mar",
    or "2024-03-12" for another year. Local time; a time in the future (a clock that moved
    back) reads "just now"."""
    ago = now - ts
    if ago < 60:
        return "just now"
    if ago < 3600:
        return f"{int(ago // 60)} min ago"
    then, today = datetime.fromtimestamp(ts), datetime.fromtimestamp(now)
    if then.date() == today.date():
        return f"{int(ago // 3600)} h ago"
    if (today.date() - then.date()).days == 1:
        return "yesterday"
    if then.year == today.year:
        return f"{then.day} {then:%b}"
    return f"{then:%Y-%m-%d}"


def one_line(text: str, limit: int = TITLE_CHARS) -> str:
    """``text`` as one safe line of at most ``limit`` characters (a multi-line prompt reads
    as one line; controls become visible stand-ins)."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return neutralise_line(text)


def title_of(summary: SessionSummary) -> str:
    """The session's title (its first prompt unless renamed), as one safe line."""
    return one_line(summary.title or summary.first_prompt or "(untitled)")


def session_row(summary: SessionSummary, now: float) -> Content:
    """Two lines: the title, then when, the last turn's status, turns and models."""
    status, status_style = _STATUS.get(summary.last_status, (summary.last_status or "?", ""))
    turns = f"{summary.turns} turn" + ("" if summary.turns == 1 else "s")
    models = ", ".join(summary.models) or "no answer"
    return Content.assemble(
        (title_of(summary), "bold"),
        "\n  ",
        (when(summary.updated_at, now), "$text-muted"),
        ("  ·  ", "$text-muted"),
        (neutralise_line(status), status_style),
        ("  ·  ", "$text-muted"),
        (turns, "$text-muted"),
        ("  ·  ", "$text-muted"),
        (neutralise_line(models), "$text-muted italic"),
    )


class ConfirmDelete(ModalScreen[bool]):
    """Asks before a session is deleted. Enter or ``y`` deletes (dismisses True); Esc or
    ``n`` keeps it (dismisses False)."""

    DEFAULT_CSS = """
    ConfirmDelete { align: center middle; }
    ConfirmDelete > Vertical {
        width: 64; height: auto;
        border: round $error; background: $surface; padding: 0 1;
    }
    ConfirmDelete #confirm-title { text-style: bold; text-wrap: nowrap; text-overflow: ellipsis; }
    ConfirmDelete #confirm-keys { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,y", "dismiss(True)", "Delete", id="history.confirm_delete"),
        Binding("escape,n", "dismiss(False)", "Keep", id="history.cancel_delete"),
    ]

    def __init__(self, summary: SessionSummary) -> None:
        super().__init__()
        self.summary = summary

    def compose(self) -> ComposeResult:
        turns = f"{self.summary.turns} turn" + ("" if self.summary.turns == 1 else "s")
        with Vertical():
            yield Label(f"Delete this session and its {turns}?", markup=False)
            yield Label(Content(title_of(self.summary)), id="confirm-title")
            yield Label("Enter / y deletes  ·  Esc / n keeps it", id="confirm-keys",
                        markup=False)


class SessionList(OptionList):
    """The rows. Up on the first row goes back to the search box, and a letter that is not
    one of the screen's keys is typed into the search (so ``q`` never quits from here)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Open", id="history.open"),
    ]

    class LeftTop(Message):
        """Up was pressed on the first row."""

    class TypedToSearch(Message):
        """A printable key meant for the search box."""

        def __init__(self, character: str) -> None:
            super().__init__()
            self.character = character

    def action_cursor_up(self) -> None:
        if self.highlighted in (None, 0):
            self.post_message(self.LeftTop())
            return
        super().action_cursor_up()

    def on_key(self, event: events.Key) -> None:
        if not event.is_printable or event.character is None:
            return
        mine = {key for key, active in self.screen.active_bindings.items()
                if active.node is self.screen or active.node is self}
        if event.key not in mine:
            event.stop()
            event.prevent_default()
            self.post_message(self.TypedToSearch(event.character))


class HistoryScreen(Screen[str | None]):
    """Stored sessions, most recently active first: title (the first prompt unless
    renamed), when, the last turn's status, turns and the models that answered.

    Keys:
        Typing: search prompts and answers (every word, the last as a prefix); the search
        box has focus when the screen opens, ``/`` (or any letter typed in the list) goes
        back to it. Down / PgDn from the search box enter the list.
        Up, Down, PgUp, PgDn, Home, End: move in the list (Home/End to the first/last row
        loaded; more rows load as the highlight or the view nears the end).
        Enter: reopen the highlighted session (from the search box: the first row).
        d: delete the highlighted session, after a confirmation (Enter/y deletes, Esc/n keeps).
        r: rename it (an input under the list, prefilled; Enter saves, Esc cancels).
        Esc: close without choosing.

    Result (``dismiss``): the chosen session's id (``str``), or None when closed without
    choosing. Push it with a callback, or ``await app.push_screen_wait(...)`` from a worker.
    A StoreError (locked, damaged, deleted under us) is shown as one line on the screen.

    Args:
        store: An open Store; the screen never closes it.
        page_size: Rows per page.
        now: The clock for relative dates (tests and snapshots fix it).
        debounce_s: Quiet time after a keystroke before the search runs.
    """

    DEFAULT_CSS = """
    HistoryScreen { layout: vertical; }
    HistoryScreen #history-head { height: 1; padding: 0 1; background: $panel; }
    HistoryScreen #history-heading { width: 1fr; text-style: bold; }
    HistoryScreen #history-keys { width: auto; color: $text-muted; }
    HistoryScreen #history-search { margin: 0 0; border: round $panel-lighten-2; }
    HistoryScreen #history-search:focus { border: round $accent; }
    HistoryScreen #history-status { height: 1; padding: 0 2; color: $text-muted; }
    HistoryScreen #history-status.-error { color: $text-error; }
    HistoryScreen SessionList {
        height: 1fr; max-height: 100%;
        border: round $panel-lighten-2;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    HistoryScreen SessionList:focus { border: round $accent; }
    HistoryScreen #history-rename-row { height: auto; display: none; }
    HistoryScreen #history-rename-row.-open { display: block; }
    HistoryScreen #history-rename-row Label { padding: 1 1 0 1; }
    HistoryScreen #history-rename { width: 1fr; border: round $accent; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="history.close"),
        Binding("d", "delete", "Delete", id="history.delete"),
        Binding("r", "rename", "Rename", id="history.rename"),
        Binding("slash", "search", "Search", id="history.search"),
        Binding("down", "enter_list('down')", "List", show=False, id="history.enter_list"),
        Binding("pagedown", "enter_list('page_down')", "List", show=False,
                id="history.enter_list_page"),
    ]

    def __init__(
        self,
        store: Store,
        *,
        page_size: int = PAGE_SIZE,
        now: Callable[[], float] = time.time,
        debounce_s: float = SEARCH_DEBOUNCE_S,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.store = store
        self.page_size = page_size
        self.now = now
        self.debounce_s = debounce_s
        self._search = ""
        # The summaries behind the rows, by option index.
        self._rows: list[SessionSummary] = []
        self._next_offset = 0
        self._exhausted = False
        self._page_worker: Worker[None] | None = None
        # Enter in the search box before the debounce ran: open the first match once loaded.
        self._choose_first = False
        # Bumped by every new search: a page that arrives for an older one is dropped.
        self._generation = 0
        self._debounce: Timer | None = None
        self._renaming: str | None = None

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="history-head"):
            yield Label("History", id="history-heading")
            yield Label("Enter opens · d deletes · r renames · Esc closes", id="history-keys")
        yield Input(placeholder="Search prompts and answers…", id="history-search")
        yield Static("Loading…", id="history-status", markup=False)
        yield SessionList(id="history-list", markup=False)
        with Horizontal(id="history-rename-row"):
            yield Label("New title:")
            yield Input(id="history-rename")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#history-search", Input).focus()
        self._page_worker = self._load_page(self._generation, 0)
        self.watch(self.session_list, "scroll_y", self._maybe_load_more, init=False)

    @property
    def session_list(self) -> SessionList:
        return self.query_one("#history-list", SessionList)

    @property
    def rows(self) -> list[SessionSummary]:
        """The sessions loaded so far, in display order."""
        return list(self._rows)

    def _say(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#history-status", Static)
        status.update(Content(neutralise_line(text)))
        status.set_class(error, "-error")

    # -- loading ---------------------------------------------------------------------------
    @work(exclusive=True, group="history-page", exit_on_error=False)
    async def _load_page(self, generation: int, offset: int) -> None:
        from loco_tui.store import StoreError

        try:
            page = await self.store.sessions(self.page_size, offset, self._search or None)
        except StoreError as exc:
            if generation == self._generation:
                self._say(f"History unavailable: {exc}", error=True)
            return
        if generation != self._generation:
            return
        self._apply_page(page, offset)

    def _apply_page(self, page: list[SessionSummary], offset: int) -> None:
        list_ = self.session_list
        if offset == 0:
            list_.clear_options()
            self._rows = []
        known = {row.id for row in self._rows}
        # A session created or deleted elsewhere between two pages shifts the offsets:
        # never show one session twice.
        fresh = [s for s in page if s.id not in known]
        now = self.now()
        list_.add_options(Option(session_row(s, now), id=s.id) for s in fresh)
        self._rows.extend(fresh)
        self._next_offset = offset + len(page)
        self._exhausted = len(page) < self.page_size
        self._say(self._status_text())
        if offset == 0 and self._choose_first:
            self._choose_first = False
            if self._rows:
                self.dismiss(self._rows[0].id)
                return
        if self._rows and list_.has_focus and list_.highlighted is None:
            list_.highlighted = 0
        # A short first page may not fill the view: keep loading until it does or ends.
        self.call_after_refresh(self._maybe_load_more)

    def _status_text(self) -> str:
        count = len(self._rows)
        more = "" if self._exhausted else "+"
        plural = "" if count == 1 else "s"
        if self._search:
            if not count:
                return f"No session matches “{self._search}”."
            verb = "matches" if count == 1 and not more else "match"
            return f"{count}{more} session{plural} {verb} “{self._search}”"
        if not count:
            return "No sessions yet: what you send from the workbench is kept here."
        return f"{count}{more} session{plural}, most recent first"

    def _maybe_load_more(self, *_: object) -> None:
        loading = self._page_worker is not None and self._page_worker.state in (
            WorkerState.PENDING, WorkerState.RUNNING)
        if self._exhausted or loading or not self.is_mounted:
            return
        list_ = self.session_list
        last_visible = int(list_.scroll_y) + list_.scrollable_content_region.height
        rows_seen = max(last_visible // ROW_LINES, (list_.highlighted or 0) + 1)
        if rows_seen + PREFETCH_ROWS >= len(self._rows):
            self._page_worker = self._load_page(self._generation, self._next_offset)

    @on(OptionList.OptionHighlighted, "#history-list")
    def _highlighted(self, _: OptionList.OptionHighlighted) -> None:
        self._maybe_load_more()

    # -- search ----------------------------------------------------------------------------
    @on(Input.Changed, "#history-search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(self.debounce_s, lambda: self._run_search(event.value))

    def _run_search(self, text: str, *, force: bool = False) -> None:
        self._debounce = None
        text = text.strip()
        if text == self._search and not force:
            return
        self._search = text
        self._generation += 1
        self._exhausted = False
        self._say("Searching…" if text else "Loading…")
        self._page_worker = self._load_page(self._generation, 0)

    @on(Input.Submitted, "#history-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None or event.value.strip() != self._search:
            # Enter before the pause: search now, and open the first match it finds.
            if self._debounce is not None:
                self._debounce.stop()
            self._choose_first = True
            self._run_search(event.value, force=True)
            return
        highlighted = self.session_list.highlighted
        index = highlighted if highlighted is not None else 0
        if index < len(self._rows):
            self.dismiss(self._rows[index].id)

    @on(SessionList.TypedToSearch)
    def _typed_to_search(self, event: SessionList.TypedToSearch) -> None:
        search = self.query_one("#history-search", Input)
        search.focus()
        search.insert_text_at_cursor(event.character)

    @on(SessionList.LeftTop)
    def _left_top(self) -> None:
        self.action_search()

    # -- actions ---------------------------------------------------------------------------
    def _highlighted_row(self) -> SessionSummary | None:
        index = self.session_list.highlighted
        if index is None or index >= len(self._rows):
            return None
        return self._rows[index]

    @on(OptionList.OptionSelected, "#history-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_id is not None:
            self.dismiss(event.option_id)

    def action_search(self) -> None:
        self.session_list.highlighted = None
        self.query_one("#history-search", Input).focus()

    async def action_enter_list(self, how: str) -> None:
        list_ = self.session_list
        if not self._rows:
            return
        list_.focus()
        if list_.highlighted is None:
            list_.highlighted = 0  # Down lands on the first row
        elif how == "page_down":
            await list_.run_action("page_down")

    def action_close(self) -> None:
        if self._renaming is not None:
            self._close_rename()
            return
        self.dismiss(None)

    def action_delete(self) -> None:
        summary = self._highlighted_row()
        if summary is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._delete(summary)

        self.app.push_screen(ConfirmDelete(summary), confirmed)

    @work(group="history-edit", exit_on_error=False)
    async def _delete(self, summary: SessionSummary) -> None:
        from loco_tui.store import StoreError

        try:
            await self.store.delete_session(summary.id)
        except StoreError as exc:
            self._say(f"Not deleted: {exc}", error=True)
            return
        list_ = self.session_list
        try:
            index = next(i for i, row in enumerate(self._rows) if row.id == summary.id)
        except StopIteration:
            return
        highlighted = list_.highlighted
        list_.remove_option_at_index(index)
        del self._rows[index]
        self._next_offset = max(self._next_offset - 1, 0)
        if self._rows:
            list_.highlighted = min(highlighted if highlighted is not None else 0,
                                    len(self._rows) - 1)
        self._say(f"Deleted “{title_of(summary)}”. " + self._status_text())
        self._maybe_load_more()

    def action_rename(self) -> None:
        summary = self._highlighted_row()
        if summary is None:
            return
        self._renaming = summary.id
        self.query_one("#history-rename-row").add_class("-open")
        field = self.query_one("#history-rename", Input)
        # Not cut with an ellipsis: what the person starts from becomes the stored title.
        field.value = one_line(summary.title or summary.first_prompt or "", 10 * TITLE_CHARS)
        field.cursor_position = len(field.value)
        field.focus()

    def _close_rename(self) -> None:
        self._renaming = None
        self.query_one("#history-rename-row").remove_class("-open")
        self.session_list.focus()

    @on(Input.Submitted, "#history-rename")
    def _rename_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._renaming is None:
            return
        self._rename(self._renaming, event.value)
        self._close_rename()

    @work(group="history-edit", exit_on_error=False)
    async def _rename(self, session_id: str, title: str) -> None:
        from loco_tui.store import StoreError

        try:
            await self.store.rename_session(session_id, title)
            summary = await self.store.session_summary(session_id)
        except StoreError as exc:
            self._say(f"Not renamed: {exc}", error=True)
            return
        for index, row in enumerate(self._rows):
            if row.id == session_id:
                self._rows[index] = summary
                self.session_list.replace_option_prompt_at_index(
                    index, session_row(summary, self.now()))
                break
        self._say(f"Renamed to “{title_of(summary)}”.")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Delete and rename act on the highlighted row: only offered from the list.
        if action in ("delete", "rename"):
            return isinstance(self.focused, SessionList) and self._highlighted_row() is not None
        searching = self.focused is not None and self.focused.id == "history-search"
        if action == "enter_list":
            return searching
        if action == "search":
            return not searching
        return True
