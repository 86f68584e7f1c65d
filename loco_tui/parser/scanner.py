"""The incremental scanner behind ``StreamParser``.

How it stays linear and split-proof:

* The scanner keeps only the text it has not decided yet (``buf``) and an absolute offset
  (``base``). Everything decided is moved out: visible text into ``parts``, the body of an open
  region (a ``<tool_call>``, a JSON object, a fence, a think-block) into the region's own list.
* Every step decides from text it has fully seen. When a decision needs text that has not
  arrived (a marker cut in half: ``<tool_ca``, ``[TOOL_CAL``, a bare word inside JSON, the head
  of ``name[ARGS]``), the step stops and keeps that suffix; the next chunk resumes at the same
  place. What may be kept is bounded (a marker, a token, a closer's length), so no text is
  scanned more than a bounded number of times.
* A call is committed at its closing delimiter, or in ``finish`` (end of text) with the same code
  the whole-text path uses. So feeding any split of a text gives the same calls, visible text and
  trace as feeding it whole.

Regions and what closes them:

=========  ===========================================================================
JSON       a bare ``{``/``[{`` or the JSON after ``[TOOL_CALLS]``, ``<|tool_call|>``,
           ``<|python_tag|>``: an incremental lenient tokenizer finds where it balances, and
           gives up (the text is prose) on the first token JSON cannot have there.
PY         ``[name(k=v), ...]`` at a line start, or ``name.call(...)`` after ``<|python_tag|>``.
TAG        anything closed by a marker: think-blocks, fences, ``<tool_call>``-like wrappers,
           ``<function=name>``, DeepSeek's ``<｜tool▁calls▁begin｜>``, ``<tool>/<params>``,
           ``<tool_name><arg>v</arg></tool_name>``. The body of a wrapper is parsed again as a
           small document of its own (``payload``) when the region closes.
AFTER      the look-ahead that follows a marker (what kind of call comes next?).
=========  ===========================================================================

What each marker means (opener, what it holds, closer, extractor) is one entry of
``dialects.DIALECTS``; the extractors are in ``extractors``, the tokenizers in ``tokenizers``,
the state records (``Mode``, ``Region``) in ``regions``.
"""


from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from .calls import Found, clean_args, extract_calls, valid_name
from .dialects import (
    BRACKETS,
    DATA_LANGS,
    FUNCTIONARY_CODE,
    HARMONY_CALL,
    HARMONY_THINK_END,
    HTML_TAGS,
    WEAK_FORMATS,
    Dialect,
    Holds,
    tag_dialect,
)
from .extractors import fence_calls, json_format, params_calls, xmltag_calls
from .jsonrepair import RepairError, repair_loads
from .prose import LineTracker
from .pythonic import parse_pythonic
from .regions import After, Candidate, Kind, Mode, Region
from .tokenizers import (
    T_ABORT,
    T_DONE,
    T_NEED,
    JsonTokenizer,
    PyTokenizer,
    callish_of,
    fast_json,
)
from .types import ParseEvent, ToolCall

# What an opener returns when the text does not yet tell whether it opens anything.
_NEED = "need"
MAX_NEST = 4
MAX_RESCANS = 3
MAXTAG = 160

_TRIGGER = re.compile(r"[<\[{`>]")
_FUNCTOOLS_TAIL = re.compile(r"f(?:u(?:n(?:c(?:t(?:o(?:o(?:l(?:s)?)?)?)?)?)?)?)?\Z")
_FUNCTIONARY = re.compile(r">>>[ \t]*([A-Za-z_][\w.\-]{0,100})[ \t]*\n")
_FUNCTIONARY_PART = re.compile(r">{1,3}(?:[ \t]*[A-Za-z_][\w.\-]{0,100}[ \t]*)?\Z")
_FUNCTIONARY_START = re.compile(r"(all|[A-Za-z_][\w.\-]{0,100})[ \t]*\n")
_SENTENCE_END = re.compile(r"[.!?:][ \t]+\Z")
_WS = re.compile(r"[ \t\r\n]*")
_XMLTAG = re.compile(r"<([A-Za-z_][\w\-]{0,63})>\Z")
_TOOL_OPEN = "<tool>"
_PARAMS_OPEN = re.compile(r"<(params|parameters|arguments|args|tool_input|input)>")
_PARAMS_PARTIAL = re.compile(r"<[a-z_]{0,12}\Z")
_LIST_JSON = re.compile(r"\[[ \t\r\n]{0,64}\{")
_LIST_JSON_PART = re.compile(r"\[[ \t\r\n]{0,64}\Z")
_PYLIST = re.compile(r"\[[ \t]{0,20}[A-Za-z_][\w.]{0,100}[ \t]{0,5}\(")
_PYLIST_PART = re.compile(r"\[[ \t]{0,20}(?:[A-Za-z_][\w.]{0,100}[ \t]{0,5})?\Z")
_PYEXPR = re.compile(r"[A-Za-z_][\w.]{0,100}[ \t]{0,5}\(")
_PYEXPR_PART = re.compile(r"[A-Za-z_][\w.]{0,100}[ \t]{0,5}\Z")
_MISTRAL_HEAD = re.compile(
    r"([A-Za-z_][\w.\-]{0,100})[ \t]*(?:\[CALL_ID\][ \t]*([\w\-]{0,64})[ \t]*)?(\[ARGS\])?[ \t]*"
)
_BACKTICKS = re.compile(r"`+")
_HARMONY_CHANNEL = re.compile(r"\A\s*(\w+)")
_HARMONY_IN_ROLE = re.compile(r"<\|channel\|>\s*(\w+)")
_HARMONY_TO = re.compile(r"\bto=functions\.([^<\s]+)")
_LANG = re.compile(r"[ \t]{0,8}([\w+#.\-]{0,32})")


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"


