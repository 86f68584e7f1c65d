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
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .calls import Found, clean_args, extract_calls, valid_name
from .jsonrepair import RepairError, repair_loads
from .prose import LineTracker
from .pythonic import parse_pythonic
from .types import ParseEvent, ToolCall

PROSE, TAG, JSON, PY, AFTER = 0, 1, 2, 3, 4
_NEED = "need"
MAX_NEST = 4
MAX_RESCANS = 3
MAXTAG = 160

# Tokenizer results.
T_NEED, T_DONE, T_ABORT, T_END = 0, 1, 2, 3

_TRIGGER = re.compile(r"[<\[{`]")
_WS = re.compile(r"[ \t\r\n]*")
_WSRUN = re.compile(r"[ \t\r\n]+")
_DQ = re.compile(r'["\\]')
_SQ = re.compile(r"['\\]")
_BARE = re.compile(r"[\w$+\-.]+")
_NUMTOK = re.compile(r"[-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_LITS = ("true", "false", "null", "True", "False", "None", "NaN", "Infinity", "-Infinity",
         "undefined")
_LITSET = frozenset(_LITS)
# A JSON object can only be a call if one of these keys appears at its top level (or at the top
# level of the objects of a top-level list); otherwise it is never decoded.
CALL_KEYS = frozenset({"name", "function", "tool_calls", "tool_call", "function_call",
                       "function_calls", "calls", "tool_name", "tool", "function_name", "action",
                       "recipient_name"})
_VAL, _KEY, _COLON, _AFTERV = 0, 1, 2, 3


class _JsonTok:
    """Finds the end of a (lenient) JSON value incrementally; aborts on what JSON cannot be."""

    __slots__ = (
        "callish",
        "cmt",
        "expect",
        "is_key",
        "keylen",
        "keyparts",
        "lenient",
        "q",
        "stack",
    )

    def __init__(self, lenient: bool) -> None:
        self.stack: list[str] = []
        self.expect = _VAL
        self.q = ""
        self.is_key = False
        self.lenient = lenient
        self.cmt = ""
        self.keyparts: list[str] | None = None
        self.keylen = 0
        self.callish: str | None = None

    def _cap(self, s: str, a: int, b: int) -> None:
        if self.keyparts is not None and self.keylen < 100:
            self.keyparts.append(s[a:b])
            self.keylen += b - a

    def _keydone(self) -> None:
        if self.keyparts is not None:
            k = "".join(self.keyparts)
            self.keyparts = None
            if "\\" in k and self.q == '"':
                try:
                    k = json.loads('"' + k + '"')
                except ValueError:
                    pass
            if k in CALL_KEYS:
                self.callish = k

    def scan(self, s: str, i: int, eof: bool) -> tuple[int, int]:
        n = len(s)
        stack = self.stack
        while i < n:
            q = self.q
            if q:
                m = (_DQ if q == '"' else _SQ).search(s, i)
                if m is None:
                    self._cap(s, i, n)
                    i = n
                    break
                j = m.start()
                if s[j] == "\\":
                    if j + 1 >= n:
                        self._cap(s, i, j)
                        if eof:
                            i = n
                            break
                        return T_NEED, j
                    self._cap(s, i, j + 2)
                    i = j + 2
                    continue
                self._cap(s, i, j)
                self._keydone()
                self.q = ""
                i = j + 1
                self.expect = _COLON if self.is_key else _AFTERV
                continue
            if self.cmt:
                if self.cmt == "/*":
                    j = s.find("*/", i)
                    if j < 0:
                        if eof:
                            i = n
                            break
                        return T_NEED, max(i, n - 1)
                    i = j + 2
                else:
                    j = s.find("\n", i)
                    if j < 0:
                        i = n
                        break
                    i = j + 1
                self.cmt = ""
                continue
            c = s[i]
            if c in " \t\r\n":
                i = _WSRUN.match(s, i).end()
                continue
            e = self.expect
            if c == '"' or c == "'":
                top = stack[-1]
                if e == _KEY or (e == _AFTERV and top == "{"):
                    self.is_key = True
                elif e == _VAL or (e == _AFTERV and top == "["):
                    self.is_key = False
                else:
                    return T_ABORT, i
                if self.is_key and self.callish is None and (
                    len(stack) == 1 or (len(stack) == 2 and stack[0] == "[")
                ):
                    self.keyparts = []
                    self.keylen = 0
                self.q = c
                i += 1
                continue
            if c == "{" or c == "[":
                if not (e == _VAL or (e == _AFTERV and stack and stack[-1] == "[")):
                    return T_ABORT, i
                stack.append(c)
                self.expect = _KEY if c == "{" else _VAL
                i += 1
                continue
            if c == "}" or c == "]":
                if e == _COLON:
                    return T_ABORT, i
                want = "{" if c == "}" else "["
                if stack[-1] != want:
                    if want not in stack:
                        return T_ABORT, i
                    while stack[-1] != want:
                        stack.pop()
                stack.pop()
                i += 1
                if not stack:
                    return T_DONE, i
                self.expect = _AFTERV
                continue
            if c == ",":
                if e == _AFTERV:
                    self.expect = _KEY if stack[-1] == "{" else _VAL
                elif e == _COLON:
                    return T_ABORT, i
                i += 1
                continue
            if c == ":":
                if e != _COLON:
                    return T_ABORT, i
                self.expect = _VAL
                i += 1
                continue
            if c == "#":
                self.cmt = "//"
                i += 1
                continue
            if c == "/":
                if i + 1 >= n:
                    return (T_END if eof else T_NEED), i
                d = s[i + 1]
                if d == "/" or d == "*":
                    self.cmt = "/" + d
                    i += 2
                    continue
                return T_ABORT, i
            m = _BARE.match(s, i)
            if m is None:
                return T_ABORT, i
            j = m.end()
            if j - i > 80:
                return T_ABORT, i
            if j == n and not eof:
                return T_NEED, i
            tok = s[i:j]
            if e == _KEY or (e == _AFTERV and stack[-1] == "{" and self.lenient):
                if self.callish is None and tok in CALL_KEYS and (
                        len(stack) == 1 or (len(stack) == 2 and stack[0] == "[")):
                    self.callish = tok
                self.expect = _COLON
            elif e == _VAL:
                if not (tok in _LITSET or _NUMTOK.fullmatch(tok) or self.lenient
                        or (j == n and any(lit.startswith(tok) for lit in _LITS))):
                    return T_ABORT, i
                self.expect = _AFTERV
            else:
                return T_ABORT, i
            i = j
        return (T_END if eof else T_NEED), i


