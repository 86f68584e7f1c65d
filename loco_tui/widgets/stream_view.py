"""A scrolling view of streamed text and Markdown, at a cost per append independent of length.

A Static holding a whole streamed reply re-wraps and re-renders all of it on every update and
makes the screen reflow: at 4 panes x 500 tokens/s that measured 179 ms per frame (757 ms
worst) after 5000 tokens a pane, and the panes fell a second behind. Here the content is a
:class:`PaneDocument`: finished lines (Markdown blocks, plain lines, code lines) are rendered
once and kept as strips, an append re-renders only what is still open, only visible lines
are rendered (Line API, like Textual's Log), and growth changes ``virtual_size`` rather than
the layout. Everything is laid out again only when the content width, the theme, raw mode or
collapsed thinking changes.

The content width is the scrollable region's, re-checked on every render: a view that wraps
to the width it had before its vertical scrollbar appeared loses a column on every line, so
the text re-wraps once, when the scrollbar first takes its column.

Scrolling up stops following the stream; End, or scrolling back to the bottom, resumes it.
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip
from textual.theme import Theme

from loco_tui.widgets.pane_document import PaneDocument
from loco_tui.widgets.pane_styles import PaneStyles

_CACHE_LIMIT = 1024  # rendered (styled, padded) lines kept between frames


class StreamView(ScrollView):
    DEFAULT_CSS = """
    StreamView {
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.document = PaneDocument()
        self._follow = True
        self._width = 0
        self._cache: dict[int, Strip] = {}
        self._cache_key: tuple[object, ...] = ()
        self._line_style: RichStyle | None = None  # set once per render in render_lines

    # -- the lead's API ----------------------------------------------------------------------

    @property
    def following(self) -> bool:
        """Whether new text keeps the view at the bottom (False once scrolled up)."""
        return self._follow

    def write(self, text: str, style: str = "") -> None:
        """Append plain ``text`` (which may contain newlines) in ``style``."""
        if text:
            self.document.write(text, style or None)
            self._grown()

    def write_markdown(self, text: str) -> None:
        """Append answer text, rendered as Markdown (``<think>`` blocks dimmed)."""
        if text:
            self.document.write_markdown(text)
            self._grown()

    def write_thinking(self, text: str) -> None:
        """Append reasoning from the thinking channel (dim, collapsible)."""
        if text:
            self.document.write_thinking(text)
            self._grown()

    def end_stream(self) -> None:
        """The stream ended (or a fallback restarts it): the open block is rendered from its
        whole source and becomes final. (Not ``finish``: MemberPane has its own.)"""
        self.document.finish()
        self._grown()

    def clear_text(self) -> None:
        self.document.clear()
        self._cache.clear()
        self._follow = True
        self.scroll_to(y=0, animate=False, immediate=True)
        self._grown()

    @property
    def answer_source(self) -> str:
        """The current answer's Markdown source (since the last plain-text write)."""
        return self.document.answer_source

    @property
    def last_code_block(self) -> str | None:
        """The content of the current answer's last code block, or None."""
        return self.document.last_code_block

    @property
    def raw(self) -> bool:
        return self.document.raw

    def toggle_raw(self) -> bool:
        """Switch between rendered Markdown and the raw text; returns the new state."""
        self._relayout(lambda: self.document.set_raw(not self.document.raw))
        return self.document.raw

    @property
    def think_collapsed(self) -> bool:
        return self.document.think_collapsed

    def toggle_think(self) -> bool:
        """Collapse or expand every thinking block; returns True when collapsed."""
        self._relayout(
            lambda: self.document.set_think_collapsed(not self.document.think_collapsed))
        return self.document.think_collapsed

    def scroll_to_line(self, y: int) -> None:
        """Scroll so content line ``y`` is at the top; following resumes at the bottom."""
        self.scroll_to(y=y, animate=False, immediate=True)
        self._follow = self.scroll_y >= self.max_scroll_y

    def follow(self) -> None:
        """Resume following the stream (what End does)."""
        self._follow = True
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def action_scroll_end(self) -> None:
        self.follow()

    def lines_text(self) -> list[str]:
        """The content lines as plain text (what the screen shows, unpadded)."""
        return self.document.text_lines()

    # -- layout ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._refresh_styles()
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, theme: Theme) -> None:
        self._relayout(self._refresh_styles)

    def _refresh_styles(self) -> None:
        background = self.background_colors[1]
        self.document.set_styles(
            PaneStyles.from_variables(self.app.get_css_variables(), background))

    def _relayout(self, change: Any) -> None:
        follow = self._follow
        change()
        self._cache.clear()
        self._follow = follow
        self._grown()

    def _check_width(self) -> bool:
        width = self.scrollable_content_region.width
        if width == self._width:
            return False
        self._width = width
        follow = self._follow
        self.document.set_width(width)
        self._cache.clear()
        self._follow = follow
        self._grown(refresh=False)
        return True

    def _grown(self, refresh: bool = True) -> None:
        size = Size(self._width, len(self.document.lines))
        if size != self.virtual_size:
            # Assigning virtual_size (a layout reactive) reflows the whole screen on every
            # append. Growing text changes nothing outside this view, so set it quietly and
            # update the scrollbars.
            self.set_reactive(StreamView.virtual_size, size)
            self._scroll_update(size)
        if self._follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        if refresh:
            self.refresh()

    def on_resize(self) -> None:
        self._check_width()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value >= self.max_scroll_y:
            self._follow = True
        elif new_value < old_value:
            self._follow = False

    # -- rendering ---------------------------------------------------------------------------

    def render_lines(self, crop: Any) -> list[Strip]:
        self._check_width()
        self._line_style = self.rich_style  # once per render: per line it dominated profiles
        key = (self._width, self._line_style)
        if key != self._cache_key:
            self._cache.clear()
            self._cache_key = key
        first_dirty = self.document.buffer.seen()  # lines from here on changed or are new
        cache = self._cache
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        else:
            for index in [i for i in cache if i >= first_dirty]:
                del cache[index]
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        index = y + self.scroll_offset.y
        width = self.scrollable_content_region.width
        style = self._line_style or self.rich_style
        lines = self.document.lines
        if index >= len(lines):
            return Strip.blank(width, style)
        selection = self.text_selection
        if selection is None:
            cached = self._cache.get(index)
            if cached is not None:
                return cached
        line = lines[index]
        # Not ``line.apply_style``: it caches the styled copy on the document's line, so every
        # line ever shown kept a second strip (and its seven caches) alive for good.
        strip = Strip(Segment.apply_style(line, style), line.cell_length)
        strip = strip.extend_cell_length(width, style)
        if selection is not None and (span := selection.get_span(index)) is not None:
            strip = _select(strip, span, self.screen.get_component_rich_style("screen--selection"))
        strip = strip.apply_offsets(0, index)
        if selection is None:
            self._cache[index] = strip
        return strip

    # -- selection ---------------------------------------------------------------------------

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text as shown, without borders, padding or trailing spaces."""
        text = "\n".join(line.text.rstrip() for line in self.document.lines)
        return selection.extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._cache.clear()
        self.refresh()


def _select(strip: Strip, span: tuple[int, int], style: RichStyle) -> Strip:
    """``strip`` with characters [start, end) (end -1: to the end) drawn in ``style``."""
    start, end = span
    segments: list[Segment] = []
    at = 0
    for text, seg_style, control in strip:
        stop = at + len(text)
        lo, hi = max(start, at), stop if end == -1 else min(end, stop)
        if control or hi <= lo:
            segments.append(Segment(text, seg_style, control))
        else:
            if lo > at:
                segments.append(Segment(text[: lo - at], seg_style))
            selected = seg_style + style if seg_style else style
            segments.append(Segment(text[lo - at: hi - at], selected))
            if hi < stop:
                segments.append(Segment(text[hi - at:], seg_style))
        at = stop
    return Strip(segments, strip.cell_length)
