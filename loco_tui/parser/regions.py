"""The scanner's state records: which mode it is in, the region it is inside, the look-ahead
after a marker, and what an extractor hands back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .calls import Found
    from .dialects import Dialect
    from .types import ToolCall


class Mode(IntEnum):
    """What the scanner is doing; indexes its table of step methods."""

    PROSE = 0  # visible text, looking for anything that opens a region
    TAG = 1  # inside a region closed by a marker (think-block, fence, wrapper, ...)
    JSON = 2  # inside a JSON value: the JSON tokenizer finds its end
    PY = 3  # inside a pythonic call list: the Python tokenizer finds its end
    AFTER = 4  # right after a marker: what kind of call comes next?


class Kind(Enum):
    """What a region is, which decides what closing it means."""

    THINK = "think"  # reasoning: kept aside, never read for calls
    CODE = "code"  # a fence in a programming language: visible text
    FENCE = "fence"  # a fence of data (json, xml, tool_code): read as a small document
    CALLS = "calls"  # a dialect's markup: its extractor reads the content
    TOOL_NAME = "tool_name"  # <tool>name</tool>, waiting for <params>
    PARAMS = "params"  # <params>...</params> after <tool>name</tool>
    XMLTAG = "xmltag"  # <tool_name><arg>v</arg></tool_name>
    HEADER = "header"  # gpt-oss harmony: a message header up to <|message|>
    JSON = "json"  # a JSON value (bare, or after a marker)
    PY = "py"  # a pythonic call list or expression


@dataclass
class Region:
    kind: Kind
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
    spec: Dialect | None = None  # the table entry that opened a CALLS region
    # Streaming previews: the content size and the arguments last previewed.
    preview_size: int = 0
    preview_args: Any = None


@dataclass
class After:
    dialect: str
    start: int
    cont: bool = False
    name: str | None = None
    raw: str = ""


# (what was found, the format label, the repairs it needed, its offset)
Candidate = tuple["Found", str, list[str], int]


class Host(Protocol):
    """What an extractor may ask of the scanner that closed the region."""

    known: frozenset[str] | None
    schemas: Mapping[str, Mapping[str, Any]] | None
    payload: str | None

    def nested(self, content: str, base: int, *, payload: str | None,
               lang: str | None = None) -> list[ToolCall]:
        """The calls of ``content`` read as a small document of its own."""
        ...
