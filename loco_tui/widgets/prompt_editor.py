"""The prompt box: several lines, recall of earlier prompts, and $EDITOR for long ones."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import ClassVar

from textual import events, work
from textual.app import SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

from loco_tui.prompt_history import PromptHistory, Recall
from loco_tui.safe_text import neutralise

# Keys that insert a newline. Ctrl+J is what most terminals send for Ctrl+Enter, and the one
# key every terminal can report; Shift+Enter and Ctrl+Enter only arrive from terminals that
# speak the kitty keyboard protocol (Textual asks for it), elsewhere they read as Enter.
NEWLINE_KEYS = ("ctrl+j", "shift+enter", "ctrl+enter")
_KEY_NAMES = {"ctrl+j": "Ctrl+J", "shift+enter": "Shift+Enter", "ctrl+enter": "Ctrl+Enter"}
# Lines of text before the box stops growing and scrolls.
MAX_LINES = 8


def normalise_text(text: str) -> str:
    """Text from outside the keyboard (a paste, the editor's file, the history file) as the
    box holds it: Windows and old-Mac line ends become newlines, and any other control
    (an ANSI colour code copied with a traceback) becomes a visible stand-in, so nothing
    typed into the box can reach the terminal as a control sequence."""
    return neutralise(text.replace("\r\n", "\n").replace("\r", "\n"))


def _trimmed(text: str) -> str:
    """What is sent: blank lines before the first line and spaces after the last are
    dropped; indentation of the first line (a pasted code block) is kept."""
    lines = text.rstrip().split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


class PromptEditor(TextArea):
    """A multi-line prompt box that grows from one line to eight, then scrolls.

    Keys:
        Enter: send (posts :class:`PromptEditor.Submitted` and clears the box).
        Ctrl+J, and Shift+Enter / Ctrl+Enter where the terminal reports them: new line.
        Up on the first line / Down on the last line: the previous / next earlier prompt;
        past the newest, what was being typed comes back.
        Ctrl+E: edit the text in ``$VISUAL`` / ``$EDITOR`` (else ``vi``); the edited text
        comes back into the box, not sent.

    A bracketed paste arrives whole, newlines and all, and is never sent by itself. Typed
    letters (``q`` too) always go into the box: no app binding on a plain letter fires
    while it has focus.

    Messages:
        PromptEditor.Submitted: the text to send (never blank).

    Args:
        text: Initial text.
        history: Earlier prompts for Up/Down (kept as ``prompt_history``: ``history`` is
            TextArea's undo); sent prompts are added to it and saved off the event loop, a
            failed save said once in a notification. Default: ``PromptHistory.load()``, the
            data dir's ``prompts.json``.
        placeholder: Shown while the box is empty; the default says how to send and how to
            insert a newline.
        max_lines: Lines of text before the box scrolls instead of growing.
        clear_on_submit: Clear the box as Enter sends (the default). False leaves the text
            for the app to ``clear()`` once it has really started the run, so a prompt it
            refuses ("a run is in progress") stays where the person typed it.
    """

    DEFAULT_CSS = """
    PromptEditor {
        height: auto;
        min-height: 3;
        border: round $panel-lighten-2;
        padding: 0 1;
        background: $surface;
        &:focus {
            border: round $accent;
        }
        & .text-area--placeholder {
            color: $text-muted;
        }
    }
    """

    # Enter and the newline keys are handled in ``_on_key``, in the order keys arrive; these
    # bindings name them in the footer and the keys panel (and for key remapping).
    BINDINGS: ClassVar[list[BindingType]] = [
        # The placeholder says how to send and how to break a line: the footer has no room.
        Binding("enter", "submit", "Send", id="prompt_editor.submit", show=False),
        Binding("ctrl+j,ctrl+enter", "newline", "Newline", id="prompt_editor.newline",
                show=False),
        Binding("shift+enter", "newline('shift+enter')", "Newline", show=False,
                id="prompt_editor.newline_shift"),
        # Replaces TextArea's Ctrl+E (end of line, which End still does).
        Binding("ctrl+e", "open_editor", "$EDITOR", id="prompt_editor.open_editor",
                show=False),
    ]

    class Submitted(Message):
        """Enter was pressed on a prompt that is not blank. Unless the editor was made with
        ``clear_on_submit=False``, the box is cleared already: an app that cannot send now
        gives the text back with ``event.editor.restore(event.text)``."""

        def __init__(self, editor: PromptEditor, text: str) -> None:
            super().__init__()
            self.editor = editor
            self.text = text

        @property
        def control(self) -> PromptEditor:
            return self.editor

    def __init__(
        self,
        text: str = "",
        *,
        history: PromptHistory | None = None,
        placeholder: str | None = None,
        max_lines: int = MAX_LINES,
        clear_on_submit: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(
            normalise_text(text),
            soft_wrap=True,
            show_line_numbers=False,
            highlight_cursor_line=False,
            tab_behavior="focus",
            name=name,
            id=id,
            classes=classes,
            disabled=disabled,
        )
        self.prompt_history = history if history is not None else PromptHistory.load()
        self.max_lines = max_lines
        self.clear_on_submit = clear_on_submit
        self._recall: Recall | None = None
        self._told_save_failed = False
        # Set once the terminal has reported Shift+Enter: it can be offered from then on.
        self._shift_enter_seen = False
        self._custom_placeholder = placeholder is not None
        self.placeholder = placeholder if placeholder is not None else self._default_placeholder()

    def on_mount(self) -> None:
        self.styles.max_height = self.max_lines + self.styles.gutter.height

    # -- what the app shows ----------------------------------------------------------------
    @property
    def newline_keys(self) -> tuple[str, ...]:
        """The keys that insert a newline here, as Textual names them (``ctrl+j`` first:
        the one every terminal reports)."""
        return NEWLINE_KEYS

    @property
    def newline_hint(self) -> str:
        """The newline key to tell people about: ``Ctrl+J``, or ``Shift+Enter`` once this
        terminal has shown that it reports it."""
        return "Shift+Enter" if self._shift_enter_seen else _KEY_NAMES["ctrl+j"]

    def _default_placeholder(self) -> str:
        # Short: the box is as narrow as a pane. Up and Ctrl+E are in the footer.
        return f"Ask the models…  Enter sends · {self.newline_hint} new line"

    # -- actions -----------------------------------------------------------------------------
    def action_submit(self) -> None:
        text = _trimmed(self.text)
        if not text:
            return
        if self.prompt_history.add(text):
            self._save_history()
        self._recall = None
        if self.clear_on_submit:
            self.clear()
        self.post_message(self.Submitted(self, text))

    @work(group="prompt-history", exit_on_error=False)
    async def _save_history(self) -> None:
        # fsync can take tens of ms on a busy disk: never on the event loop.
        saved = await asyncio.to_thread(self.prompt_history.save)
        error = self.prompt_history.error
        if not saved and error and not self._told_save_failed:
            self._told_save_failed = True  # once: a read-only home stays read-only
            self.notify(neutralise(error), title="Prompt history", severity="warning",
                        markup=False)

    def action_newline(self, key: str = "") -> None:
        if key == "shift+enter" and not self._shift_enter_seen:
            self._shift_enter_seen = True
            if not self._custom_placeholder:
                self.placeholder = self._default_placeholder()
        self.replace("\n", *self.selection)

    def restore(self, text: str) -> None:
        """Put ``text`` back in the box (a prompt the app could not send), cursor at its end."""
        self.load_text(normalise_text(text))
        self.move_cursor(self.document.end)

    def action_cursor_up(self, select: bool = False) -> None:
        if not select and self._on_first_row() and self._recall_step(older=True):
            return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if not select and self._on_last_row() and self._recall_step(older=False):
            return
        super().action_cursor_down(select)

    def _on_first_row(self) -> bool:
        # Visual rows: Up inside a long wrapped first line still moves the cursor.
        return self.navigator.is_first_wrapped_line(self.cursor_location)

    def _on_last_row(self) -> bool:
        return self.navigator.is_last_wrapped_line(self.cursor_location)

    def _recall_step(self, *, older: bool) -> bool:
        """Show the previous (or next) earlier prompt; False when there is none."""
        if self._recall is None:
            if not older:
                return False
            self._recall = Recall(self.prompt_history.prompts)
        text = self._recall.older(self.text) if older else self._recall.newer(self.text)
        if text is None:
            return False
        self.load_text(normalise_text(text))
        if older:
            # On the first row, at the end of it: another Up goes further back at once,
            # and a one-line prompt is ready to be added to, as in a shell.
            self.move_cursor((0, len(self.document[0])))
            if not self._on_first_row():
                self.move_cursor((0, 0))
        else:
            self.move_cursor(self.document.end)
        if not self._recall.active:
            self._recall = None
        return True

    # -- $EDITOR ---------------------------------------------------------------------------
    def action_open_editor(self) -> None:
        command = editor_command()
        handle, name = tempfile.mkstemp(prefix="loco-prompt-", suffix=".md")
        path = Path(name)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(self.text)
            try:
                with self.app.suspend():
                    # The app is suspended: the editor owns the terminal until it exits.
                    result = subprocess.run([*command, str(path)], check=False)
            except SuspendNotSupported:
                self.notify("No terminal to hand to an editor here (a browser or a test): "
                            "edit in the box instead.", title="Ctrl+E", severity="warning",
                            markup=False)
                return
            except OSError as exc:
                self.notify(f"Could not start {shlex.join(command)}: {exc.strerror or exc}",
                            title="Ctrl+E", severity="error", markup=False)
                return
            if result.returncode != 0:
                self.notify(f"{shlex.join(command)} exited with status {result.returncode}: "
                            "the prompt is unchanged.", title="Ctrl+E", severity="warning",
                            markup=False)
                return
            edited = path.read_text(encoding="utf-8", errors="replace")
        finally:
            path.unlink(missing_ok=True)
        # Editors end a file with a newline the person did not mean as part of the prompt.
        if edited.endswith("\n"):
            edited = edited[:-1]
        self.restore(edited)
        self.focus()

    # -- pastes and terminal keys ----------------------------------------------------------
    async def _on_key(self, event: events.Key) -> None:
        # Not priority bindings: the app runs those as a key arrives, before the characters
        # typed just ahead of it (a fast typist, tmux send-keys, a terminal's burst) have
        # reached the text, and Enter would send a prompt missing its last words.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.action_newline(event.key)
            return
        await super()._on_key(event)

    async def _on_paste(self, event: events.Paste) -> None:
        # Whole, newlines and all, and never sent: Enter is a key, a paste is not.
        event.prevent_default()
        event.stop()
        if self.read_only:
            return
        if result := self._replace_via_keyboard(normalise_text(event.text), *self.selection):
            self.move_cursor(result.end_location)
        self.focus()


def editor_command() -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, else ``vi``, split as a shell would (``code --wait``)."""
    for variable in ("VISUAL", "EDITOR"):
        value = os.environ.get(variable, "").strip()
        if value:
            try:
                return shlex.split(value)
            except ValueError:
                return [value]
    return ["vi"]
