"""The public streaming parser: ``StreamParser.feed(chunk)`` / ``finish()``, and the whole-text
shortcuts ``parse_tool_calls``, ``parse_response`` and ``classify_response``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .classify import classify_text
from .previews import Previewer
from .regions import Mode
from .scanner import Scanner
from .types import ParseEvent, ParseResult, ResponseKind, ToolCall

# Chunks are buffered until something that can close a marker or a value arrives (``>``, ``}``,
# ``]``, a second backtick in a row), a chunk of QUIET_MAX characters or more arrives, or
# PEND_MAX chunks are waiting. Token-sized chunks then cost an append, not a scan, and events
# still come out as soon as a call has closed.
QUIET_MAX = 64
_PEND_MAX = 1024
_PREVIEW_PEND_MAX = 16
_SPECIAL1 = frozenset(">}]`")
_LOUD = re.compile(r"[>}\]`]")
_FLUSH = re.compile(r"[>}\]]|``")


def _as_text(chunk: object) -> str:
    if isinstance(chunk, str):
        return chunk
    if isinstance(chunk, (bytes, bytearray)):
        return bytes(chunk).decode("utf-8", "replace")
    return "" if chunk is None else str(chunk)


class StreamParser:
    """Reads one model output as it streams.

    ``feed(chunk)`` returns the parse events that became certain with this chunk (a recognised
    format, a started or completed call, a repair, a skipped think-block); ``finish()`` resolves
    whatever the end of the text decides (a truncated call, a held-back marker prefix) and
    returns the ``ParseResult``. Any split of a text gives the same result and the same trace as
    the whole text. Neither method raises on any input.

    ``known_tools``: the tool names the caller offered the model. When given, calls in weak
    dialects (bare or fenced JSON, pythonic lists, XML-ish tags, ReAct, prose) must name one of
    them, and prose such as "call read_file with path='x'" is read for them.

    ``tools``: name -> JSON Schema of the tool's parameters. XML dialects type their string
    values by it, as their reference parsers do; its names stand for ``known_tools`` when that
    is not given.

    ``previews``: ``feed`` also returns ``call_delta`` events while a call streams (see
    ``previews.py``); they are not part of the trace, so the result is the same either way."""

    def __init__(self, known_tools: Iterable[str] | None = None, *,
                 tools: Mapping[str, Mapping[str, Any]] | None = None,
                 previews: bool = False) -> None:
        known = None
        if known_tools is None and tools is not None:
            known_tools = list(tools)
        if known_tools is not None:
            known = frozenset(t for t in known_tools if isinstance(t, str) and t)
        schemas = dict(tools) if tools is not None else None
        self._sc = Scanner(known, schemas=schemas)
        self._previews = Previewer(self._sc) if previews else None
        self._pend: list[str] = []
        self._nev = 0
        self._result: ParseResult | None = None
        self._broken: str | None = None
        # ``feed`` is a closure over locals: one-character chunks (the worst case of streaming)
        # then cost a call and an append, with no attribute look-ups.
        pend = self._pend
        append = pend.append
        special = _SPECIAL1
        loud = _LOUD.search
        slow = self._feed
        # With previews, a call must be looked at while it streams, not only when a closing
        # character arrives: inside a call the chunks are pushed every few characters. The
        # limit sits in a one-item list the closure reads (cheaper than an attribute).
        limit = self._limit = [_PEND_MAX]
        quiet_max = QUIET_MAX

        def feed(chunk: str) -> list[ParseEvent]:
            try:
                if len(pend) < limit[0]:
                    n = len(chunk)
                    if n == 1:
                        if chunk not in special:
                            append(chunk)
                            return []
                    elif 1 < n < quiet_max and loud(chunk) is None:
                        append(chunk)
                        return []
            except TypeError:
                pass  # not a str: the slow path normalises it
            return slow(chunk)

        feed.__doc__ = StreamParser.feed.__doc__
        self.feed = feed  # type: ignore[method-assign]

    def feed(self, chunk: str) -> list[ParseEvent]:
        """Consume the next piece of output; return the events it made certain."""
        return self._feed(chunk)  # pragma: no cover - replaced per instance in __init__

    def _feed(self, chunk: str) -> list[ParseEvent]:
        if not chunk or self._result is not None:
            return []
        if type(chunk) is not str:
            chunk = _as_text(chunk)
        pend = self._pend
        prev = pend[-1][-1:] if pend else ""
        pend.append(chunk)
        if len(pend) < self._limit[0] and len(chunk) < QUIET_MAX and _FLUSH.search(chunk) is None \
                and not (chunk[0] == "`" and prev == "`"):
            return []
        return self._flush(False)

    def _flush(self, eof: bool) -> list[ParseEvent]:
        pend = self._pend
        try:
            text = pend[0] if len(pend) == 1 and type(pend[0]) is str else "".join(pend)
        except TypeError:
            text = "".join(_as_text(p) for p in pend)
        pend.clear()
        if self._result is not None:
            return []
        sc = self._sc
        if self._broken is None:
            try:
                sc.push(text, eof)
            except Exception as e:  # noqa: BLE001 - the parser must never raise on model output
                self._broken = f"{type(e).__name__}: {e}"
                sc.events.append(ParseEvent("error", None, {"message": self._broken}))
                sc.parts.append(sc.buf[sc.pos:])
                sc.buf, sc.pos, sc.region, sc.mode = "", 0, None, Mode.PROSE
        else:
            sc.parts.append(text)
        new = sc.events[self._nev:]
        self._nev = len(sc.events)
        if self._previews is not None and self._broken is None and not eof:
            try:
                new.extend(self._previews.after_push(new))
            except Exception:  # noqa: BLE001 - a preview is never worth raising for
                self._previews = None
            r = sc.region
            self._limit[0] = _PREVIEW_PEND_MAX if r is not None and r.started else _PEND_MAX
        return new

    def finish(self) -> ParseResult:
        if self._result is not None:
            return self._result
        self._flush(True)
        sc = self._sc
        calls = sorted(sc.calls, key=lambda c: c.offset if c.offset is not None else -1)
        text = "".join(sc.parts).strip()
        try:
            kind, reason = classify_text(text, len(calls))
        except Exception:  # noqa: BLE001 - never raise
            kind, reason = (ResponseKind.TOOL_CALL if calls else ResponseKind.PROSE), "fallback"
        sc.events.append(ParseEvent("classification", None, {"kind": str(kind), "reason": reason}))
        self._nev = len(sc.events)
        self._result = ParseResult(calls, kind, list(sc.events), text,
                                   "\n".join(r.strip() for r in sc.reasoning if r.strip()))
        return self._result

    @property
    def events(self) -> list[ParseEvent]:
        """Every event so far."""
        return list(self._sc.events)


def parse_response(text: str, known_tools: Iterable[str] | None = None, *,
                   tools: Mapping[str, Mapping[str, Any]] | None = None) -> ParseResult:
    """The whole reading of a complete output (same as feeding it whole, then finishing)."""
    p = StreamParser(known_tools, tools=tools)
    p.feed(text if isinstance(text, str) else str(text))
    return p.finish()


def parse_tool_calls(text: str, known_tools: Iterable[str] | None = None, *,
                     tools: Mapping[str, Mapping[str, Any]] | None = None) -> list[ToolCall]:
    """The tool calls in a complete model output, in order of appearance. Never raises."""
    return parse_response(text, known_tools, tools=tools).tool_calls


def classify_response(text: str, known_tools: Iterable[str] | None = None, *,
                      tools: Mapping[str, Mapping[str, Any]] | None = None) -> ResponseKind:
    """What kind of answer ``text`` is (think-blocks skipped, tool calls recognised)."""
    return parse_response(text, known_tools, tools=tools).kind
