"""The two incremental tokenizers behind the scanner: where a (lenient) JSON value or a pythonic
call list ends, found chunk by chunk.

Each ``scan(s, i, eof)`` resumes where the previous one stopped and returns ``(Scan, index)``:
``NEED`` (the text so far is consistent, send more), ``DONE`` (the value closed just before
``index``), ``ABORT`` (``index`` holds what such a value cannot have there: it was prose), or
``END`` (the text ended inside the value). Their state is a few fields, so scanning is linear
whatever the chunking.
"""

from __future__ import annotations

import contextlib
import json
import re
from enum import IntEnum
from typing import Any


class Scan(IntEnum):
    """What a tokenizer step found."""

    NEED = 0
    DONE = 1
    ABORT = 2
    END = 3


# Module-level names for the hot loops (a global look-up, not an enum attribute look-up).
T_NEED, T_DONE, T_ABORT, T_END = Scan.NEED, Scan.DONE, Scan.ABORT, Scan.END

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


class JsonTokenizer:
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
                with contextlib.suppress(ValueError):
                    k = json.loads('"' + k + '"')
            if k in CALL_KEYS:
                self.callish = k

    def scan(self, s: str, i: int, eof: bool) -> tuple[Scan, int]:
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
                ws = _WSRUN.match(s, i)
                assert ws is not None  # c is whitespace
                i = ws.end()
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


class PyTokenizer:
    """Finds the end of a pythonic call list / call expression (strings and brackets)."""

    __slots__ = ("blank", "q", "stack")

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.q = ""
        self.blank = False

    def scan(self, s: str, i: int, eof: bool) -> tuple[Scan, int]:
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


_RAW_DECODE = json.JSONDecoder().raw_decode


def fast_json(buf: str, pos: int) -> tuple[Any, int] | None:
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


def callish_of(value: Any) -> str | None:
    """The first call-ish key of a decoded value, as ``JsonTokenizer`` would have captured it."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict):
            for k in item:
                if k in CALL_KEYS:
                    return str(k)
    return None

