"""Where each key of a TOML document is written: key path -> (line, column).

``tomllib`` gives values but no positions, so validation errors would have no line number.
This module scans the same text once and records, for every key path, where it starts:

* a table header ``[a.b]`` records ``("a", "b")`` (and ``("a",)`` if not seen before);
* the n-th ``[[a.b]]`` records ``("a", "b", n)``; later headers and keys inside it resolve
  to that element (``[a.b.c]`` after it is ``("a", "b", n, "c")``);
* a key ``x.y = ...`` records ``(*table, "x")`` and ``(*table, "x", "y")`` at the key;
* inside inline tables and arrays, each key and each array element is recorded where it is
  written, so an element of a multi-line array of inline tables has its own line.

Paths use the same shape as pydantic error locations (strings for keys, ints for array
indices), so ``KeyIndex.line_of(loc)`` answers "which line is this error about". A path
that is not written anywhere (a missing key) resolves to its nearest written ancestor: a
missing required field points at its table header.

The scanner assumes text that ``tomllib`` already accepted; on anything else it stops
quietly and keeps what it found (positions are a courtesy, never a second parser's error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Path = tuple[str | int, ...]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_ESCAPES = {
    "b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\", "e": "\x1b"
}


@dataclass
class KeyIndex:
    """Positions (1-based line, 1-based column) of the key paths of one TOML document."""

    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Sequence[str | int]) -> tuple[int, int] | None:
        """The position of ``path`` or of its nearest recorded ancestor (None for the root)."""
        key = tuple(path)
        while key:
            found = self.positions.get(key)
            if found is not None:
                return found
            key = key[:-1]
        return None

    def line_of(self, path: Sequence[str | int]) -> int | None:
        found = self.position(path)
        return None if found is None else found[0]

    def exact(self, path: Sequence[str | int]) -> tuple[int, int] | None:
        return self.positions.get(tuple(path))

    def __contains__(self, path: object) -> bool:
        return isinstance(path, tuple) and path in self.positions


def index_keys(text: str) -> KeyIndex:
    """Scan TOML text and return the position of every key path it writes."""
    scanner = _Scanner(text)
    try:
        scanner.document()
    except _Stop:
        pass
    except (IndexError, ValueError):  # defensive: never let positions break error reporting
        pass
    return KeyIndex(scanner.positions)


class _Stop(Exception):
    pass


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.n = len(text)
        self.line = 1
        self.line_start = 0
        self.positions: dict[Path, tuple[int, int]] = {}
        # Arrays of tables seen so far (resolved path -> number of elements).
        self.aot: dict[Path, int] = {}

    # -- low level -------------------------------------------------------------------------
    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < self.n else ""

    def pos(self) -> tuple[int, int]:
        return (self.line, self.i - self.line_start + 1)

    def advance(self, k: int = 1) -> None:
        for _ in range(k):
            if self.i >= self.n:
                return
            if self.s[self.i] == "\n":
                self.line += 1
                self.line_start = self.i + 1
            self.i += 1

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            raise _Stop
        self.advance()

    def skip_ws(self) -> None:
        while self.peek() in (" ", "\t"):
            self.i += 1

    def skip_comment(self) -> None:
        if self.peek() == "#":
            while self.i < self.n and self.s[self.i] != "\n":
                self.i += 1

    def skip_ws_nl_comments(self) -> None:
        while True:
            c = self.peek()
            if c in (" ", "\t", "\r"):
                self.i += 1
            elif c == "\n":
                self.advance()
            elif c == "#":
                self.skip_comment()
            else:
                return

    def end_of_line(self) -> None:
        self.skip_ws()
        self.skip_comment()
        if self.peek() == "\r":
            self.i += 1
        if self.peek() == "\n":
            self.advance()
        elif self.i < self.n:
            raise _Stop

    def record(self, path: Path, pos: tuple[int, int]) -> None:
        self.positions.setdefault(path, pos)

    # -- keys ------------------------------------------------------------------------------
    def simple_key(self) -> str:
        c = self.peek()
        if c == '"':
            return self.basic_string()
        if c == "'":
            return self.literal_string()
        start = self.i
        while self.peek() in _BARE and self.peek() != "":
            self.i += 1
        if self.i == start:
            raise _Stop
        return self.s[start : self.i]

    def dotted_key(self) -> list[str]:
        keys = [self.simple_key()]
        while True:
            self.skip_ws()
            if self.peek() != ".":
                return keys
            self.i += 1
            self.skip_ws()
            keys.append(self.simple_key())

    # -- strings ---------------------------------------------------------------------------
    def basic_string(self) -> str:
        if self.s.startswith('"""', self.i):
            return self.multiline(quote='"', escapes=True)
        self.i += 1
        out: list[str] = []
        while True:
            c = self.peek()
            if c == "" or c == "\n":
                raise _Stop
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                out.append(self.escape())
                continue
            out.append(c)
            self.i += 1

    def escape(self) -> str:
        nxt = self.peek(1)
        if nxt in _ESCAPES:
            self.i += 2
            return _ESCAPES[nxt]
        if nxt in ("u", "U"):
            width = 4 if nxt == "u" else 8
            digits = self.s[self.i + 2 : self.i + 2 + width]
            self.i += 2 + width
            try:
                return chr(int(digits, 16))
            except ValueError:
                raise _Stop from None
        if nxt == "x":
            digits = self.s[self.i + 2 : self.i + 4]
            self.i += 4
            try:
                return chr(int(digits, 16))
            except ValueError:
                raise _Stop from None
        raise _Stop

    def literal_string(self) -> str:
        if self.s.startswith("'''", self.i):
            return self.multiline(quote="'", escapes=False)
        self.i += 1
        end = self.s.find("'", self.i)
        nl = self.s.find("\n", self.i)
        if end < 0 or (0 <= nl < end):
            raise _Stop
        value = self.s[self.i : end]
        self.i = end + 1
        return value

    def multiline(self, quote: str, escapes: bool) -> str:
        # Only the extent matters here (multi-line strings are values, never keys).
        delim = quote * 3
        self.advance(3)
        start = self.i
        while True:
            c = self.peek()
            if c == "":
                raise _Stop
            if escapes and c == "\\":
                self.advance(2)
                continue
            if self.s.startswith(delim, self.i):
                # Up to two quotes may sit right before the closing delimiter.
                extra = 0
                while extra < 2 and self.peek(3 + extra) == quote:
                    extra += 1
                value = self.s[start : self.i + extra]
                self.advance(3 + extra)
                return value
            self.advance()

    # -- values ----------------------------------------------------------------------------
    def value(self, path: Path) -> None:
        c = self.peek()
        if c == '"':
            self.basic_string()
        elif c == "'":
            self.literal_string()
        elif c == "[":
            self.array(path)
        elif c == "{":
            self.inline_table(path)
        else:
            start = self.i
            while self.peek() not in ("", ",", "]", "}", "#", "\n", "\r"):
                self.i += 1
            if self.i == start:
                raise _Stop

    def array(self, path: Path) -> None:
        self.advance()  # [
        index = 0
        while True:
            self.skip_ws_nl_comments()
            if self.peek() == "]":
                self.advance()
                return
            element = (*path, index)
            self.record(element, self.pos())
            self.value(element)
            index += 1
            self.skip_ws_nl_comments()
            if self.peek() == ",":
                self.advance()
            elif self.peek() == "]":
                self.advance()
                return
            else:
                raise _Stop

    def inline_table(self, path: Path) -> None:
        self.advance()  # {
        while True:
            # TOML 1.0 inline tables are single-line; tolerate newlines anyway (TOML 1.1).
            self.skip_ws_nl_comments()
            if self.peek() == "}":
                self.advance()
                return
            self.keyval(path)
            self.skip_ws_nl_comments()
            if self.peek() == ",":
                self.advance()
            elif self.peek() == "}":
                self.advance()
                return
            else:
                raise _Stop

    def keyval(self, table: Path) -> None:
        at = self.pos()
        keys = self.dotted_key()
        path = table
        for key in keys:
            path = (*path, key)
            self.record(path, at)
        self.skip_ws()
        self.expect("=")
        self.skip_ws()
        self.value(path)

    # -- document --------------------------------------------------------------------------
    def resolve(self, keys: list[str]) -> Path:
        """A header's path, entering the current element of every array of tables on it."""
        path: Path = ()
        for key in keys:
            path = (*path, key)
            count = self.aot.get(path)
            if count:
                path = (*path, count - 1)
        return path

    def document(self) -> None:
        table: Path = ()
        while True:
            self.skip_ws_nl_comments()
            if self.i >= self.n:
                return
            at = self.pos()
            if self.s.startswith("[[", self.i):
                self.i += 2
                self.skip_ws()
                keys = self.dotted_key()
                self.skip_ws()
                self.expect("]")
                self.expect("]")
                array = (*self.resolve(keys[:-1]), keys[-1])
                self.record_prefixes(array, at)
                count = self.aot.get(array, 0)
                self.aot[array] = count + 1
                self.record(array, at)
                table = (*array, count)
                self.record(table, at)
                self.end_of_line()
            elif self.peek() == "[":
                self.i += 1
                self.skip_ws()
                keys = self.dotted_key()
                self.skip_ws()
                self.expect("]")
                table = self.resolve(keys)
                self.record_prefixes(table, at)
                # An explicit header wins over an earlier implicit mention ([a.b] before [a]).
                self.positions[table] = at
                self.end_of_line()
            else:
                self.keyval(table)
                self.end_of_line()

    def record_prefixes(self, path: Path, at: tuple[int, int]) -> None:
        """Record the strict ancestors of ``path`` (implicitly created tables) at ``at``."""
        for k in range(1, len(path)):
            self.record(path[:k], at)