_PYPLAIN = re.compile(r"[\w.,:=+\- \t\r]+")
_NONWS = re.compile(r"\S")


class _PyTok:
    """Finds the end of a pythonic call list / call expression (strings and brackets)."""

    __slots__ = ("blank", "q", "stack")

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.q = ""
        self.blank = False

    def scan(self, s: str, i: int, eof: bool) -> tuple[int, int]:
        n = len(s)
        stack = self.stack
        pairs = {")": "(", "]": "[", "}": "{"}
        while i < n:
            if self.q:
                m = (_DQ if self.q == '"' else _SQ).search(s, i)
                if m is None:
                    i = n
                    break
                j = m.start()
                if s[j] == "\\":
                    if j + 1 >= n:
                        if eof:
                            i = n
                            break
                        return T_NEED, j
                    i = j + 2
                    continue
                self.q = ""
                i = j + 1
                continue
            c = s[i]
            if c == '"' or c == "'":
                self.q = c
                self.blank = False
                i += 1
                continue
            if c in "([{":
                if len(stack) >= 64:
                    return T_ABORT, i
                stack.append(c)
            elif c in ")]}":
                if not stack or stack[-1] != pairs[c]:
                    return T_ABORT, i
                stack.pop()
                if not stack:
                    return T_DONE, i + 1
            elif c == "\n":
                if self.blank:
                    return T_ABORT, i
                self.blank = True
                i += 1
                continue
            else:
                m = _PYPLAIN.match(s, i)
                if m is None:
                    return T_ABORT, i
                if self.blank and _NONWS.search(s, i, m.end()):
                    self.blank = False
                i = m.end()
                continue
            self.blank = False
            i += 1
        return (T_END if eof else T_NEED), i


# --------------------------------------------------------------------------------------
# Markers
# --------------------------------------------------------------------------------------

def _lit(s: str) -> re.Pattern[str]:
    return re.compile(re.escape(s))


