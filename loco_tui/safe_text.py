"""Untrusted text made safe to show in a terminal.

Model replies, server error bodies, model names from servers and values echoed back from a
registry file are untrusted: a reply holding ``ESC ] 52 ;`` writes the user's clipboard,
``ESC ] 0 ;`` sets the window title, CSI sequences clear or recolour the screen, and CR or
backspace hide text already printed. Every terminal-facing path passes such text through
:func:`neutralise`, which keeps newline and tab and shows every other C0/C1 control (and the
bidirectional overrides that reorder text on screen) as a visible stand-in:

- C0 controls and DEL become their Unicode control pictures (ESC -> ``␛``, CR -> ``␍``);
- C1 controls (U+0080..U+009F, which some terminals read as 8-bit CSI/OSC) become ``\\x9b``;
- bidi overrides and isolates (U+202A..U+202E, U+2066..U+2069) become ``<U+202E>``;
- lone surrogates (which no terminal encoding can write) become U+FFFD.

Nothing is dropped, so what was hidden stays readable. JSON output does not need this: JSON
escapes control characters itself and stays lossless.
"""

from __future__ import annotations

import re

__all__ = ["has_controls", "neutralise", "neutralise_line"]


def _table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x20):
        if code not in (0x0A, 0x09):
            table[code] = chr(0x2400 + code)
    table[0x7F] = "\u2421"  # ␡
    for code in range(0x80, 0xA0):
        table[code] = f"\\x{code:02x}"
    for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)):
        table[code] = f"<U+{code:04X}>"
    for code in range(0xD800, 0xE000):
        table[code] = "\ufffd"
    return table


_TABLE = _table()
# One C-level scan decides whether translating is needed at all: almost every piece of a
# streamed reply is clean, and the scan is several times cheaper than translate().
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LINE_TABLE = {**_TABLE, 0x0A: "\u2424", 0x09: "\u2409"}  # ␤ ␉


def has_controls(text: str) -> bool:
    """Whether ``text`` holds anything :func:`neutralise` would change."""
    return _UNSAFE.search(text) is not None


def neutralise(text: str) -> str:
    """``text`` with every control except newline and tab shown as a visible stand-in."""
    if _UNSAFE.search(text) is None:
        return text
    return text.translate(_TABLE)


def neutralise_line(text: str) -> str:
    """Like :func:`neutralise`, for one-line places (titles, table cells, status lines):
    newline and tab are shown as ``␤`` and ``␉`` too, so nothing can break the line."""
    if _UNSAFE_LINE.search(text) is None:
        return text
    return text.translate(_LINE_TABLE)