def _ws_end(buf: str, pos: int) -> int:
    m = _WS.match(buf, pos)
    assert m is not None  # the pattern matches the empty string
    return m.end()


@functools.lru_cache(maxsize=512)
def _closer(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


class Scanner:
    """One document being scanned. ``push(text, eof)`` consumes text; see the module doc."""

    def __init__(self, known: frozenset[str] | None = None, *, base: int = 0, nest: int = 0,
                 payload: str | None = None, lang: str | None = None,
                 schemas: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.known = known
        self.schemas = schemas
        # Functionary v3.2 is prompted with ">>>" already written: its output may open with
        # "all\n" (text follows) or "name\n{...}" (a call), decided once at the very start.
        self.start_open = nest == 0 and payload is None and lang is None and base == 0
        self.base = base
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.mode = Mode.PROSE
        self.region: Region | None = None
        self.after: After | None = None
        self.events: list[ParseEvent] = []
        self.calls: list[ToolCall] = []
        self.parts: list[str] = []
        self.reasoning: list[str] = []
        self.ls_mark = 0  # parts before this index do not count for line starts
        self.nest = nest
        self.payload = payload  # dialect of the enclosing marker, None at top level
        self.lang = lang  # language of the enclosing data fence
        self.think_seen = False
        self.rescans = 0
        self.lines = LineTracker(known, self._commit_line) if payload is None and lang is None \
            else None
        # Indexed by Mode.
        self._steps = (self._prose, self._tag, self._json, self._py, self._after)

    # -- driving ---------------------------------------------------------------------------

    def push(self, text: str, eof: bool = False) -> None:
        if self.pos:
            self.base += self.pos
            self.buf = self.buf[self.pos:] + text
            self.pos = 0
        elif text:
            self.buf = self.buf + text if self.buf else text
        self.eof = eof
        steps = self._steps
        while steps[self.mode]():
            pass
        if eof and self.lines is not None:
            self.lines.finish()
            self._prose_calls()

    # -- output helpers ----------------------------------------------------------------------

    def _ev(self, kind: str, offset: int | None, **detail: Any) -> None:
        self.events.append(ParseEvent(kind, offset, detail))

    def _text(self, s: str, off: int, lines: bool = True) -> None:
        if not s:
            return
        self.parts.append(s)
        if self.lines is not None:
            if lines:
                self.lines.add(s, off)
            else:
                self.lines.brk()

    def _at_line_start(self) -> bool:
        """Only whitespace since the last newline of the visible text (or since a think-block)?"""
        parts = self.parts
        k = len(parts) - 1
        while k >= self.ls_mark:
            p = parts[k]
            nl = p.rfind("\n")
            if nl >= 0:
                return nl == len(p) - 1 or p[nl + 1:].isspace()
            if not p.isspace():
                return False
            k -= 1
        return True

    def _markup(self) -> None:
        """Removed markup interrupts the visible text."""
        if self.lines is not None:
            self.lines.brk()

    def _commit(self, f: Found, fmt: str, start: int, end: int, fixes: list[str]) -> bool:
        if self.known is not None and fmt in WEAK_FORMATS and f.name not in self.known:
            self._ev("rejected", start, format=fmt, name=f.name, reason="unknown tool")
            return False
        notes = (n for n in f.notes if n not in ("arguments_string", "string_input"))
        repaired = list(dict.fromkeys([*fixes, *notes]))
        call = ToolCall(f.name, f.arguments, fmt, tuple(repaired), start, f.id)
        self.calls.append(call)
        if repaired:
            self._ev("repair", start, format=fmt, name=f.name, fixes=repaired)
        detail: dict[str, Any] = {"index": len(self.calls) - 1, "name": f.name,
                                  "arguments": f.arguments, "format": fmt, "span": [start, end]}
        if f.id is not None:
            detail["id"] = f.id
        if repaired:
            detail["repaired"] = repaired
        self._ev("call", start, **detail)
        return True

    def _commit_line(self, f: Found, fmt: str, start: int, end: int) -> None:
        """ReAct calls commit at the end of their input; prose calls wait for finish."""
        if fmt == "react":
            self._commit(f, fmt, start, end, [])

    def _prose_calls(self) -> None:
        assert self.lines is not None
        if self.calls or not self.lines.prose:
            return
        seen: set[str] = set()
        for f, start, end in self.lines.prose:
            key = f.name + json.dumps(f.arguments, sort_keys=True, default=str)
            if key in seen:
                continue
            seen.add(key)
            self._ev("format", start, format="prose")
            self._commit(f, "prose", start, end, [])

    # -- PROSE -----------------------------------------------------------------------------

    def _prose(self) -> bool:
        if self.start_open:
            r0 = self._open_start()
            if r0 is _NEED:
                return False
            if r0:
                return True
        buf = self.buf
        pos = self.pos
        run = pos  # start of the visible run not yet emitted
        n = len(buf)
        search = _TRIGGER.search
        while pos < n:
            m = search(buf, pos)
            if m is None:
                pos = n
                break
            i = m.start()
            if i + 1 < n and not self._plausible(buf, i, run):
                pos = i + 1
                continue
            if buf[i] == "[" and i - 9 >= run and buf.startswith("functools", i - 9) and \
                    not _is_word(self._char_before(buf, i - 9)):
                k = i - 9
                if k > run:
                    self._text(buf[run:k], self.base + run)
                r = self._open_functools(k, i)
                if r is _NEED:
                    self.pos = k
                    return False
                if r:
                    return True
                run = k
            if i > run:
                self._text(buf[run:i], self.base + run)
            run = i
            r = self._open_at(i)
            if r is _NEED:
                self.pos = i
                return False
            if r:
                return True
            pos = run = i + 1
            self._text(buf[i], self.base + i)
        if not self.eof:
            # Hold back what may be the start of Phi-4-mini's "functools[" until it is settled.
            tail = _FUNCTOOLS_TAIL.search(buf, max(run, n - 9))
            if tail is not None:
                pos = tail.start()
        if pos > run:
            self._text(buf[run:pos], self.base + run)
        self.pos = pos
        return False

    def _char_before(self, buf: str, k: int) -> str:
        """The visible character before ``buf[k]`` (from the text already emitted if need be)."""
        if k > 0:
            return buf[k - 1]
        for p in reversed(self.parts):
            if p:
                return p[-1]
        return ""

    def _visible_tail(self, buf: str, run: int, i: int, size: int) -> str:
        """The last ``size`` characters of visible text before ``buf[i]`` (``buf[run:i]`` not
        emitted yet), not reaching back past a think-block."""
        tail = buf[max(run, i - size):i]
        k = len(self.parts) - 1
        while len(tail) < size and k >= self.ls_mark:
            tail = self.parts[k][-(size - len(tail)):] + tail
            k -= 1
        return tail

    def _after_sentence(self, buf: str, run: int, i: int) -> bool:
        """Does the visible text before ``buf[i]`` end a sentence ("I'll check. [f(x=1)]")?"""
        return _SENTENCE_END.search(self._visible_tail(buf, run, i, 12)) is not None

    def _open_start(self) -> Any:
        """Functionary v3.2's first segment, written without its ">>>" (the prompt has it)."""
        buf = self.buf
        m = _FUNCTIONARY_START.match(buf, self.pos)
        if m is None:
            if not self.eof and len(buf) - self.pos < 110 and "\n" not in buf[self.pos:]:
                return _NEED
            self.start_open = False
            return None
        name = m.group(1)
        if name != "all" and (self.known is None or name not in self.known):
            self.start_open = False
            return None
        r = self._open_segment(self.pos, m.end(), name, ">>>" + name)
        if r is not _NEED:
            self.start_open = False
        return r

    def _open_functionary(self, i: int) -> Any:
        """``>>>name\n{json}`` (Functionary v3.2): a call; ``>>>all\n``: text follows."""
        buf = self.buf
        m = _FUNCTIONARY.match(buf, i)
        if m is None:
            pm = _FUNCTIONARY_PART.match(buf, i)
            if pm is not None and pm.end() == len(buf) and not self.eof:
                return _NEED
            return None
        return self._open_segment(i, m.end(), m.group(1), buf[i:m.end()].rstrip())

    def _open_segment(self, i: int, j: int, name: str, marker: str) -> Any:
        """A Functionary segment for ``name`` whose header spans ``buf[i:j]``."""
        buf = self.buf
        n = len(buf)
        a = self.base + i
        if name == "all":
            self._ev("format", a, format="functionary_v32", marker=marker)
            self._markup()
            self.pos = j
            return True
        k = _ws_end(buf, j)
        if k == n and not self.eof:
            return _NEED if k - j < 64 else None
        if k < n and buf[k] == "{":
            self._ev("format", a, format="functionary_v32", marker=marker)
            self._ev("call_started", a, format="functionary_v32", name=name)
            self._start_json(k, i, dialect="functionary_v32", lenient=True, marker=True,
                             name=name)
            return True
        if name == "python" and k < n:
            self._ev("format", a, format="functionary_v32", marker=marker)
            self._ev("call_started", a, format="functionary_v32", name=name)
            self._region(Region(Kind.CALLS, "functionary_v32", a, self.base + j, buf[i:j],
                                FUNCTIONARY_CODE.closer, FUNCTIONARY_CODE.hold, name=name,
                                started=True, marker=True, spec=FUNCTIONARY_CODE), j)
            return True
        return None

    def _open_functools(self, k: int, i: int) -> Any:
        """Phi-4-mini (and FireFunction v2): ``functools[{...}, ...]`` at ``buf[k:]``."""
        buf = self.buf
        if _LIST_JSON.match(buf, i):
            a = self.base + k
            self._ev("format", a, format="phi4_mini", marker="functools[")
            self._ev("call_started", a, format="phi4_mini")
            self._start_json(i, k, dialect="phi4_mini", lenient=True, marker=True)
            return True
        m = _LIST_JSON_PART.match(buf, i)
        if m is not None and m.end() == len(buf) and not self.eof:
            return _NEED
        return None

    def _plausible(self, buf: str, i: int, run: int) -> bool:
        """Cheap pre-check: can the trigger at ``i`` start anything? (``i + 1 < len(buf)``)"""
        c = buf[i]
        d = buf[i + 1]
        if c == "<":
            return d.isalpha() or d in "/|｜_"
        if c == "`":
            return d == "`"
        if c == ">":
            return d == ">"
        if c == "[":
            if d in "T/ \t\r\n{":
                return True
            if not (d.isalpha() or d == "_"):
                return False
            if self.payload is not None or self.lang == "tool_code":
                return True
            if self.lang is not None:
                return False
            # pythonic lists only at a line start or after a sentence
            nl = buf.rfind("\n", run, i)
            if nl >= 0:
                if buf[nl + 1:i].isspace() or nl + 1 == i:
                    return True
            elif (i == run or buf[run:i].isspace()) and self._at_line_start():
                return True
            return self._after_sentence(buf, run, i)
        return True

    def _open_at(self, i: int) -> Any:
        c = self.buf[i]
        if c == "<":
            return self._open_lt(i)
        if c == "{":
            self._start_json(i, i, dialect="", lenient=self.payload is not None, marker=False)
            return True
        if c == "[":
            return self._open_bracket(i)
        if c == ">":
            return self._open_functionary(i)
        return self._open_fence(i)

    def _open_lt(self, i: int) -> Any:
        buf = self.buf
        n = len(buf)
        if i + 1 >= n:
            return None if self.eof else _NEED
        c = buf[i + 1]
        if not (c.isalpha() or c in "/|｜_"):
            return None
        j = buf.find(">", i + 1, i + MAXTAG)
        if j < 0:
            if n < i + MAXTAG and not self.eof and buf.find("<", i + 1) < 0 and \
                    buf.find("\n", i + 1) < 0:
                return _NEED
            return None
        if buf.find("<", i + 1, j) >= 0 or buf.find("\n", i + 1, j) >= 0:
            return None
        return self._open_tag(buf[i:j + 1], i, j + 1)

    def _open_tag(self, tag: str, i: int, j: int) -> bool | None:
        a = self.base + i
        found = tag_dialect(tag)
        if found is not None:
            d, m = found
            return self._open_marker(d, m, tag, i, j)
        if tag.lower() == _TOOL_OPEN:
            self._region(Region(Kind.TOOL_NAME, "xml_tool", a, self.base + j, tag,
                                re.compile(r"</tool>", re.I), 6, max_len=160), j)
            return True
        m = _XMLTAG.match(tag)
        if m is not None:
            name = m.group(1)
            if (self.known is not None and name in self.known) or (
                self.known is None and "_" in name.strip("_") and name.lower() not in HTML_TAGS
            ):
                closer = _closer(re.escape(f"</{name}>"))
                self._region(Region(Kind.XMLTAG, "xml_tag", a, self.base + j, tag, closer,
                                    len(name) + 2, name=name, first="<"), j)
                return True
        return None

    def _open_marker(self, d: Dialect, m: re.Match[str] | None, marker: str, i: int,
                     j: int) -> bool | None:
        """Act on a table entry whose opener spans ``buf[i:j]``."""
        a = self.base + i
        holds = d.holds
        if holds is Holds.REASONING:
            self.think_seen = True
            self._region(Region(Kind.THINK, "think", a, self.base + j, marker, d.closer, d.hold),
                         j)
        elif holds is Holds.END_REASONING:
            self._lone_think_close(marker, i, j)
        elif holds is Holds.CALLS:
            name = None
            if d.named:
                assert m is not None
                name = m.group("a") or m.group("b")
                if not valid_name(name):
                    return None
            self._ev("format", a, format=d.name, marker=marker)
            if name is None:
                self._ev("call_started", a, format=d.name)
            else:
                self._ev("call_started", a, format=d.name, name=name)
            self._region(Region(Kind.CALLS, d.name, a, self.base + j, marker, d.closer, d.hold,
                                name=name, started=True, marker=True, spec=d), j)
        elif holds is Holds.HEADER:
            self._region(Region(Kind.HEADER, d.name, a, self.base + j, marker, d.closer, d.hold,
                                max_len=200), j)
        elif holds is Holds.NEXT:
            self._ev("format", a, format=d.name, marker=marker)
            self._markup()
            self.pos = j
            self.after = After(d.name, a)
            self.mode = Mode.AFTER
        else:
            self._markup()
            self.pos = j
        return True

    def _lone_think_close(self, tag: str, i: int, j: int) -> None:
        a = self.base + i
        self.pos = j
        self._markup()
        if self.think_seen or self.nest:
            return  # a stray closer: drop it
        # The template opened the reasoning (thinking_forced_open): all so far was reasoning.
        self.think_seen = True
        text = "".join(self.parts)
        self.reasoning.append(text)
        self.parts = []
        self.ls_mark = 0
        self._ev("think", 0, chars=len(text), closed=True, opened=False, marker=tag)
        if self.calls:
            self._ev("retract", a, reason="calls were inside reasoning", count=len(self.calls),
                     names=[c.name for c in self.calls])
            self.calls = []
        if self.lines is not None:
            self.lines.prose = []
            self.lines.action = None
            self.lines.pending = None

    def _open_bracket(self, i: int) -> Any:
        buf = self.buf
        n = len(buf)
        eof = self.eof
        for marker, d in BRACKETS:
            if buf.startswith(marker, i):
                return self._open_marker(d, None, marker, i, i + len(marker))
            if not eof and n - i < len(marker) and marker.startswith(buf[i:n]):
                return _NEED
        if _LIST_JSON.match(buf, i):
            self._start_json(i, i, dialect="", lenient=self.payload is not None, marker=False)
            return True
        m = _LIST_JSON_PART.match(buf, i)
        if m is not None and m.end() == n and not eof:
            return _NEED
        if self.payload is not None or self.lang == "tool_code" or (
                self.lang is None and (self._at_line_start()
                                       or self._after_sentence(buf, i, i))):
            if _PYLIST.match(buf, i):
                self._start_py(i, dialect="pythonic", bare=False)
                return True
            m = _PYLIST_PART.match(buf, i)
            if m is not None and m.end() == n and not eof:
                return _NEED
        return None

    def _open_fence(self, i: int) -> Any:
        buf = self.buf
        n = len(buf)
        m = _BACKTICKS.match(buf, i)
        assert m is not None  # buf[i] is a backtick
        k = m.end()
        if k == n and not self.eof:
            return _NEED
        cnt = k - i
        if cnt < 3:
            self._text(buf[i:k], self.base + i)
            self.pos = k
            return True
        lm = _LANG.match(buf, k)
        assert lm is not None  # the pattern matches the empty string
        if lm.end() == n and not self.eof:
            return _NEED
        lang = lm.group(1).lower()
        j = lm.end()
        a = self.base + i
        opener = buf[i:j]
        if lang in DATA_LANGS:
            closer = _closer("`" * cnt)
            self._region(Region(Kind.FENCE, "fenced_json", a, self.base + j, opener, closer, cnt,
                                 lang=lang), j)
        else:
            closer = _closer(r"\n[ \t]{0,12}" + "`" * cnt)
            self._region(Region(Kind.CODE, "code", a, self.base + j, opener, closer, cnt + 13,
                                 lang=lang), j)
        return True

    def _region(self, r: Region, j: int) -> None:
        if r.kind is Kind.CALLS or r.kind is Kind.THINK:
            self._markup()
        self.region = r
        self.mode = Mode.TAG
        self.pos = j

    def _start_json(self, i: int, start: int, *, dialect: str, lenient: bool, marker: bool,
                    name: str | None = None, call_id: str | None = None,
                    cont: str | None = None) -> None:
        a = self.base + i
        self.region = Region(Kind.JSON, dialect, self.base + start, a, self.buf[start:i],
                             tok=JsonTokenizer(lenient), lenient=lenient, marker=marker,
                             name=name, call_id=call_id, cont=cont, started=name is not None)
        self.mode = Mode.JSON
        self.pos = i

    def _start_py(self, i: int, *, dialect: str, bare: bool, cont: str | None = None) -> None:
        a = self.base + i
        self.region = Region(Kind.PY, dialect, a, a, tok=PyTokenizer(), marker=bare, cont=cont,
                             lenient=bare)
        self.mode = Mode.PY
        self.pos = i

    # -- TAG regions -------------------------------------------------------------------------

    def _tag(self) -> bool:
        r = self.region
        assert r is not None and r.closer is not None
        buf = self.buf
        pos = self.pos
        n = len(buf)
        if r.first:
            k = _ws_end(buf, pos)
            if k < n:
                if buf[k] not in r.first:
                    self._abort_region(r, reinsert=True)
                    return True
                r.first = ""
            elif not self.eof:
                return False
        m = r.closer.search(buf, pos)
        if r.max_len and r.size + ((m.start() if m is not None else n) - pos) > r.max_len and (
                m is not None or self.eof or r.size > r.max_len):
            # No closer within max_len characters: decided the same way whatever the split.
            self._abort_region(r, reinsert=True)
            return True
        if m is not None:
            piece = buf[pos:m.start()]
            r.parts.append(piece)
            r.size += len(piece)
            self.pos = m.end()
            self.region = None
            self.mode = Mode.PROSE
            self._close_tag(r, buf[m.start():m.end()], self.base + m.end(), closed=True)
            return True
        if self.eof:
            r.parts.append(buf[pos:])
            r.size += n - pos
            self.pos = n
            self.region = None
            self.mode = Mode.PROSE
            self._close_tag(r, "", self.base + n, closed=False)
            return True
        keep = max(pos, n - r.hold)
        if keep > pos:
            r.parts.append(buf[pos:keep])
            r.size += keep - pos
            self.pos = keep
        if r.max_len and r.size > r.max_len:
            self._abort_region(r, reinsert=True)
            return True
        return False

    def _abort_region(self, r: Region, reinsert: bool) -> None:
        """The region was not what its opener promised: its opener is visible text and its
        content is scanned again as ordinary text (or, for JSON, shown as it is)."""
        self.region = None
        self.mode = Mode.PROSE
        if r.started and r.kind in (Kind.JSON, Kind.PY):
            self._ev("rejected", r.start, format=r.dialect or "json", reason="not JSON")
        content = "".join(r.parts)
        if r.opener:
            self._text(r.opener, r.start)
        if r.kind in (Kind.JSON, Kind.PY):
            if reinsert and len(content) > 1:
                self._text(content[0], r.cstart)
                self._reinsert(content[1:], r.cstart + 1)
            else:
                self._text(content, r.cstart)
        elif reinsert and content:
            self._reinsert(content, r.cstart)
        else:
            self._text(content, r.cstart)

    def _reinsert(self, content: str, at: int) -> None:
        """Scan ``content`` (which ends where the unscanned buffer starts) again."""
        self.buf = content + self.buf[self.pos:]
        self.base = at
        self.pos = 0

    def _close_tag(self, r: Region, closer: str, end: int, closed: bool) -> None:
        content = "".join(r.parts)
        k = r.kind
        if k is Kind.THINK:
            self.reasoning.append(content)
            self._ev("think", r.start, chars=len(content), closed=closed, marker=r.opener)
            self.ls_mark = len(self.parts)
            self._markup()
            return
        if k is Kind.CODE:
            self._text(r.opener + content + closer, r.start, lines=False)
            return
        if k is Kind.FENCE:
            found = fence_calls(self, r, content)
            if found:
                self._ev("format", r.start, format=found[0][1], marker=r.opener)
                for f, fmt, fixes, off in found:
                    self._commit(f, fmt, off, end, fixes)
                self._markup()
            else:
                self._text(r.opener + content + closer, r.start, lines=False)
            return
        if k is Kind.HEADER:
            self._harmony_body(r, content, closed)
            return
        if k is Kind.TOOL_NAME:
            name = content.strip()
            if valid_name(name):
                self.after = After("xml_params", r.start, name=name,
                                   raw=r.opener + content + closer)
                self.mode = Mode.AFTER
                return
            self._text(r.opener + content + closer, r.start)
            return
        calls: list[Candidate]
        if k is Kind.CALLS:
            assert r.spec is not None and r.spec.extract is not None
            calls = r.spec.extract(self, r, content, closed)
        elif k is Kind.PARAMS:
            calls = params_calls(self, r, content)
        else:
            calls = xmltag_calls(self, r, content)
        if calls:
            if k is not Kind.CALLS:
                self._ev("format", r.start, format=calls[0][1], marker=r.opener)
            committed = False
            for f, fmt, fixes, off in calls:
                committed = self._commit(f, fmt, off, end, fixes) or committed
            if committed:
                self._markup()
                return
            if k is not Kind.CALLS:
                self._text(r.opener + content + closer, r.start)
                return
        if r.marker:
            self._ev("rejected", r.start, format=r.dialect, reason="no call could be read")
        if not closed and r.rescan and self.rescans < MAX_RESCANS and k is not Kind.PARAMS:
            self.rescans += 1
            self._text(r.opener, r.start)
            if content:
                self._reinsert(content, r.cstart)
            return
        self._text(r.opener + content + closer, r.start)

    def _harmony_body(self, r: Region, header: str, closed: bool) -> None:
        """A gpt-oss message header has closed: open what its channel and recipient say."""
        self._markup()
        if not closed:
            return  # the output ended inside a header: markup, nothing to read
        ch = _HARMONY_CHANNEL.search(header if r.opener == "<|channel|>" else "")
        if r.opener != "<|channel|>":
            ch = _HARMONY_IN_ROLE.search(header)
        channel = ch.group(1) if ch is not None else ""
        to = _HARMONY_TO.search(header)
        j = self.pos
        a = r.start
        raw = r.opener + header + "<|message|>"
        if channel == "analysis":
            self.think_seen = True
            self._region(Region(Kind.THINK, "think", a, self.base + j, raw, HARMONY_THINK_END,
                                10), j)
        elif to is not None and channel == "commentary" and valid_name(to.group(1)):
            name = to.group(1)
            self._ev("format", a, format="harmony", marker=raw)
            self._ev("call_started", a, format="harmony", name=name)
            self._region(Region(Kind.CALLS, "harmony", a, self.base + j, raw,
                                HARMONY_CALL.closer, HARMONY_CALL.hold, name=name,
                                started=True, marker=True, rescan=False, spec=HARMONY_CALL), j)

    # -- nested documents --------------------------------------------------------------------

    def nested(self, content: str, base: int, *, payload: str | None,
               lang: str | None = None) -> list[ToolCall]:
        """The calls of a region's content read as a small document of its own."""
        if self.nest >= MAX_NEST or not content.strip():
            return []
        sub = Scanner(None, base=base, nest=self.nest + 1, payload=payload, lang=lang,
                      schemas=self.schemas)
        sub.push(content, eof=True)
        calls = sub.calls
        if calls:
            rest = "".join(sub.parts).strip()
            if rest and not rest.strip("}]"):
                # '{"name": ...}}}' -- the value closed early; the rest is stray closers.
                calls = [ToolCall(c.name, c.arguments, c.format,
                                  (*c.repaired, "extra_closing_bracket"), c.offset, c.id)
                         for c in calls]
        return calls


    # -- JSON regions ------------------------------------------------------------------------

    def _json(self) -> bool:
        r = self.region
        assert r is not None
        tok: JsonTokenizer = r.tok
        buf = self.buf
        pos = self.pos
        if not r.parts and not tok.stack:
            # Fast path: the whole value is already here and is valid JSON. JSON values are
            # self-delimiting, so this ends where the tokenizer would, whatever the split.
            fast = fast_json(buf, pos)
            if fast is not None:
                value, end = fast
                r.parts.append(buf[pos:end])
                self.pos = end
                callish = callish_of(value)
                if callish is not None and not r.started:
                    r.started = True
                    self._ev("call_started", r.start, format=r.dialect or "json", key=callish)
                self.region = None
                self.mode = Mode.PROSE
                self._close_json(r, closed=True, decoded=(value, []), callish=callish)
                return True
        st, j = tok.scan(buf, pos, self.eof)
        if j > pos:
            r.parts.append(buf[pos:j])
            self.pos = j
        if tok.callish is not None and not r.started:
            r.started = True
            self._ev("call_started", r.start, format=r.dialect or "json", key=tok.callish)
        if st == T_NEED:
            return False
        if st == T_ABORT:
            self._abort_region(r, reinsert=False)
            return True
        self.region = None
        self.mode = Mode.PROSE
        self._close_json(r, closed=st == T_DONE, callish=tok.callish)
        return True

    def _close_json(self, r: Region, closed: bool, *, callish: str | None,
                    decoded: tuple[Any, list[str]] | None = None) -> None:
        text = "".join(r.parts)
        end = r.cstart + len(text)
        if closed and not r.marker and r.name is None and callish is None:
            self._text(text, r.cstart)  # data, not a call: no call-ish key at its top level
            return
        if decoded is not None:
            value, fixes = decoded
            ok = True
        else:
            try:
                value, fixes = repair_loads(text)
                ok = True
            except RepairError:
                value, fixes, ok = None, [], False
        found: list[Found] = []
        reason = "not JSON"
        if ok:
            if r.name is not None:
                if isinstance(value, dict):
                    found = [Found(r.name, clean_args(value), r.call_id)]
                else:
                    reason = "arguments are not an object"
            else:
                found, reason = extract_calls(value, lenient=r.lenient or r.marker)
        fmt = r.dialect or json_format(value)
        if found:
            if not r.marker:
                self._ev("format", r.start, format=fmt)
            committed = False
            for f in found:
                committed = self._commit(f, fmt, r.start, end, fixes) or committed
            if committed:
                self._markup()
                if r.cont:
                    self.after = After(r.cont, end, cont=True)
                    self.mode = Mode.AFTER
                return
            self._text(text, r.cstart)
            return
        if r.started or r.marker:
            self._ev("rejected", r.start, format=fmt, reason=reason)
        if not closed and self.rescans < MAX_RESCANS and len(text) > 1:
            self.rescans += 1
            if r.opener:
                self._text(r.opener, r.start)
            self._text(text[0], r.cstart)
            self._reinsert(text[1:], r.cstart + 1)
            return
        if r.opener:
            self._text(r.opener, r.start)
        self._text(text, r.cstart)

    # -- PY regions --------------------------------------------------------------------------

    def _py(self) -> bool:
        r = self.region
        assert r is not None
        tok: PyTokenizer = r.tok
        buf = self.buf
        pos = self.pos
        st, j = tok.scan(buf, pos, self.eof)
        if j > pos:
            r.parts.append(buf[pos:j])
            self.pos = j
        if st == T_NEED:
            return False
        if st == T_ABORT:
            self._abort_region(r, reinsert=True)
            return True
        self.region = None
        self.mode = Mode.PROSE
        closed = st == T_DONE
        text = "".join(r.parts)
        end = r.cstart + len(text)
        bare = r.lenient
        found, fixes, reason = parse_pythonic(
            text, allow_bare=bare,
            allow_empty=True,
            repair=not closed)
        if found:
            fmt = r.dialect
            if self.payload is None or fmt != "pythonic":
                self._ev("format", r.start, format=fmt)
            committed = False
            for f in found:
                committed = self._commit(f, fmt, r.start, end, fixes) or committed
            if committed:
                self._markup()
                if r.cont:
                    self.after = After(r.cont, end, cont=True)
                    self.mode = Mode.AFTER
                return True
        elif bare:
            self._ev("rejected", r.start, format=r.dialect, reason=reason)
        if not closed and self.rescans < MAX_RESCANS and len(text) > 1:
            self.rescans += 1
            self._text(text[0], r.cstart)
            self._reinsert(text[1:], r.cstart + 1)
            return True
        self._text(text, r.cstart)
        return True

    # -- AFTER a marker ----------------------------------------------------------------------

    def _after(self) -> bool:
        a = self.after
        assert a is not None
        buf = self.buf
        pos = self.pos
        n = len(buf)
        eof = self.eof
        k = _ws_end(buf, pos)
        if k - pos > 64:
            return self._give_up(a)
        if k == n:
            if not eof:
                return False
            return self._give_up(a)
        c = buf[k]
        d = a.dialect
        if d in ("mistral", "granite", "python_tag") and not a.cont and (
            c == "{" or (c == "[" and d != "python_tag")
        ):
            self.after = None
            cont = "python_tag" if d == "python_tag" else ("mistral" if d == "mistral" else None)
            self._start_json(k, k, dialect=d, lenient=True, marker=True, cont=cont)
            self.region.started = True  # type: ignore[union-attr]
            self._ev("call_started", self.base + k, format=d)
            return True
        m = _MISTRAL_HEAD.match(buf, k) if d == "mistral" else None
        if m is not None:
            e = m.end()
            if e == n and not eof:
                return False
            if e < n and buf[e] == "[" and not eof and any(
                mk.startswith(buf[e:n]) for mk in ("[ARGS]", "[CALL_ID]")
            ):
                return False
            if e < n and buf[e] == "{" and (not a.cont or m.group(2) is not None or m.group(3)):
                name = m.group(1)
                if valid_name(name):
                    self.after = None
                    a_off = self.base + k
                    self._ev("call_started", a_off, format="mistral", name=name)
                    self._start_json(e, k, dialect="mistral", lenient=True, marker=True,
                                     name=name, call_id=m.group(2) or None, cont="mistral")
                    return True
            return self._give_up(a)
        if d == "python_tag" and not a.cont and c == "[":
            if _PYLIST.match(buf, k):
                self.after = None
                self._start_py(k, dialect="python_tag", bare=False, cont="python_tag")
                self._ev("call_started", self.base + k, format="python_tag")
                return True
            m = _PYLIST_PART.match(buf, k)
            if m is not None and m.end() == n and not eof:
                return False
            return self._give_up(a)
        if d == "python_tag" and not a.cont and (c.isascii() and (c.isalpha() or c == "_")):
            if _PYEXPR.match(buf, k):
                self.after = None
                self._start_py(k, dialect="python_tag", bare=True, cont="python_tag")
                self._ev("call_started", self.base + k, format="python_tag")
                return True
            m = _PYEXPR_PART.match(buf, k)
            if m is not None and m.end() == n and not eof:
                return False
            return self._give_up(a)
        if d == "python_tag" and a.cont and c == ";":
            self._markup()
            self.pos = k + 1
            a.cont = False
            return True
        if d == "xml_params" and c == "<":
            m = _PARAMS_OPEN.match(buf, k)
            if m is None:
                pm = _PARAMS_PARTIAL.match(buf, k)
                if pm is not None and pm.end() == n and not eof:
                    return False
                return self._give_up(a)
            tag = m.group(1)
            self.after = None
            j = m.end()
            self._region(Region(Kind.PARAMS, "xml_tool", a.start, self.base + j,
                                 a.raw + buf[pos:j], _closer(rf"</{tag}>"), len(tag) + 2,
                                 name=a.name, rescan=False), j)
            self._ev("call_started", a.start, format="xml_tool", name=a.name)
            return True
        return self._give_up(a)

    def _give_up(self, a: After) -> bool:
        self.after = None
        self.mode = Mode.PROSE
        if a.dialect == "xml_params":
            assert a.name is not None
            if self.known is not None and a.name in self.known:
                self._ev("format", a.start, format="xml_tool", marker="<tool>")
                self._commit(Found(a.name, {}), "xml_tool", a.start, a.start + len(a.raw), [])
                self._markup()
            else:
                self._text(a.raw, a.start)
        elif not a.cont:
            self._ev("rejected", a.start, format=a.dialect, reason="no call after the marker")
        return True