@functools.lru_cache(maxsize=512)
def _closer(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


_FUNC_CLOSERS = {k: re.compile(rf"</{k}>|(?=<{k}[=\s])|(?=</tool_call>)")
                 for k in ("function", "invoke")}


# opener -> (kind, dialect, closer regex, hold)
_THINK_TAGS: dict[str, str] = {
    "<think>": "</think>", "<thinking>": "</thinking>", "<reasoning>": "</reasoning>",
    "<seed:think>": "</seed:think>", "[THINK]": "[/THINK]",
}
_LONE_THINK_CLOSE = frozenset({"</think>", "</thinking>", "[/THINK]", "</reasoning>"})
_PAYLOAD_TAGS: dict[str, tuple[str, str]] = {
    "<tool_call>": ("hermes", r"</tool_call>|(?=<tool_call>)"),
    "<tool_calls>": ("hermes", r"</tool_calls>"),
    "<function_call>": ("hermes", r"</function_call>"),
    "<functioncall>": ("hermes", r"</functioncall>"),
    "<function_calls>": ("hermes", r"</function_calls>"),
    "<tools>": ("hermes", r"</tools>"),
    "<tool_use>": ("hermes", r"</tool_use>"),
    "<seed:tool_call>": ("seed", r"</seed:tool_call>"),
    "<|tool_call_start|>": ("lfm2", r"<\|tool_call_end\|>"),
    "<|python_start|>": ("llama4_pythonic", r"<\|python_end\|>"),
}
_AFTER_TAGS: dict[str, str] = {
    "<|python_tag|>": "python_tag",
    "<|tool_call|>": "granite",
    "<|tool_calls|>": "granite",
}
_DROP_TAGS = frozenset({
    "</tool_call>", "</tool_calls>", "</function_call>", "</function_calls>", "</function>",
    "</invoke>", "</tools>", "</tool_use>", "</s>", "[/TOOL_CALLS]",
})
_DEEPSEEK_OPEN = re.compile(r"<[|｜]\s*tool[▁_ \\]*calls?(?:[▁_ \\]*begin)?\s*[|｜]>\Z")
_DEEPSEEK_ONE = re.compile(r"<[|｜]\s*tool[▁_ \\]*call[▁_ \\]*begin\s*[|｜]>\Z")
_DEEPSEEK_CLOSE_ALL = re.compile(r"<[|｜]\s*tool[▁_ \\]*calls?[▁_ \\]*end\s*[|｜]>")
_DEEPSEEK_CLOSE_ONE = re.compile(r"<[|｜]\s*tool[▁_ \\]*call[▁_ \\]*end\s*[|｜]>")
_DS_CALL_BEGIN = re.compile(r"<[|｜]\s*tool[▁_ \\]*call[▁_ \\]*begin\s*[|｜]>")
_DS_SEP = re.compile(r"<[|｜]\s*tool[▁_ \\]*sep\s*[|｜]>")
_DS_ANY = re.compile(r"<[|｜][^<>|｜]{0,40}[|｜]>")
_FUNC_OPEN = re.compile(
    r"<(function|invoke)(?:=\s*[\"']?([^\"'<>\s]+?)[\"']?|\s+name\s*=\s*[\"']?([^\"'<>\s]+)[\"']?)\s*>\Z"
)
_SPECIAL = re.compile(r"<(?:\|[\w.\-:]{1,40}\||｜[^<>｜]{1,40}｜)>\Z")
_XMLTAG = re.compile(r"<([A-Za-z_][\w\-]{0,63})>\Z")
_TOOL_OPEN = "<tool>"
_PARAMS_OPEN = re.compile(r"<(params|parameters|arguments|args|tool_input|input)>")
_PARAMS_PARTIAL = re.compile(r"<[a-z_]{0,12}\Z")
_HTML = frozenset(
    ["a", "abbr", "address", "article", "aside", "audio", "b", "bdi", "blockquote", "body", "br", "button", "canvas", "caption", "cite", "code", "col", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "embed", "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr", "html", "i", "iframe", "img", "input", "ins", "kbd", "label", "legend", "li", "link", "main", "mark", "meta", "nav", "ol", "option", "output", "p", "param", "pre", "progress", "q", "s", "samp", "script", "section", "select", "small", "source", "span", "strong", "style", "sub", "summary", "sup", "table", "tbody", "td", "textarea", "tfoot", "th", "thead", "time", "title", "tr", "u", "ul", "var", "video", "wbr"]
)
_BRACKET_MARKERS: tuple[tuple[str, str], ...] = (
    ("[TOOL_CALLS]", "mistral"), ("[THINK]", "think"), ("[/THINK]", "lone_think"),
    ("[/TOOL_CALLS]", "drop"),
)
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
_LANG = re.compile(r"[ \t]{0,8}([\w+#.\-]{0,32})")
DATA_LANGS = frozenset({"", "json", "jsonc", "json5", "jsonl", "tool_call", "tool_calls",
                        "tool_code", "xml", "function_call", "functions", "tool", "tools",
                        "tool_use", "toolcall"})
# Formats that need the caller's tool list to agree when it is given.
WEAK_FORMATS = frozenset({"json", "llama3_json", "openai", "fenced_json", "pythonic", "xml_tag",
                          "react", "prose"})
# Formats a wrapper keeps as its own label when found inside it.
_SPECIFIC = frozenset({"qwen3_xml", "function_tag", "deepseek", "mistral", "xml_tool", "xml_tag",
                       "invoke"})


@dataclass
class _Region:
    kind: str  # think code fence payload function deepseek tool_name params xmltag json py
    dialect: str
    start: int  # absolute offset of the opener
    cstart: int  # absolute offset of the content
    opener: str = ""
    closer: re.Pattern[str] | None = None
    hold: int = 0
    parts: list[str] = field(default_factory=list)
    size: int = 0
    max_len: int = 0
    first: str = ""  # content must start (after whitespace) with one of these chars
    name: str | None = None
    call_id: str | None = None
    tok: Any = None
    lenient: bool = False
    marker: bool = False
    started: bool = False
    cont: str | None = None  # AFTER dialect to continue with after this region's calls
    lang: str = ""
    rescan: bool = True


@dataclass
class _After:
    dialect: str
    start: int
    cont: bool = False
    name: str | None = None
    raw: str = ""


class Scanner:
    """One document being scanned. ``push(text, eof)`` consumes text; see the module doc."""

    def __init__(self, known: frozenset[str] | None = None, *, base: int = 0, nest: int = 0,
                 payload: str | None = None, lang: str | None = None) -> None:
        self.known = known
        self.base = base
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.mode = PROSE
        self.region: _Region | None = None
        self.after: _After | None = None
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
        if eof:
            if self.lines is not None:
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
        repaired = list(dict.fromkeys([*fixes, *(n for n in f.notes
                                                 if n not in ("arguments_string", "string_input"))]))
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
        if pos > run:
            self._text(buf[run:pos], self.base + run)
        self.pos = pos
        return False

    def _plausible(self, buf: str, i: int, run: int) -> bool:
        """Cheap pre-check: can the trigger at ``i`` start anything? (``i + 1 < len(buf)``)"""
        c = buf[i]
        d = buf[i + 1]
        if c == "<":
            return d.isalpha() or d in "/|｜_"
        if c == "`":
            return d == "`"
        if c == "[":
            if d in "T/ \t\r\n{":
                return True
            if not (d.isalpha() or d == "_"):
                return False
            if self.payload is not None or self.lang == "tool_code":
                return True
            if self.lang is not None:
                return False
            # pythonic lists only at a line start
            nl = buf.rfind("\n", run, i)
            if nl >= 0:
                return buf[nl + 1:i].isspace() or nl + 1 == i
            return (i == run or buf[run:i].isspace()) and self._at_line_start()
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
        low = tag.lower()
        if tag in _THINK_TAGS or low in _THINK_TAGS:
            closer = _THINK_TAGS.get(tag) or _THINK_TAGS[low]
            self.think_seen = True
            self._region(_Region("think", "think", a, self.base + j, tag,
                                 _closer(re.escape(closer), re.I), len(closer) - 1), j)
            return True
        if low in _LONE_THINK_CLOSE:
            self._lone_think_close(tag, i, j)
            return True
        spec = _PAYLOAD_TAGS.get(tag) or _PAYLOAD_TAGS.get(low)
        if spec is not None:
            dialect, closer = spec
            self._ev("format", a, format=dialect, marker=tag)
            self._ev("call_started", a, format=dialect)
            self._region(_Region("payload", dialect, a, self.base + j, tag, _closer(closer, re.I),
                                 24, started=True, marker=True), j)
            return True
        if tag in _AFTER_TAGS:
            dialect = _AFTER_TAGS[tag]
            self._ev("format", a, format=dialect, marker=tag)
            self._markup()
            self.pos = j
            self.after = _After(dialect, a)
            self.mode = AFTER
            return True
        if _DEEPSEEK_OPEN.match(tag):
            one = _DEEPSEEK_ONE.match(tag) is not None
            self._ev("format", a, format="deepseek", marker=tag)
            self._ev("call_started", a, format="deepseek")
            closer = _DEEPSEEK_CLOSE_ONE if one else _DEEPSEEK_CLOSE_ALL
            self._region(_Region("deepseek", "deepseek", a, self.base + j, tag, closer, 48,
                                 started=True, marker=True), j)
            return True
        m = _FUNC_OPEN.match(tag)
        if m is not None:
            name = m.group(2) or m.group(3)
            if not valid_name(name):
                return None
            kind = m.group(1)
            fmt = "function_tag" if kind == "function" else "invoke"
            closer = _FUNC_CLOSERS[kind]
            self._ev("format", a, format=fmt, marker=tag)
            self._ev("call_started", a, format=fmt, name=name)
            self._region(_Region("function", fmt, a, self.base + j, tag, closer, 16, name=name,
                                 started=True, marker=True), j)
            return True
        if tag in _DROP_TAGS or low in _DROP_TAGS or _SPECIAL.match(tag) or _DS_ANY.match(tag):
            self._markup()
            self.pos = j
            return True
        if low == _TOOL_OPEN:
            self._region(_Region("tool_name", "xml_tool", a, self.base + j, tag,
                                 re.compile(r"</tool>", re.I), 6, max_len=160), j)
            return True
        m = _XMLTAG.match(tag)
        if m is not None:
            name = m.group(1)
            if (self.known is not None and name in self.known) or (
                self.known is None and "_" in name.strip("_") and name.lower() not in _HTML
            ):
                closer = _closer(re.escape(f"</{name}>"))
                self._region(_Region("xmltag", "xml_tag", a, self.base + j, tag, closer,
                                     len(name) + 2, name=name, first="<"), j)
                return True
        return None

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
        for marker, what in _BRACKET_MARKERS:
            if buf.startswith(marker, i):
                j = i + len(marker)
                a = self.base + i
                if what == "mistral":
                    self._ev("format", a, format="mistral", marker=marker)
                    self._markup()
                    self.pos = j
                    self.after = _After("mistral", a)
                    self.mode = AFTER
                elif what == "think":
                    self.think_seen = True
                    self._region(_Region("think", "think", a, self.base + j, marker,
                                         _lit("[/THINK]"), 7), j)
                elif what == "lone_think":
                    self._lone_think_close(marker, i, j)
                else:
                    self._markup()
                    self.pos = j
                return True
            if not eof and n - i < len(marker) and marker.startswith(buf[i:n]):
                return _NEED
        if _LIST_JSON.match(buf, i):
            self._start_json(i, i, dialect="", lenient=self.payload is not None, marker=False)
            return True
        m = _LIST_JSON_PART.match(buf, i)
        if m is not None and m.end() == n and not eof:
            return _NEED
        if self.payload is not None or self.lang == "tool_code" or (
                self.lang is None and self._at_line_start()):
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
        k = m.end()
        if k == n and not self.eof:
            return _NEED
        cnt = k - i
        if cnt < 3:
            self._text(buf[i:k], self.base + i)
            self.pos = k
            return True
        lm = _LANG.match(buf, k)
        if lm.end() == n and not self.eof:
            return _NEED
        lang = lm.group(1).lower()
        j = lm.end()
        a = self.base + i
        opener = buf[i:j]
        if lang in DATA_LANGS:
            closer = _closer("`" * cnt)
            self._region(_Region("fence", "fenced_json", a, self.base + j, opener, closer, cnt,
                                 lang=lang), j)
        else:
            closer = _closer(r"\n[ \t]{0,12}" + "`" * cnt)
            self._region(_Region("code", "code", a, self.base + j, opener, closer, cnt + 13,
                                 lang=lang), j)
        return True

    def _region(self, r: _Region, j: int) -> None:
        if r.kind in ("payload", "deepseek", "function", "think"):
            self._markup()
        self.region = r
        self.mode = TAG
        self.pos = j

    def _start_json(self, i: int, start: int, *, dialect: str, lenient: bool, marker: bool,
                    name: str | None = None, call_id: str | None = None,
                    cont: str | None = None) -> None:
        a = self.base + i
        self.region = _Region("json", dialect, self.base + start, a, self.buf[start:i],
                              tok=_JsonTok(lenient),
                              lenient=lenient, marker=marker, name=name, call_id=call_id,
                              cont=cont, started=name is not None)
        self.mode = JSON
        self.pos = i

    def _start_py(self, i: int, *, dialect: str, bare: bool, cont: str | None = None) -> None:
        a = self.base + i
        self.region = _Region("py", dialect, a, a, tok=_PyTok(), marker=bare, cont=cont,
                              lenient=bare)
        self.mode = PY
        self.pos = i

    # -- TAG regions -------------------------------------------------------------------------

    def _tag(self) -> bool:
        r = self.region
        assert r is not None and r.closer is not None
        buf = self.buf
        pos = self.pos
        n = len(buf)
        if r.first:
            k = _WS.match(buf, pos).end()
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
            self.mode = PROSE
            self._close_tag(r, buf[m.start():m.end()], self.base + m.end(), closed=True)
            return True
        if self.eof:
            r.parts.append(buf[pos:])
            r.size += n - pos
            self.pos = n
            self.region = None
            self.mode = PROSE
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

    def _abort_region(self, r: _Region, reinsert: bool) -> None:
        """The region was not what its opener promised: its opener is visible text and its
        content is scanned again as ordinary text (or, for JSON, shown as it is)."""
        self.region = None
        self.mode = PROSE
        if r.started and r.kind in ("json", "py"):
            self._ev("rejected", r.start, format=r.dialect or "json", reason="not JSON")
        content = "".join(r.parts)
        if r.opener:
            self._text(r.opener, r.start)
        if r.kind in ("json", "py"):
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

    def _close_tag(self, r: _Region, closer: str, end: int, closed: bool) -> None:
        content = "".join(r.parts)
        k = r.kind
        if k == "think":
            self.reasoning.append(content)
            self._ev("think", r.start, chars=len(content), closed=closed, marker=r.opener)
            self.ls_mark = len(self.parts)
            self._markup()
            return
        if k == "code":
            self._text(r.opener + content + closer, r.start, lines=False)
            return
        if k == "fence":
            calls = self._fence_calls(content, r)
            if calls:
                self._ev("format", r.start, format=calls[0][1], marker=r.opener)
                for f, fmt, fixes, off in calls:
                    self._commit(f, fmt, off, end, fixes)
                self._markup()
            else:
                self._text(r.opener + content + closer, r.start, lines=False)
            return
        if k == "tool_name":
            name = content.strip()
            if valid_name(name):
                self.after = _After("xml_params", r.start, name=name,
                                    raw=r.opener + content + closer)
                self.mode = AFTER
                return
            self._text(r.opener + content + closer, r.start)
            return
        calls: list[tuple[Found, str, list[str], int]]
        if k == "payload":
            calls = self._payload_calls(content, r, closed)
        elif k == "function":
            calls = self._function_calls(content, r, closed)
        elif k == "deepseek":
            calls = self._deepseek_calls(content, r.cstart)
        elif k == "params":
            calls = self._params_calls(content, r)
        elif k == "xmltag":
            calls = self._xmltag_calls(content, r)
        else:  # pragma: no cover - all kinds handled above
            calls = []
        if calls:
            if k in ("params", "xmltag"):
                self._ev("format", r.start, format=calls[0][1], marker=r.opener)
            committed = False
            for f, fmt, fixes, off in calls:
                committed = self._commit(f, fmt, off, end, fixes) or committed
            if committed:
                self._markup()
                return
            if k in ("params", "xmltag"):
                self._text(r.opener + content + closer, r.start)
                return
        if r.marker:
            self._ev("rejected", r.start, format=r.dialect, reason="no call could be read")
        if not closed and r.rescan and self.rescans < MAX_RESCANS and r.kind != "params":
            self.rescans += 1
            self._text(r.opener, r.start)
            if content:
                self._reinsert(content, r.cstart)
            return
        self._text(r.opener + content + closer, r.start)

    # -- payload decoders --------------------------------------------------------------------

    def _nested(self, content: str, base: int, *, payload: str | None,
                lang: str | None = None) -> list[ToolCall]:
        if self.nest >= MAX_NEST or not content.strip():
            return []
        sub = Scanner(None, base=base, nest=self.nest + 1, payload=payload, lang=lang)
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

    def _payload_calls(self, content: str, r: _Region,
                       closed: bool) -> list[tuple[Found, str, list[str], int]]:
        dialect = r.dialect
        out: list[tuple[Found, str, list[str], int]] = []
        for c in self._nested(content, r.cstart, payload=dialect):
            fmt = c.format if c.format in _SPECIFIC else dialect
            out.append((Found(c.name, c.arguments, c.id), fmt, list(c.repaired),
                        c.offset if c.offset is not None else r.start))
        if out:
            return out
        text = content.strip()
        if not text:
            return []
        if text[0] in "{[":
            # The marker bounds the value, so repair may read what the tokenizer gave up on
            # ("He said "hi"" with unescaped quotes, say).
            try:
                val, fixes = repair_loads(_strip_fence(text))
            except RepairError:
                val, fixes = None, []
            if val is not None:
                found_j, _reason = extract_calls(val, lenient=True)
                if found_j:
                    return [(f, dialect, fixes, r.start) for f in found_j]
        # get_weather(city="Paris") / [f(x=1)] inside the wrapper
        found, fixes, _ = parse_pythonic(text, allow_bare=True, allow_empty=True,
                                         repair=not closed)
        if found:
            return [(f, dialect, fixes, r.start) for f in found]
        # name\n{json}  /  name[ARGS]{json}
        m = re.match(r"([A-Za-z_][\w.\-]{0,127})\s*(?:\[ARGS\]|:)?\s*(?=\{)", text)
        if m is not None:
            try:
                val, fixes = repair_loads(text[m.end():])
            except RepairError:
                val = None
            if isinstance(val, dict):
                return [(Found(m.group(1), clean_args(val)), dialect, fixes, r.start)]
        # <name>f</name><arguments>{...}</arguments>
        found_x = _xml_children_call(text)
        if found_x is not None:
            f, fixes = found_x
            return [(f, dialect, fixes, r.start)]
        return []

    def _fence_calls(self, content: str, r: _Region) -> list[tuple[Found, str, list[str], int]]:
        lang = r.lang
        out: list[tuple[Found, str, list[str], int]] = []
        for c in self._nested(content, r.cstart, payload=None, lang=lang):
            fmt = c.format if c.format in _SPECIFIC or c.format in ("hermes", "mistral",
                                                                   "deepseek") else (
                "tool_code" if lang == "tool_code" else "fenced_json")
            out.append((Found(c.name, c.arguments, c.id), fmt, list(c.repaired),
                        c.offset if c.offset is not None else r.start))
        if out or lang != "tool_code":
            return out
        found, fixes, _ = parse_pythonic(content, allow_bare=True, allow_empty=True)
        return [(f, "tool_code", fixes, r.start) for f in found]

    def _function_calls(self, content: str, r: _Region,
                        closed: bool) -> list[tuple[Found, str, list[str], int]]:
        assert r.name is not None
        text = content.strip()
        if text.startswith("<parameter"):
            args = _xml_parameters(text)
            fmt = "qwen3_xml" if r.dialect == "function_tag" else r.dialect
            return [(Found(r.name, args), fmt, [] if closed else ["unclosed_tag"], r.start)]
        if not text:
            return [(Found(r.name, {}), r.dialect, [] if closed else ["unclosed_tag"], r.start)]
        try:
            val, fixes = repair_loads(text)
        except RepairError:
            return []
        if isinstance(val, dict):
            calls, _ = extract_calls(val, lenient=True) if set(val) >= {"name"} and (
                val.get("name") == r.name) else ([], "")
            if calls:
                return [(calls[0], r.dialect, fixes, r.start)]
            return [(Found(r.name, clean_args(val)), r.dialect, fixes, r.start)]
        return []

    def _deepseek_calls(self, content: str, base: int) -> list[tuple[Found, str, list[str], int]]:
        out: list[tuple[Found, str, list[str], int]] = []
        pieces = _DS_CALL_BEGIN.split(content)
        if len(pieces) == 1:
            pieces = ["", content]
        for piece in pieces[1:] if len(pieces) > 1 else []:
            piece = _DEEPSEEK_CLOSE_ONE.split(piece)[0]
            piece = _DEEPSEEK_CLOSE_ALL.split(piece)[0]
            sp = _DS_SEP.split(piece, maxsplit=1)
            if len(sp) == 2:
                left, right = sp[0].strip(), sp[1]
                if left in ("function", ""):
                    name, _, rest = right.lstrip().partition("\n")
                    name = name.strip()
                    if "{" in name:  # name{json} on one line
                        k = name.index("{")
                        name, rest = name[:k].strip(), name[k:] + "\n" + rest
                else:
                    name, rest = left, right
            else:
                text = piece.strip()
                k = text.find("{")
                if k < 0:
                    continue
                name, rest = text[:k].strip(), text[k:]
            rest = _strip_fence(rest.strip())
            if not valid_name(name):
                continue
            if not rest:
                out.append((Found(name, {}), "deepseek", [], base))
                continue
            try:
                val, fixes = repair_loads(rest)
            except RepairError:
                continue
            if isinstance(val, dict):
                out.append((Found(name, clean_args(val)), "deepseek", fixes, base))
        return out

    def _params_calls(self, content: str, r: _Region) -> list[tuple[Found, str, list[str], int]]:
        assert r.name is not None
        text = _strip_fence(content.strip())
        if not text:
            return [(Found(r.name, {}), "xml_tool", [], r.start)]
        if text.startswith("{"):
            try:
                val, fixes = repair_loads(text)
            except RepairError:
                return []
            if isinstance(val, dict):
                return [(Found(r.name, clean_args(val)), "xml_tool", fixes, r.start)]
            return []
        children = _xml_children(text)
        if children is not None:
            return [(Found(r.name, children), "xml_tool", [], r.start)]
        return []

    def _xmltag_calls(self, content: str, r: _Region) -> list[tuple[Found, str, list[str], int]]:
        assert r.name is not None
        children = _xml_children(content.strip())
        if children is None or (not children and (self.known is None or r.name not in self.known)):
            return []
        return [(Found(r.name, children), "xml_tag", [], r.start)]

    # -- JSON regions ------------------------------------------------------------------------

    def _json(self) -> bool:
        r = self.region
        assert r is not None
        tok: _JsonTok = r.tok
        buf = self.buf
        pos = self.pos
        if not r.parts and not tok.stack:
            # Fast path: the whole value is already here and is valid JSON. JSON values are
            # self-delimiting, so this ends where the tokenizer would, whatever the split.
            fast = _fast_json(buf, pos)
            if fast is not None:
                value, end = fast
                r.parts.append(buf[pos:end])
                self.pos = end
                callish = _callish_of(value)
                if callish is not None and not r.started:
                    r.started = True
                    self._ev("call_started", r.start, format=r.dialect or "json", key=callish)
                self.region = None
                self.mode = PROSE
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
        self.mode = PROSE
        self._close_json(r, closed=st == T_DONE, callish=tok.callish)
        return True

    def _close_json(self, r: _Region, closed: bool, *, callish: str | None,
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
        fmt = r.dialect or _json_format(value)
        if found:
            if not r.marker:
                self._ev("format", r.start, format=fmt)
            committed = False
            for f in found:
                committed = self._commit(f, fmt, r.start, end, fixes) or committed
            if committed:
                self._markup()
                if r.cont:
                    self.after = _After(r.cont, end, cont=True)
                    self.mode = AFTER
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
        tok: _PyTok = r.tok
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
        self.mode = PROSE
        closed = st == T_DONE
        text = "".join(r.parts)
        end = r.cstart + len(text)
        bare = r.lenient
        found, fixes, reason = parse_pythonic(
            text, allow_bare=bare,
            allow_empty=bare or self.payload is not None or r.dialect != "pythonic",
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
                    self.after = _After(r.cont, end, cont=True)
                    self.mode = AFTER
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
        k = _WS.match(buf, pos).end()
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
            self._region(_Region("params", "xml_tool", a.start, self.base + j,
                                 a.raw + buf[pos:j], _closer(rf"</{tag}>"), len(tag) + 2,
                                 name=a.name, rescan=False), j)
            self._ev("call_started", a.start, format="xml_tool", name=a.name)
            return True
        return self._give_up(a)

    def _give_up(self, a: _After) -> bool:
        self.after = None
        self.mode = PROSE
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


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------

_RAW_DECODE = json.JSONDecoder().raw_decode


def _fast_json(buf: str, pos: int) -> tuple[Any, int] | None:
    """The valid JSON value starting at ``pos`` and where it ends, or None.

    Decodes inside a window: ``json`` counts lines from the start of the document on every
    error, so decoding the whole buffer each time would cost O(buffer) per ``{``. The window is
    widened once when the failure was at its edge (the value may just be long)."""
    rest = len(buf) - pos
    w = 1024 if rest > 1024 else rest
    for _ in range(2):
        window = buf[pos:pos + w]
        try:
            value, end = _RAW_DECODE(window)
        except json.JSONDecodeError as e:
            if w < rest and (e.pos >= w - 32 or e.msg.startswith("Unterminated string")):
                w = min(rest, 1 << 20)
                continue
            return None
        except (ValueError, RecursionError):
            return None
        return value, pos + end
    return None


def _callish_of(value: Any) -> str | None:
    """The first call-ish key of a decoded value, as ``_JsonTok`` would have captured it."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict):
            for k in item:
                if k in CALL_KEYS:
                    return k
    return None


def _json_format(value: Any) -> str:
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        if isinstance(value.get("function"), dict) or "tool_calls" in value:
            return "openai"
        if "parameters" in value:
            return "llama3_json"
    return "json"


_FENCE_WRAP = re.compile(r"\A```[\w+\-]*[ \t]*\n?(.*?)\n?[ \t]*(?:```)?\s*\Z", re.S)


def _strip_fence(text: str) -> str:
    if text.startswith("```"):
        m = _FENCE_WRAP.match(text)
        if m is not None:
            return m.group(1).strip()
    return text


_PARAM_RE = re.compile(
    r"<parameter(?:=\s*[\"']?([^\"'<>\s]+?)[\"']?|\s+name\s*=\s*[\"']?([^\"'<>\s]+)[\"']?)\s*>"
)


def _typed(value: str) -> Any:
    v = value
    if v.startswith("\n"):
        v = v[1:]
    if v.endswith("\n"):
        v = v[:-1]
    s = v.strip()
    if s and (s[0] in "{[-0123456789" or s in ("true", "false", "null")):
        try:
            return json.loads(s)
        except ValueError:
            pass
    return v


def _xml_parameters(text: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    matches = list(_PARAM_RE.finditer(text))
    for idx, m in enumerate(matches):
        name = m.group(1) or m.group(2)
        stop = matches[idx + 1].start() if idx + 1 < len(matches) else len(text)
        body = text[m.end():stop]
        k = body.find("</parameter>")
        if k >= 0:
            body = body[:k]
        args[name] = _typed(body)
    return args


_CHILD = re.compile(r"\s*<([A-Za-z_][\w\-.]{0,63})>(.*?)</\1>", re.S)


def _xml_children(text: str) -> dict[str, Any] | None:
    """``<a>1</a><b>x</b>`` -> {"a": "1", "b": "x"}; None if the text is anything else."""
    args: dict[str, Any] = {}
    pos = 0
    n = len(text)
    while pos < n:
        m = _CHILD.match(text, pos)
        if m is None:
            if text[pos:].strip():
                return None
            break
        body = m.group(2)
        if body.startswith("\n"):
            body = body[1:]
        if body.endswith("\n"):
            body = body[:-1]
        args[m.group(1)] = body
        pos = m.end()
    return args


_NAME_CHILD = re.compile(r"<(name|tool_name|function|tool)>\s*([A-Za-z_][\w.\-]{0,127})\s*</\1>")
_ARGS_CHILD = re.compile(r"<(arguments|parameters|args|params|input)>(.*?)(?:</\1>|\Z)", re.S)


def _xml_children_call(text: str) -> tuple[Found, list[str]] | None:
    m = _NAME_CHILD.search(text)
    if m is None:
        return None
    a = _ARGS_CHILD.search(text)
    if a is None:
        return Found(m.group(2), {}), []
    body = _strip_fence(a.group(2).strip())
    if not body:
        return Found(m.group(2), {}), []
    if body.startswith("{"):
        try:
            val, fixes = repair_loads(body)
        except RepairError:
            return None
        return (Found(m.group(2), clean_args(val)), fixes) if isinstance(val, dict) else None
    children = _xml_children(body)
    if children is None:
        return None
    return Found(m.group(2), children), []


__all__ = ["Scanner"]
