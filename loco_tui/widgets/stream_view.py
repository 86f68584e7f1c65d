"""A scrolling text view that grows by appending, at a cost independent of its length.

A Static holding a whole streamed reply re-wraps and re-renders all of it on every update and
makes the screen reflow: at 4 panes x 500 tokens/s that measured 179 ms per frame (757 ms
worst) after 5000 tokens a pane, and the panes fell a second behind. Here finished
paragraphs are wrapped once and kept as strips; an append re-wraps only the open paragraph,
only visible lines are rendered (Line API, like Textual's Log), and growth changes
``virtual_size`` rather than the layout. Everything is re-wrapped only when the width changes.
"""

from __future__ import annotations

from rich.style import Style
from textual.content import Content
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class StreamView(ScrollView):
    DEFAULT_CSS = """
    StreamView {
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._paragraphs: list[Content] = []
        self._open: list[tuple[str, str]] = []  # (text, style) runs of the unfinished paragraph
        self._width = 0
        self._lines: list[Strip] = []
        self._open_lines: list[Strip] = []
        self._line_style: Style | None = None  # set once per render in render_lines

    @property
    def following(self) -> bool:
        """Whether the view sits at the bottom (so new text should keep it there)."""
        return self.scroll_y >= self.max_scroll_y - 1

    def write(self, text: str, style: str = "") -> None:
        """Append ``text`` (which may contain newlines) in ``style``."""
        if not text:
            return
        follow = self.following
        *finished, rest = text.split("\n")
        for piece in finished:
            if piece:
                self._open.append((piece, style))
            paragraph = self._open_content()
            self._paragraphs.append(paragraph)
            self._lines.extend(self._wrap(paragraph))
            self._open = []
        if rest:
            self._open.append((rest, style))
        self._open_lines = self._wrap(self._open_content()) if self._open else []
        self._grown(follow)

    def clear_text(self) -> None:
        self._paragraphs.clear()
        self._open.clear()
        self._lines.clear()
        self._open_lines.clear()
        self.scroll_to(y=0, animate=False, immediate=True)
        self._grown(False)

    def _open_content(self) -> Content:
        return Content.assemble(*[(text, style) if style else text for text, style in self._open])

    def _wrap(self, paragraph: Content) -> list[Strip]:
        if self._width <= 0:
            return []  # not laid out yet: on_resize wraps everything once the width is known
        base = self.visual_style
        return [
            Strip(line.render_segments(base), line.cell_length)
            for line in (paragraph.wrap(self._width) or [Content("")])
        ]

    def _grown(self, follow: bool) -> None:
        size = Size(self._width, len(self._lines) + len(self._open_lines))
        if size != self.virtual_size:
            # Assigning virtual_size (a layout reactive) reflows the whole screen on every
            # append. Growing text changes nothing outside this view, so set it quietly and
            # update the scrollbars (the first overflow still lays out, once, to show one).
            self.set_reactive(StreamView.virtual_size, size)
            self._scroll_update(size)
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width != self._width:
            follow = self.following
            self._width = width
            self._lines = [s for p in self._paragraphs for s in self._wrap(p)]
            self._open_lines = self._wrap(self._open_content()) if self._open else []
            self._grown(follow)

    def render_lines(self, crop):
        self._line_style = self.rich_style  # once per render: per line it dominated profiles
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        index = y + self.scroll_offset.y
        width = self.scrollable_content_region.width
        style = self._line_style or self.rich_style
        done = len(self._lines)
        if index < done:
            return self._lines[index].extend_cell_length(width, style)
        if index - done < len(self._open_lines):
            return self._open_lines[index - done].extend_cell_length(width, style)
        return Strip.blank(width, style)
