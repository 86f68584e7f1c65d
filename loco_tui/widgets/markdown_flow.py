"""Markdown streamed into wrapped lines: finished blocks rendered once, only the open block
re-rendered per append.

The open *region* is the source from the start of the last top-level block that may still
change. Each append re-parses only the region; every block in it that is followed by a block
whose start is certain is final, so it is rendered once into the line buffer and cut from
the region. A start is certain once its line is complete (a partial ``#`` can still become
``#hashtag``), and for a table once its delimiter row is complete too.

Three shortcuts keep an append's cost in proportion to what it adds; none changes the final
lines, because whatever is open is rendered again from its whole source when it closes:

- A fenced code block at the top level leaves markdown-it: each completed line is
  highlighted once (the lexer's state carried over) and committed, the unfinished line is
  shown highlighted without moving that state, and a closing fence ends the block.
- A region larger than ``OPEN_LIMIT`` is shown as plain source lines, and parsed again only
  when it has grown by half, or by 2 KB ending in a line that can start a block.
- Newlines after a blank line are counted, not parsed, until a line follows them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from textual.content import Content
from textual.strip import Strip

from loco_tui.safe_text import neutralise
from loco_tui.widgets.code_highlight import LineHighlighter
from loco_tui.widgets.markdown_render import (
    Block,
    BlockRenderer,
    code_label,
    code_line,
    parse,
    top_level_blocks,
)
from loco_tui.widgets.pane_styles import PaneStyles
from loco_tui.widgets.plain_flow import BLANK, LineBuffer, PlainFlow, to_strip

OPEN_LIMIT = 6000  # characters of open region re-rendered whole on each append
REPARSE_STEP = 2048
# A complete line that may start a new block while a long region is shown as plain text.
_BLOCK_START = re.compile(r"^(?:[ \t]*$| {0,3}(?:```|~~~|#|>|[-*+] |\d{1,9}[.)] |\|))")
_FENCE_CLOSE = re.compile(r"[ \t]*$")

def _certain(block: Block, lines: list[str], complete: int) -> bool:
    """Whether later text can no longer change where ``block`` starts or what it is.
    Its first line must be complete; and markdown-it tries tables first, so a first line
    with a pipe (a heading, an item, even a fence opener) is a table's header if the next
    line is a delimiter row: that line must be complete too ("a | b" then a partial
    "|---|-" parses as a table; the completed "|---|---|x" is no delimiter row)."""
    first = lines[block.start] if block.start < len(lines) else ""
    needed = 2 if block.kind == "table_open" or "|" in first else 1
    return block.start + needed <= complete

# Longest unfinished code line shown highlighted; longer ones show their first part plain.
_PEEK_LIMIT = 2000


@dataclass
class _Fence:
    marker: str  # the run of ` or ~ that opened it
    indent: int  # columns of the opening line's indentation (stripped from code lines)
    info: str
    highlighter: LineHighlighter
    lines: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    partial_size: int = 0


class MarkdownFlow:
    """Streams Markdown source into ``buffer`` from ``start``."""

    def __init__(self, buffer: LineBuffer, start: int, width: int, styles: PaneStyles,
                 on_code: Callable[[str, list[str]], None] | None = None) -> None:
        self.buffer = buffer
        self.start = start  # first line of the open region's display
        self.width = width
        self.styles = styles
        self.on_code = on_code
        self.renderer = BlockRenderer(styles, width, on_code)
        self.blocks_done = 0
        self.blocks_rendered = 0  # block renders (committed or open), for tests and benches
        self._region: list[str] = []
        self._region_size = 0
        self._held_newlines = 0
        self._held_at = 0  # where in the region the held newlines belong
        self._fence: _Fence | None = None
        self._plain: PlainFlow | None = None  # the display of a region over OPEN_LIMIT
        self._parsed_size = 0
        self._blank_code: list[Strip] = []  # one shared strip set for every empty code line
        self._open_strips: dict[int, tuple[Content, Strip]] = {}  # the open display, by line

    # -- input -------------------------------------------------------------------------------

    def feed(self, text: str) -> None:
        if not text:
            return
        text = neutralise(text)
        if self._fence is not None:
            rest = self._feed_fence(text)
            if rest is None:
                return
            text = rest
            if not text:
                return
        if self._region_size and text.strip("\n") == "" and self._region_ends_blank():
            if not self._held_newlines:
                self._held_at = self._region_size
            self._held_newlines += len(text)  # nothing to show until text follows
            return
        self._append(text)
        self._update(new_line="\n" in text, appended=text)

    def finish(self) -> None:
        """End of stream: everything open is rendered from its whole source and final."""
        if self._fence is not None:
            fence = self._fence
            if fence.partial_size:
                line = "".join(fence.partial)
                fence.partial, fence.partial_size = [], 0
                # markdown-it drops a last line of only spaces when no newline ends it.
                if line.strip(" \t") and not self._closes(fence, line):
                    self._code_line(fence, line)
            self._fence = None
            self.blocks_done += 1
            self.buffer.replace_from(self.start, [])
        self._release_held()
        if self._region_size:
            self._update(final=True)
        self._region, self._region_size = [], 0
        self._open_strips = {}
        self.renderer.forget()  # a finished pane keeps its lines, not what drew them

    # -- the region ----------------------------------------------------------------------------

    def _append(self, text: str) -> None:
        self._region.append(text)
        self._region_size += len(text)
        if "\n" in text:
            self._release_held()

    def _release_held(self) -> None:
        """Put held newlines back where they were held. They stay out while the line after
        them is unfinished: no block boundary can be decided until it ends, and until then
        the open display is parsed with the run shown as one blank line."""
        if self._held_newlines:
            source, at = self._source(), self._held_at
            self._region = [source[:at] + "\n" * self._held_newlines + source[at:]]
            self._region_size += self._held_newlines
            self._held_newlines = 0

    def _source(self) -> str:
        if len(self._region) > 1:
            self._region = ["".join(self._region)]
        return self._region[0] if self._region else ""

    def _region_ends_blank(self) -> bool:
        tail = self._region[-1] if self._region else ""
        if len(tail) < 2:
            tail = self._source()[-2:]
        return tail.endswith("\n\n")

    def _update(self, *, final: bool = False, new_line: bool = True, appended: str = "") -> None:
        if not final and self._region_size > OPEN_LIMIT:
            if self._plain is not None and not self._reparse_due(new_line, appended):
                self._plain.feed(appended)
                return
            self._parsed_size = self._region_size
        source = self._source()
        if not source.strip():
            if source.endswith("\n") or final:
                self._region, self._region_size = [], 0
                self._held_newlines = 0  # blank lines before any block change nothing
            self._show_open([])
            return
        blocks = top_level_blocks(parse(source))
        complete = source.count("\n") if not final else len(source) + 1
        keep = len(blocks)
        lines = source.split("\n")
        if not final:
            keep = 0
            for i, block in enumerate(blocks):
                if _certain(block, lines, complete):
                    keep = i
        done, open_blocks = blocks[:keep], blocks[keep:]
        committed: list[Strip] = []
        for block in done:
            committed.extend(self._block_strips(block))
        if done or final:
            self.buffer.replace_from(self.start, committed)
            self.start += len(committed)
        if final:
            for block in open_blocks:
                self.buffer.replace_from(self.start, self._block_strips(block))
                self.start = len(self.buffer)
            self._plain = None
            return
        if not open_blocks:
            self._region, self._region_size = [], 0
            self._held_newlines = 0
            self._show_open([])
            return
        if open_blocks[0].start > 0:
            # Cut the region at the open block: what precedes it is final or blank.
            rest = "\n".join(lines[open_blocks[0].start:])
            self._held_at -= len(source) - len(rest)
            self._region, self._region_size = [rest], len(rest)
        first = open_blocks[0]
        if first.kind == "fence" and len(open_blocks) == 1:
            # The region now starts at the fence's opening line.
            head = self._source().split("\n", 2)
            if _certain(Block(0, first.end - first.start, first.tokens), head, len(head) - 1):
                self._release_held()  # held newlines inside a fence are code lines
                source = self._source()
                newline = source.find("\n")
                self._enter_fence(first, source[:newline], source[newline + 1:])
                return
        if self._region_size > OPEN_LIMIT:
            self._plain = PlainFlow(self.buffer, self.start, self.width)
            self._plain.feed(self._source())
            self._parsed_size = self._region_size
            return
        self._plain = None
        self._show_open(self._render_open(open_blocks))

    def _reparse_due(self, new_line: bool, appended: str) -> bool:
        if not new_line:
            return False
        grown = self._region_size - self._parsed_size
        if self._region_size >= 1.5 * self._parsed_size:
            return True
        if grown < REPARSE_STEP:
            return False
        source = self._source()
        last_start = source.rfind("\n", 0, len(source) - 1) + 1
        return bool(_BLOCK_START.match(source[last_start:]))

    def _render_open(self, blocks: list[Block]) -> list[Strip]:
        strips: list[Strip] = []
        memo, kept = self._open_strips, {}
        for i, block in enumerate(blocks):
            if i or self.blocks_done:
                strips.append(BLANK)
            self.blocks_rendered += 1
            for line in self.renderer.render(block):
                # The renderer gives back the same line objects for rows it kept.
                hit = memo.get(id(line))
                if hit is None or hit[0] is not line:
                    hit = (line, to_strip(line))
                kept[id(line)] = hit
                strips.append(hit[1])
        self._open_strips = kept
        return strips

    def _block_strips(self, block: Block) -> list[Strip]:
        strips = [BLANK] if self.blocks_done else []
        self.blocks_done += 1
        self.blocks_rendered += 1
        strips.extend(to_strip(line) for line in self.renderer.render(block))
        return strips

    def _show_open(self, strips: list[Strip]) -> None:
        self.buffer.replace_from(self.start, strips)

    # -- top-level fenced code -----------------------------------------------------------------

    def _enter_fence(self, block: Block, opener: str, rest: str) -> None:
        token = block.tokens[0]
        indent = _columns(opener[: len(opener) - len(opener.lstrip(" \t"))])
        fence = _Fence(token.markup, indent, token.info, LineHighlighter(token.info))
        self._fence = fence
        self._region, self._region_size = [], 0
        self._plain = None
        head = [BLANK] if self.blocks_done else []
        head.extend(to_strip(line) for line in code_label(token.info, self.width, self.styles))
        self.buffer.replace_from(self.start, head)
        self.start += len(head)
        self._report(fence)
        remainder = self._feed_fence(rest) if rest else None
        if remainder:
            self._append(remainder)
            self._update(new_line="\n" in remainder, appended=remainder)

    def _feed_fence(self, text: str) -> str | None:
        """Code lines into the open fence; returns the text after its closing line."""
        fence = self._fence
        assert fence is not None
        while True:
            newline = text.find("\n")
            if newline < 0:
                break
            line = "".join(fence.partial) + text[:newline] if fence.partial else text[:newline]
            fence.partial, fence.partial_size = [], 0
            text = text[newline + 1:]
            if self._closes(fence, line):
                self._fence = None
                self.blocks_done += 1
                self.buffer.replace_from(self.start, [])
                return text
            self._code_line(fence, line)
        if text:
            fence.partial.append(text)
            fence.partial_size += len(text)
        self._show_partial(fence)
        return None

    def _code_line(self, fence: _Fence, line: str) -> None:
        line = _dedent(line, fence.indent)
        fence.lines.append(line)
        if not line and self._blank_code:
            strips = self._blank_code
            fence.highlighter.tokens(line)  # the lexer sees every line, as a whole render does
        else:
            strips = [to_strip(c)
                      for c in code_line(fence.highlighter, line, self.width, self.styles)]
            if not line:
                self._blank_code = strips
        self.buffer.replace_from(self.start, strips)
        self.start += len(strips)
        self._report(fence)

    def _show_partial(self, fence: _Fence) -> None:
        if not fence.partial_size:
            self.buffer.replace_from(self.start, [])
            return
        if len(fence.partial) > 1:
            fence.partial = ["".join(fence.partial)]
        line = _dedent(fence.partial[0][:_PEEK_LIMIT], fence.indent)
        lines = code_line(fence.highlighter, line, self.width, self.styles, peek=True)
        self.buffer.replace_from(self.start, [to_strip(c) for c in lines])

    def _report(self, fence: _Fence) -> None:
        if self.on_code is not None:
            self.on_code(fence.info, fence.lines)

    @staticmethod
    def _closes(fence: _Fence, line: str) -> bool:
        """markdown-it's closing-fence test: indented under 4 columns, a run of the opening
        character at least as long as the opener, then only spaces or tabs."""
        stripped = line.lstrip(" \t")
        if _columns(line[: len(line) - len(stripped)]) >= 4:
            return False
        char = fence.marker[0]
        run = len(stripped) - len(stripped.lstrip(char))
        return run >= len(fence.marker) and bool(_FENCE_CLOSE.fullmatch(stripped[run:]))


def _columns(indent: str) -> int:
    column = 0
    for ch in indent:
        column += 4 - column % 4 if ch == "\t" else 1
    return column


def _dedent(line: str, indent: int) -> str:
    """markdown-it's ``getLines`` for a fence: up to ``indent`` columns of leading
    whitespace removed, a tab that straddles the cut kept as spaces."""
    if not indent:
        return line
    column = 0
    first = 0
    while first < len(line) and column < indent and line[first] in " \t":
        column += 4 - column % 4 if line[first] == "\t" else 1
        first += 1
    if column > indent:
        return " " * (column - indent) + line[first:]
    return line[first:]
