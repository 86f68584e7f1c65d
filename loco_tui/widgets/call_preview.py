"""The tool calls of one reply: each call as it forms, then final, with its schema check.

A member's parse events drive it (``CallPreview.apply(kind, detail)``): ``call_delta`` shows
a call forming (its name and the arguments so far), ``call`` replaces the preview with the
final call, ``schema_check`` adds the verdict of the tools offered (✓ fits, or each problem),
``retract`` drops calls that turned out to be reasoning. ``show_call`` does the same for a
caller that has the values already.

Everything shown comes from a model: names and values are neutralised and assembled as
``Content`` from plain strings, never parsed as markup. Arguments are pretty JSON, cut to a
few lines per call so a pane keeps room for the reply. Calls are shown, never run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from textual.content import Content
from textual.widgets import Static

from loco_tui.safe_text import neutralise, neutralise_line

__all__ = ["CallPreview", "PreviewCall", "render_calls"]

# Lines of pretty JSON shown per call before "… N more lines".
ARGUMENT_LINES = 8

_NAME = "bold"
_FORMING = "italic $text-muted"
_OK = "$success"
_BAD = "bold $error"
_JSON = "$text"
_MORE = "$text-muted"


@dataclass
class PreviewCall:
    """One call as far as it is known. ``native``: parsed by the server (its own index
    namespace); ``checked``: whether a schema check arrived; ``problems``: its messages."""

    index: int
    name: str
    arguments: dict[str, Any]
    native: bool = False
    final: bool = False
    format: str | None = None
    checked: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[bool, int]:
        return (self.native, self.index)


def pretty_arguments(arguments: Mapping[str, Any]) -> str:
    """The arguments as indented JSON (non-ASCII kept readable)."""
    try:
        return json.dumps(arguments, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(arguments)


def _status(call: PreviewCall) -> tuple[str, str]:
    if not call.final:
        return ("forming…", _FORMING)
    if not call.checked:
        return ("final", _MORE)
    if not call.problems:
        return ("✓ fits its schema", _OK)
    n = len(call.problems)
    return (f"✗ {n} problem{'' if n == 1 else 's'}", _BAD)


def render_call(call: PreviewCall, max_lines: int = ARGUMENT_LINES) -> Content:
    """One call: a head line (name, dialect, status), its arguments, its problems."""
    label, style = _status(call)
    where = "native" if call.native else call.format
    parts: list[str | tuple[str, str]] = [
        ("⚙ ", _NAME), (neutralise_line(call.name) or "?", _NAME)]
    if where:
        parts.append((f" · {neutralise_line(where)}", _MORE))
    parts.append((f" · {label}", style))
    lines = pretty_arguments(call.arguments).splitlines()
    shown = lines if len(lines) <= max_lines else lines[: max(max_lines - 1, 1)]
    for line in shown:
        parts += ["\n", ("  " + neutralise(line), _JSON)]
    if len(shown) < len(lines):
        parts += ["\n", (f"  … {len(lines) - len(shown)} more lines", _MORE)]
    for problem in call.problems:
        parts += ["\n", ("  ✗ " + neutralise_line(problem), _BAD)]
    return Content.assemble(*parts)


def render_calls(calls: Iterable[PreviewCall], max_lines: int = ARGUMENT_LINES) -> Content:
    """Every call, the server's first, then the text's in order, one block each."""
    ordered = sorted(calls, key=lambda c: (not c.native, c.index))
    return Content("\n").join(render_call(c, max_lines) for c in ordered)


def _index(detail: Mapping[str, Any]) -> int | None:
    index = detail.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else None


def _arguments(detail: Mapping[str, Any]) -> dict[str, Any]:
    arguments = detail.get("arguments")
    return dict(arguments) if isinstance(arguments, Mapping) else {}


class CallPreview(Static):
    """The tool calls of one member's reply, as they form and once checked.

    Hidden until a call shows up. Feed it the member's parse events with ``apply``; or
    ``show_call`` directly; ``reset`` for a new reply (a fallback's next model too).
    """

    DEFAULT_CSS = """
    CallPreview {
        height: auto;
        max-height: 14;
        overflow-y: auto;
        border-top: dashed $panel-lighten-2;
        padding: 0 1;
        display: none;
    }
    CallPreview.-shown { display: block; }
    """

    def __init__(self, *, max_lines: int = ARGUMENT_LINES, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        self.max_lines = max_lines
        self._calls: dict[tuple[bool, int], PreviewCall] = {}

    @property
    def calls(self) -> list[PreviewCall]:
        """The calls shown, in the order shown."""
        return sorted(self._calls.values(), key=lambda c: (not c.native, c.index))

    def show_call(self, index: int, name: str, arguments: Mapping[str, Any], *,
                  final: bool = False, problems: Sequence[str] | None = None,
                  native: bool = False, format: str | None = None) -> None:
        """Show call ``index`` (of the text's calls, or of the server's with ``native``):
        forming, or ``final``; ``problems`` (messages) once its schema check is known
        (an empty list: it fits). A final call is never replaced by a later preview."""
        key = (native, index)
        call = self._calls.get(key)
        if call is not None and call.final and not final:
            return
        if call is None:
            call = self._calls[key] = PreviewCall(index, name, dict(arguments), native)
        call.name, call.arguments, call.final = name, dict(arguments), final or call.final
        call.native = native
        if format is not None:
            call.format = format
        if problems is not None:
            call.checked, call.problems = True, list(problems)
        self._refresh_calls()

    def apply(self, kind: str, detail: Mapping[str, Any]) -> bool:
        """Take one parse event of the member (``Parse.kind``, ``Parse.detail``); whether it
        changed what is shown."""
        native = bool(detail.get("native"))
        index = _index(detail)
        if kind == "call_delta" and index is not None:
            self.show_call(index, str(detail.get("name") or ""), _arguments(detail),
                           format=_str(detail.get("format")))
            return True
        if kind == "call":
            if index is None:  # a native call from a Loco that did not number them
                index = sum(1 for c in self._calls.values() if c.native == native)
            self.show_call(index, str(detail.get("name") or ""), _arguments(detail),
                           final=True, native=native, format=_str(detail.get("format")))
            return True
        if kind == "schema_check" and index is not None:
            problems = detail.get("problems")
            messages = [str(p.get("message", "")) for p in problems
                        if isinstance(p, Mapping)] if isinstance(problems, list) else []
            call = self._calls.get((native, index))
            if call is None:
                self.show_call(index, str(detail.get("name") or ""), {}, final=True,
                               problems=messages, native=native,
                               format=_str(detail.get("format")))
            else:
                call.checked, call.problems = True, messages
                self._refresh_calls()
            return True
        if kind == "retract":
            # Calls read before a lone </think> were reasoning: the text's calls go.
            for key in [k for k in self._calls if not k[0]]:
                del self._calls[key]
            self._refresh_calls()
            return True
        return False

    def reset(self) -> None:
        self._calls.clear()
        self._refresh_calls()

    def _refresh_calls(self) -> None:
        self.set_class(bool(self._calls), "-shown")
        self.update(render_calls(self._calls.values(), self.max_lines) if self._calls
                    else Content(""))


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
