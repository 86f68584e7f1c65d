"""Reading Loco's TOML files (the registry, eval suites, tool suites) with every problem as
a ``ConfigIssue``: ``file:line: message``, never a traceback.

What each file means is its loader's business; this module reads the text, parses it, and
maps pydantic's error locations back onto keys written in the file.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)$")
_TOML_END = re.compile(r"\(at end of document\)$")
# tomllib names keys as Python tuples: "Cannot declare ('roles',) twice".
_TOML_KEY_TUPLE = re.compile(r"\((?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|,\s*)+\)")


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a TOML file, at a line when the line is known."""

    path: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        if self.column is None:
            return f"{self.path}:{self.line}: {self.message}"
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class ConfigError(Exception):
    """A file that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues: list[ConfigIssue] = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)

    def lines(self) -> list[str]:
        return [str(issue) for issue in self.issues]


def read_toml_text(path: Path, error: type[ConfigError] = ConfigError) -> str:
    """The text of the file at ``path``; ``error`` (one issue) when it cannot be read."""
    try:
        # utf-8-sig: a BOM (some Windows editors add one) is not a syntax error.
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise error([ConfigIssue(str(path), None, None, "file not found")]) from None
    except IsADirectoryError:
        raise error(
            [ConfigIssue(str(path), None, None, "is a directory, not a TOML file")]
        ) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise error(
            [ConfigIssue(str(path), line, None, "not UTF-8 text (TOML files are UTF-8)")]
        ) from None
    except OSError as exc:
        raise error(
            [ConfigIssue(str(path), None, None, f"cannot read: {exc.strerror or exc}")]
        ) from None


def parse_toml(text: str, source: str, error: type[ConfigError] = ConfigError) -> dict[str, Any]:
    """``text`` parsed; ``error`` (one issue, at the line tomllib names) on a syntax error."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line = column = None
        found = _TOML_POS.search(message)
        if found:  # Python 3.11's tomllib says where only in its message
            line, column = int(found.group(1)), int(found.group(2))
            message = message[: found.start()].rstrip()
        elif end := _TOML_END.search(message):
            line = text.count("\n") + (0 if text.endswith("\n") else 1)
            message = message[: end.start()].rstrip()
        message = _TOML_KEY_TUPLE.sub(_key_tuple_as_header, message)
        message = f"TOML syntax error: {message[:1].lower()}{message[1:]}"
        raise error([ConfigIssue(source, line, column, message)]) from None


def _key_tuple_as_header(found: re.Match[str]) -> str:
    try:
        keys = ast.literal_eval(found.group(0))
    except (ValueError, SyntaxError):
        return found.group(0)
    if isinstance(keys, str):
        keys = (keys,)
    return f"[{format_path(keys)}]"


def format_path(loc: Sequence[str | int]) -> str:
    """``("models", "qwen", "size")`` -> ``models.qwen.size``; indices as ``[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part if _BARE_KEY.match(part) else '"' + part.replace('"', '\\"') + '"'
            out += f".{key}" if out else key
    return out


def walk_location(loc: Sequence[Any], data: Any, tag: str) -> tuple[KeyPath, KeyPath]:
    """Map a pydantic error location onto the document: (the keys the file holds, the parts
    from the first one it does not hold on).

    Pydantic adds discriminator values (``providers.x.ollama.host``, where ``tag`` is the
    discriminating key, ``kind = "ollama"``) and union branch names (``keep_alive.str``) to
    locations; discriminator values are dropped, and a branch name is the first part the
    file does not hold.
    """
    path: list[str | int] = []
    cur = data
    for i, part in enumerate(loc):
        if isinstance(cur, dict) and isinstance(part, str):
            if part in cur:
                path.append(part)
                cur = cur[part]
                continue
            if cur.get(tag) == part:
                continue
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            path.append(part)
            cur = cur[part]
            continue
        return tuple(path), tuple(loc[i:])
    return tuple(path), ()
