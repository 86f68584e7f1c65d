"""Calls written in prose, read line by line from the visible text.

* ReAct: an ``Action: name`` line followed by ``Action Input: {json}`` (structural: no tool
  list needed when the input is a JSON object; a plain-text input needs a known tool).
* Prose: "call read_file with path='main.go'", "use `grep` with pattern: TODO",
  "read_file(path='main.go')" -- only for tool names the caller passed in ``known_tools``.
  Prose calls are weak evidence: the scanner keeps them only when the output holds no other
  call.

The tracker sees the visible text as it is committed, in order, so its decisions depend only on
complete lines (the last one is completed by ``finish``): any split of the text gives the same
result.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from .calls import Found, clean_args, jsonable, valid_name
from .jsonrepair import RepairError, parse_value_at, repair_loads
from .pythonic import parse_pythonic

_ACTION = re.compile(r"[ \t>*_]*Action[*_]*[ \t]*:[ \t]*[*_`]*([A-Za-z_][\w.\-]*)[*_`]*[ \t]*\Z")
_ACTION_INPUT = re.compile(r"[ \t>*_]*Action[ _]Input[*_]*[ \t]*:[ \t]*(.*)\Z", re.S)
_VERB_BEFORE = re.compile(
    r"\b(call|calls|calling|use|uses|using|run|runs|running|invoke|invokes|invoking|execute|"
    r"executes|executing|trigger|triggering)\s+(?:the\s+|a\s+|my\s+)?(?:tool\s+|function\s+|"
    r"command\s+)?[`'\"*]*\Z",
    re.I,
)
_NEGATED = re.compile(
    r"\b(?:don't|do not|dont|never|won't|will not|shouldn't|should not|not|no need to|avoid)\s+"
    r"(?:\w+\s+){0,2}\Z",
    re.I,
)
_CONNECT = re.compile(
    r"[`'\"*]*\s*(?:tool|function|command)?\s*(?:with|using|passing|on|and|for)?\s*"
    r"(?:the\s+)?(?:arguments?|args|params|parameters|inputs?)?\s*[:=]?\s*",
    re.I,
)
_KV = re.compile(
    r"""\s*(?:,|;|\band\b)?\s*[`*]?([A-Za-z_]\w*)[`*]?\s*(?:=|:)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|[^\s,;'"`]+)""",
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# name(...) right after these is code, not a sentence: "x = read_file(...)", "await f(...)"
_CODE_BEFORE = re.compile(r"(?:[=.]|\b(?:return|await|def|yield|lambda|async))\s*[`'\"]?\Z")


def _kv_value(raw: str) -> object:
    if raw[:1] in "\"'":
        try:
            return ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return raw[1:-1]
    if raw[:1] == "`":
        return raw[1:-1]
    raw = raw.rstrip(".)")
    if _NUMBER.fullmatch(raw):
        return int(raw) if "." not in raw else float(raw)
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    return raw


def _prose_args(after: str) -> dict[str, object] | None:
    c = _CONNECT.match(after)
    rest = after[c.end():] if c else after
    if rest.startswith("{"):
        try:
            val, _end, _fixes = parse_value_at(rest, 0)
        except RepairError:
            return None
        return val if isinstance(val, dict) and val else None
    args: dict[str, object] = {}
    pos = 0
    while True:
        m = _KV.match(rest, pos)
        if m is None:
            break
        args[m.group(1)] = _kv_value(m.group(2))
        pos = m.end()
    return args or None


def _call_parens(line: str, start: int) -> int:
    """Index just after the ``)`` matching the ``(`` at ``start``, or -1."""
    depth = 0
    q = ""
    i = start
    n = len(line)
    while i < n:
        c = line[i]
        if q:
            if c == "\\":
                i += 2
                continue
            if c == q:
                q = ""
        elif c in "\"'":
            q = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


class LineTracker:
    """Feeds complete lines of visible text to the ReAct and prose-call readers."""

    def __init__(self, known: frozenset[str] | None,
                 commit: Callable[[Found, str, int, int], None]) -> None:
        self.known = known
        self.commit = commit
        self.cur: list[str] = []
        self.off = 0
        self.action: tuple[str, int] | None = None
        self.pending: tuple[list[str], int] | None = None
        self.prose: list[tuple[Found, int, int]] = []
        self.tools_re: re.Pattern[str] | None = None
        if known:
            names = sorted((re.escape(t) for t in known if t), key=len, reverse=True)
            if names:
                self.tools_re = re.compile(r"(?<![\w.\-])(" + "|".join(names) + r")(?![\w\-])")

    def add(self, s: str, off: int) -> None:
        if self.tools_re is None and self.pending is None:
            # Without a tool list only ReAct lines matter: skip lines that cannot be one.
            first = s.find("\n")
            if first < 0:
                if not self.cur:
                    self.off = off
                self.cur.append(s)
                return
            if self.cur:
                self.cur.append(s[:first])
                line = "".join(self.cur)
                self.cur = []
                self._line(line, self.off)
                if self.pending is not None:
                    self.add(s[first + 1:], off + first + 1)
                    return
            elif "ction" in s[:first]:
                self._line(s[:first], off)
                if self.pending is not None:
                    self.add(s[first + 1:], off + first + 1)
                    return
            last = s.rfind("\n")
            if last > first and "ction" in s[first + 1:last]:
                self._slow_add(s[first + 1:], off + first + 1)
                return
            if last + 1 < len(s):
                self.off = off + last + 1
                self.cur.append(s[last + 1:])
            return
        self._slow_add(s, off)

    def _slow_add(self, s: str, off: int) -> None:
        start = 0
        while True:
            j = s.find("\n", start)
            if j < 0:
                if start < len(s):
                    if not self.cur:
                        self.off = off + start
                    self.cur.append(s[start:])
                return
            if not self.cur:
                self.off = off + start
            self.cur.append(s[start:j])
            line = "".join(self.cur)
            self.cur = []
            self._line(line, self.off)
            start = j + 1

    def brk(self) -> None:
        """The visible text was interrupted by removed markup: end the current segment."""
        if self.cur:
            line = "".join(self.cur)
            self.cur = []
            self._line(line, self.off)

    def finish(self) -> None:
        self.brk()
        if self.pending is not None:
            self._finish_input(force=True)

    # -- lines ---------------------------------------------------------------------------

    def _line(self, line: str, off: int) -> None:
        if self.pending is not None:
            self.pending[0].append(line)
            self._finish_input(force=len(self.pending[0]) > 60)
            return
        if "ction" in line:
            m = _ACTION.match(line)
            if m is not None:
                self.action = (m.group(1), off)
                return
            m = _ACTION_INPUT.match(line)
            if m is not None and self.action is not None:
                self.pending = ([m.group(1)], off)
                self._finish_input(force=False)
                return
        if self.tools_re is not None:
            self._prose_line(line, off)

    def _finish_input(self, force: bool) -> None:
        assert self.pending is not None
        lines, off = self.pending
        raw = "\n".join(lines).strip()
        name, aoff = self.action if self.action else ("", off)
        if raw.startswith("{"):
            try:
                val, fixes = repair_loads(raw)
            except RepairError:
                val, fixes = None, []
            complete = isinstance(val, dict) and not any(
                f in fixes for f in ("unclosed_object", "unclosed_string", "unclosed_array")
            )
            if not complete and not force:
                return  # the JSON input goes on over the next lines
            self.pending = None
            self.action = None
            if isinstance(val, dict) and valid_name(name) and (
                self.known is None or name in self.known
            ):
                self.commit(Found(name, clean_args(val), None, list(fixes)), "react", aoff,
                            off + len("\n".join(lines)))
            return
        self.pending = None
        self.action = None
        if raw and self.known is not None and name in self.known:
            self.commit(Found(name, {"input": raw}), "react", aoff, off + len(raw))

    def _prose_line(self, line: str, off: int) -> None:
        assert self.tools_re is not None
        for m in self.tools_re.finditer(line):
            name = m.group(1)
            if not valid_name(name):
                continue
            after = line[m.end():]
            stripped = after.lstrip(" `'\"*")
            found: Found | None = None
            before = line[:m.start()]
            v = _VERB_BEFORE.search(before)
            verb = v is not None and not _NEGATED.search(before[:v.start()])
            if stripped.startswith("("):
                k = m.end() + (len(after) - len(stripped))
                end = _call_parens(line, k)
                if end > 0 and not _CODE_BEFORE.search(before):
                    calls, _fixes, _reason = parse_pythonic(
                        name + line[k:end], allow_bare=True, allow_empty=True
                    )
                    # "the `request()` signature" names a function; "call list_files()" calls it
                    if calls and (calls[0].arguments or verb):
                        found = calls[0]
            elif verb:
                args = _prose_args(after)
                if args:
                    found = Found(name, jsonable(args))
            if found is not None:
                self.prose.append((found, off + m.start(), off + len(line)))
