"""Plain styled text laid out into wrapped lines as it streams, at a cost per append that
does not grow with what came before.

A finished line is wrapped once. The open (unfinished) line is wrapped again on each append,
but only from where its last stable visual line ends: greedy word wrapping never moves a
break that already has a full word after it, so every visual line but the last is final.
A 1 MB line therefore costs what each append adds, not 1 MB per append.

Blank lines share one empty strip, so 100 KB of newlines costs a list slot per line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

from rich._wrap import divide_line
from textual.content import Content
from textual.strip import Strip
from textual.style import Style

from loco_tui.safe_text import neutralise

BLANK = Strip([], 0)
TAB = "    "
# An open line this long is wrapped from its last stable visual line instead of whole.
TAIL_WRAP_FROM = 160


def to_strip(line: Content) -> Strip:
    if not line.plain:
        return BLANK
    return Strip(line.render_segments(), line.cell_length)


def wrap(line: Content, width: int) -> list[Content]:
    """Greedy word wrap of one logical line to ``width`` cells (long words folded).
    Every line but the last loses its trailing spaces; the last keeps what fits."""
    pieces = _divide(line, width)
    if not pieces:
        return []
    out = [piece.rstrip() for piece in pieces[:-1]]
    out.append(_fit(pieces[-1], width))
    return out


def _divide(line: Content, width: int) -> list[Content]:
    """``line`` cut where greedy wrapping breaks it, nothing trimmed."""
    if width <= 0:
        return []
    plain = line.plain
    if not plain:
        return [line]
    offsets = divide_line(plain, width, fold=True)
    return line.divide(offsets) if offsets else [line]


def _fit(line: Content, width: int) -> Content:
    # Only trailing spaces can overflow (divide_line never lets a word do it).
    return line.rstrip_end(width) if line.cell_length > width else line


def clean(text: str) -> str:
    """Untrusted text made safe and tab-free for display (tabs become four spaces)."""
    text = neutralise(text)
    return text.replace("\t", TAB) if "\t" in text else text


class LineBuffer:
    """All lines of a pane. Lines before an owner's mark are final; an owner replaces
    everything from its mark on. ``dirty_from`` is the first line changed since the view
    last looked, so the view re-renders only from there."""

    def __init__(self) -> None:
        self.lines: list[Strip] = []
        self.dirty_from = 0
        self.replaced = 0  # lines re-rendered (replaced or appended), for tests and benches

    def __len__(self) -> int:
        return len(self.lines)

    def replace_from(self, start: int, strips: Sequence[Strip]) -> None:
        lines = self.lines
        # Lines given back as the very strips already there stay clean: an open block drawn
        # again from kept rows changes only its last lines.
        same, limit = 0, min(len(strips), len(lines) - start)
        while same < limit and lines[start + same] is strips[same]:
            same += 1
        if start + same < len(lines):
            del lines[start + same:]
        lines.extend(strips[same:] if same else strips)
        self.replaced += len(strips) - same
        if start + same < self.dirty_from:
            self.dirty_from = start + same

    def clear(self) -> None:
        self.lines = []
        self.dirty_from = 0

    def seen(self) -> int:
        """The view has looked: return the first dirty line and mark everything clean."""
        first = self.dirty_from
        self.dirty_from = len(self.lines)
        return first


class PlainFlow:
    """Streams plain styled text into ``buffer`` from ``start``, wrapped to ``width``."""

    def __init__(self, buffer: LineBuffer, start: int, width: int) -> None:
        self.buffer = buffer
        self.start = start  # where the open line's visual lines begin in the buffer
        self.width = width
        self._runs: list[tuple[str, Style | None]] = []  # the open line, from its stable end
        self._size = 0
        self.lines_done = 0  # logical lines finished

    @property
    def at_line_start(self) -> bool:
        return not self._runs

    def feed(self, text: str, style: Style | None = None) -> None:
        if not text:
            return
        text = clean(text)
        *finished, rest = text.split("\n")
        done: list[Strip] = []
        for piece in finished:
            if piece:
                self._add(piece, style)
            done.extend(self._finish_line())
        if rest:
            self._add(rest, style)
        self._show(done)

    def finish(self) -> None:
        """End of stream: the open line (if any) becomes final."""
        if self._runs:
            self._show(self._finish_line(), open_line=False)
            self.lines_done += 1

    def _add(self, text: str, style: Style | None) -> None:
        # Runs of one style merge, so a line reads the same however it was split (the open
        # line is short: in tail mode it restarts at each stable visual line).
        runs = self._runs
        if runs and runs[-1][1] == style:
            runs[-1] = (runs[-1][0] + text, style)
        else:
            runs.append((text, style))
        self._size += len(text)

    def _content(self) -> Content:
        runs = self._runs
        if len(runs) == 1:
            text, style = runs[0]
            return Content.styled(text, style) if style else Content(text)
        return Content.assemble(*[(text, style) if style else text for text, style in runs])

    def _finish_line(self) -> list[Strip]:
        if not self._runs:
            self.lines_done += 1
            return [BLANK]
        strips = [to_strip(line) for line in wrap(self._content(), self.width)]
        self._runs, self._size = [], 0
        self.lines_done += 1
        return strips

    def _show(self, done: list[Strip], open_line: bool = True) -> None:
        """Put finished lines after the stable ones and re-render the open line."""
        open_strips: list[Strip] = []
        if open_line and self._runs:
            content = self._content()
            if self._size > TAIL_WRAP_FROM:
                pieces = _divide(content, self.width)
                if len(pieces) > 1:
                    # Every visual line but the last is final: keep only the last open.
                    done.extend(to_strip(piece.rstrip()) for piece in pieces[:-1])
                    content = pieces[-1]
                    self._runs = [(content.plain, None)] if not content.spans else [
                        (piece.plain, _style_of(piece)) for piece in _split_runs(content)]
                    self._size = len(content.plain)
            open_strips = [to_strip(line) for line in wrap(content, self.width)]
        self.buffer.replace_from(self.start, [*done, *open_strips])
        self.start += len(done)


def _style_of(piece: Content) -> Style | None:
    if not piece.spans:
        return None
    style = piece.spans[0].style
    return style if isinstance(style, Style) else None


def _split_runs(line: Content) -> Iterable[Content]:
    """A wrapped line cut back into single-style runs (so it can be re-assembled)."""
    cuts = sorted({0, len(line.plain), *(b for span in line.spans for b in (span.start, span.end))})
    for a, b in pairwise(cuts):
        if b > a:
            yield line[a:b]
