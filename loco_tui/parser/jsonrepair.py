"""A lenient JSON reader that repairs what local models get wrong, and says what it fixed.

``repair_loads(text)`` returns ``(value, fixes)``. Valid JSON goes through the C decoder and
comes back with no fixes. Otherwise a small recursive-descent reader accepts: trailing and
doubled commas, single quotes, Python literals (``True``/``False``/``None``), ``undefined``,
unquoted keys, unquoted string values, ``//``, ``/* */`` and ``#`` comments, missing commas and
colons, mismatched or extra closing brackets, invalid escapes, raw control characters and
unescaped quotes inside strings, and text cut off at the end (unclosed strings, arrays,
objects). A key whose value never arrived is dropped, never invented; a string cut off by the
end of the text comes back as ``TruncatedStr`` so callers can refuse a half-typed name.

Fix names (stable, shown in the parse trace): see ``FIXES``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from json import decoder as _decoder
from typing import Any, cast

FIXES = (
    "trailing_comma", "extra_comma", "single_quotes", "python_literal", "js_literal",
    "unquoted_key", "unquoted_value", "comment", "missing_comma", "missing_colon",
    "missing_value", "dangling_key", "unclosed_string", "unclosed_array", "unclosed_object",
    "mismatched_bracket", "extra_closing_bracket", "invalid_escape", "control_character",
    "unescaped_quote", "truncated_value", "trailing_text",
)

MAX_DEPTH = 200


# The C string scanner of the json module (typeshed does not declare it).
_scanstring = cast(Callable[[str, int, bool], tuple[str, int]],
                   _decoder.scanstring)  # type: ignore[attr-defined]


def _ws_end(s: str, i: int) -> int:
    m = _WS.match(s, i)
    assert m is not None  # the pattern matches the empty string
    return m.end()


class RepairError(ValueError):
    """The text holds no recoverable JSON value."""


class TruncatedStr(str):
    """A string whose closing quote never came: the text ended inside it."""

    __slots__ = ()


class _EOF(Exception):
    """The text ended where a value should start."""


_WS = re.compile(r"[ \t\r\n\ufeff\u00a0]*")
_NUM = re.compile(r"[-+]?(?:\d[\d_]*)?(?:\.\d*)?(?:[eE][-+]?\d*)?")
_WORD = re.compile(r"[A-Za-z_$][\w$]*")
_BAREKEY = re.compile(r"[\w$\-.]+")
_UNQUOTED_VALUE = re.compile(r"[^,}\]\n]*")
_STOP = {"dq": re.compile(r'["\\]'), "sq": re.compile(r"['\\]")}
_CLOSE_OK = frozenset(",}]:")
_ESC = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
        "'": "'"}
_LITERALS: dict[str, tuple[Any, str | None]] = {
    "true": (True, None), "false": (False, None), "null": (None, None),
    "True": (True, "python_literal"), "False": (False, "python_literal"),
    "None": (None, "python_literal"), "undefined": (None, "js_literal"),
    "NaN": (math.nan, "js_literal"), "Infinity": (math.inf, "js_literal"),
}


class _Reader:
    __slots__ = ("depth", "fixes", "i", "n", "s")

    def __init__(self, s: str, i: int = 0) -> None:
        self.s = s
        self.n = len(s)
        self.i = i
        self.fixes: list[str] = []
        self.depth = 0

    def fix(self, name: str) -> None:
        if name not in self.fixes:
            self.fixes.append(name)

    def ws(self) -> None:
        s, n = self.s, self.n
        i = _ws_end(s, self.i)
        while i < n:
            c = s[i]
            if (c == "/" and i + 1 < n and s[i + 1] == "/") or c == "#":
                j = s.find("\n", i)
                i = n if j < 0 else j + 1
            elif c == "/" and i + 1 < n and s[i + 1] == "*":
                j = s.find("*/", i + 2)
                i = n if j < 0 else j + 2
            else:
                break
            self.fix("comment")
            i = _ws_end(s, i)
        self.i = i

    def value(self) -> Any:
        self.ws()
        if self.i >= self.n:
            raise _EOF
        c = self.s[self.i]
        if c == "{":
            return self.obj()
        if c == "[":
            return self.arr()
        if c == '"' or c == "'":
            return self.string()
        if c in "-+.0123456789":
            return self.number()
        if c.isalpha() or c in "_$":
            return self.word()
        raise RepairError(f"unexpected {c!r} at {self.i}")

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RepairError("nested too deeply")

    def obj(self) -> dict[str, Any]:
        self._enter()
        s, n = self.s, self.n
        self.i += 1
        out: dict[str, Any] = {}
        while True:
            self.ws()
            if self.i >= n:
                self.fix("unclosed_object")
                break
            c = s[self.i]
            if c == "}":
                self.i += 1
                break
            if c == "]":
                self.fix("mismatched_bracket")
                break
            if c == ",":
                self.fix("extra_comma")
                self.i += 1
                continue
            if c == '"' or c == "'":
                key = self.string(key=True)
                if isinstance(key, TruncatedStr):
                    self.fix("dangling_key")
                    self.fix("unclosed_object")
                    break
            else:
                m = _BAREKEY.match(s, self.i)
                if m is None:
                    raise RepairError(f"bad key at {self.i}")
                key = m.group()
                self.i = m.end()
                self.fix("unquoted_key")
            self.ws()
            if self.i >= n:
                self.fix("dangling_key")
                self.fix("unclosed_object")
                break
            c = s[self.i]
            if c == ":" or c == "=":
                self.i += 1
            else:
                self.fix("missing_colon")
            self.ws()
            if self.i >= n:
                self.fix("dangling_key")
                self.fix("unclosed_object")
                break
            c = s[self.i]
            if c == "," or c == "}":
                self.fix("missing_value")
                if c == ",":
                    self.i += 1
                continue
            try:
                out[key] = self.value()
            except _EOF:
                self.fix("dangling_key")
                self.fix("unclosed_object")
                break
            self.ws()
            if self.i >= n:
                self.fix("unclosed_object")
                break
            c = s[self.i]
            if c == ",":
                self.i += 1
                self.ws()
                if self.i < n and s[self.i] == "}":
                    self.fix("trailing_comma")
            elif c == "}":
                self.i += 1
                break
            elif c == "]":
                self.fix("mismatched_bracket")
                break
            elif c in "\"'" or c.isalpha() or c == "_":
                self.fix("missing_comma")
            else:
                raise RepairError(f"unexpected {c!r} in object at {self.i}")
        self.depth -= 1
        return out

    def arr(self) -> list[Any]:
        self._enter()
        s, n = self.s, self.n
        self.i += 1
        out: list[Any] = []
        while True:
            self.ws()
            if self.i >= n:
                self.fix("unclosed_array")
                break
            c = s[self.i]
            if c == "]":
                self.i += 1
                break
            if c == "}":
                self.fix("mismatched_bracket")
                break
            if c == ",":
                self.fix("extra_comma")
                self.i += 1
                continue
            try:
                out.append(self.value())
            except _EOF:
                self.fix("unclosed_array")
                break
            self.ws()
            if self.i >= n:
                self.fix("unclosed_array")
                break
            c = s[self.i]
            if c == ",":
                self.i += 1
                self.ws()
                if self.i < n and s[self.i] == "]":
                    self.fix("trailing_comma")
            elif c == "]":
                self.i += 1
                break
            elif c == "}":
                self.fix("mismatched_bracket")
                break
            elif c in "\"'{[-0123456789" or c.isalpha():
                self.fix("missing_comma")
            else:
                raise RepairError(f"unexpected {c!r} in array at {self.i}")
        self.depth -= 1
        return out

    def _closes_here(self, j: int) -> bool:
        """Is the quote at ``j`` a closing quote (rather than one the model forgot to escape)?"""
        s, n = self.s, self.n
        k = j + 1
        while k < n and s[k] in " \t\r":
            k += 1
        if k >= n or s[k] in _CLOSE_OK or s[k] == "\n":
            return True
        # "a" "b": a closing quote and a missing comma (not a quote the model forgot to escape)
        return s[k] == s[j] and (k + 1 >= n or s[k + 1] not in " \t")

    def string(self, key: bool = False) -> str:
        s = self.s
        i = self.i
        if s[i] == '"':
            try:
                val, end = _scanstring(s, i + 1, True)
            except ValueError:
                pass
            else:
                # A key never holds a stray quote: its first closing quote ends it.
                if key or self._closes_here(end - 1):
                    self.i = end
                    return val
        return self._slow_string()

    def _slow_string(self) -> str:
        start = self.i
        fixes = len(self.fixes)
        val = self._scan_string(raw=False)
        if "invalid_escape" in self.fixes[fixes:]:
            # "C:\dir\file.txt": the backslashes were meant literally, so read them all that way
            # (otherwise "\f" of "\file" would become a form feed).
            del self.fixes[fixes:]
            self.fix("invalid_escape")
            self.i = start
            val = self._scan_string(raw=True)
        return val

    def _scan_string(self, raw: bool) -> str:
        s, n = self.s, self.n
        q = s[self.i]
        if q == "'":
            self.fix("single_quotes")
        stop = _STOP["dq" if q == '"' else "sq"]
        i = self.i + 1
        out: list[str] = []
        while True:
            m = stop.search(s, i)
            if m is None:
                out.append(s[i:])
                self.fix("unclosed_string")
                self.i = n
                return self._finish_str(out, truncated=True)
            j = m.start()
            out.append(s[i:j])
            if s[j] == "\\":
                if j + 1 >= n:
                    self.fix("unclosed_string")
                    self.i = n
                    return self._finish_str(out, truncated=True)
                e = s[j + 1]
                if raw and e not in ("\\", q):
                    out.append("\\")
                    i = j + 1
                elif e in _ESC:
                    out.append(_ESC[e])
                    i = j + 2
                elif e == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", s[j + 2:j + 6] or ""):
                    code = int(s[j + 2:j + 6], 16)
                    i = j + 6
                    if 0xD800 <= code < 0xDC00 and s.startswith("\\u", i) and re.fullmatch(
                        r"[0-9a-fA-F]{4}", s[i + 2:i + 6] or ""
                    ):
                        low = int(s[i + 2:i + 6], 16)
                        if 0xDC00 <= low < 0xE000:
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            i += 6
                    out.append(chr(code) if not 0xD800 <= code < 0xE000 else "\ufffd")
                else:
                    # "C:\dir" — keep the backslash the model meant literally.
                    self.fix("invalid_escape")
                    out.append("\\" + e)
                    i = j + 2
                continue
            if self._closes_here(j):
                self.i = j + 1
                return self._finish_str(out, truncated=False)
            self.fix("unescaped_quote")
            out.append(q)
            i = j + 1

    def _finish_str(self, out: list[str], truncated: bool) -> str:
        val = "".join(out)
        if any(ord(ch) < 0x20 for ch in val):
            self.fix("control_character")
        return TruncatedStr(val) if truncated else val

    def number(self) -> Any:
        s, n = self.s, self.n
        m = _NUM.match(s, self.i)
        assert m is not None  # the pattern matches the empty string
        tok = m.group()
        end = m.end()
        if end < n and (s[end].isalpha() or s[end] == "_"):
            # "3rd", "1px", "2024-01-01T..." — a bare value, not a number.
            return self.word()
        body = tok.replace("_", "")
        if end >= n:
            # The text ends inside the number: trim what cannot end one.
            trimmed = body.rstrip("eE+-.")
            if trimmed != body:
                self.fix("truncated_value")
            body = trimmed
        if body in ("", "+", "-"):
            if end >= n:
                raise _EOF
            raise RepairError(f"bad number at {self.i}")
        self.i = end
        try:
            if re.fullmatch(r"[-+]?\d+", body):
                return int(body)
            return float(body)
        except ValueError:
            raise RepairError(f"bad number {tok!r}") from None

    def word(self) -> Any:
        s, n = self.s, self.n
        m = _WORD.match(s, self.i)
        w = m.group() if m else ""
        if m is not None and w in _LITERALS and (
                m.end() >= n or not (s[m.end()].isalnum() or s[m.end()] in "-.")):
            val, fix = _LITERALS[w]
            if fix:
                self.fix(fix)
            self.i = m.end()
            return val
        if m is not None and m.end() >= n and any(lit.startswith(w) for lit in _LITERALS):
            # "tru" at the very end: a literal cut off. Do not guess it.
            self.i = n
            raise _EOF
        v = _UNQUOTED_VALUE.match(s, self.i)
        assert v is not None  # the pattern matches the empty string
        raw = v.group()
        self.i = v.end()
        self.fix("unquoted_value")
        return raw.strip()


def repair_loads(text: str) -> tuple[Any, list[str]]:
    """Read one JSON value from ``text`` (leading/trailing whitespace allowed), repairing it.

    Raises ``RepairError`` when nothing recoverable is there. Never raises anything else."""
    try:
        return json.loads(text), []
    except (ValueError, RecursionError):
        pass
    try:
        return _repair(text)
    except RepairError:
        raise
    except (RecursionError, ValueError, IndexError, OverflowError) as e:  # pragma: no cover - guard
        raise RepairError(str(e)) from None


def _repair(text: str) -> tuple[Any, list[str]]:
    r = _Reader(text)
    try:
        value = r.value()
    except _EOF:
        raise RepairError("no value") from None
    if "unquoted_value" in r.fixes and isinstance(value, str):
        raise RepairError("bare text, not a JSON value")
    r.ws()
    while r.i < r.n and r.s[r.i] in "}]":
        r.fix("extra_closing_bracket")
        r.i += 1
        r.ws()
    if r.i < r.n:
        r.fix("trailing_text")
    return value, r.fixes


def parse_value_at(text: str, pos: int = 0) -> tuple[Any, int, list[str]]:
    """Read one JSON value starting at ``pos`` (after optional whitespace); return it, the index
    just after it, and the fixes. Raises ``RepairError``."""
    r = _Reader(text, pos)
    try:
        value = r.value()
    except _EOF:
        raise RepairError("no value") from None
    except RecursionError:
        raise RepairError("nested too deeply") from None
    return value, r.i, r.fixes


def plain(value: Any) -> Any:
    """``value`` with every ``TruncatedStr`` turned back into a plain ``str``."""
    if isinstance(value, str):
        return str.__str__(value) if type(value) is not str else value
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
