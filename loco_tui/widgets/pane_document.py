"""A pane's content as a sequence of parts, laid out into lines as it streams.

A part is plain styled text (a fallback marker, a failure line), thinking (dim, collapsible)
or Markdown (the model's answer). Only the last part is open: appends go to it, or close it
and start a new part. ``<think>...</think>`` inside the answer becomes a thinking part of its
own; the tag is recognised at the start of a line (after up to three spaces), and its close
anywhere. Text is held back only while it could still be the start of a tag.

Each part keeps its source, so the whole document can be laid out again when something that
affects every line changes (width, theme, raw mode, collapsing thinking). Otherwise lines
only grow at the end: see :class:`LineBuffer`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from textual.content import Content
from textual.strip import Strip
from textual.style import Style

from loco_tui.safe_text import neutralise
from loco_tui.widgets.markdown_flow import MarkdownFlow
from loco_tui.widgets.markdown_render import code_lines_of, parse
from loco_tui.widgets.pane_styles import PaneStyles
from loco_tui.widgets.plain_flow import LineBuffer, PlainFlow, to_strip

PartKind = Literal["text", "think", "markdown"]
OPEN_TAG, CLOSE_TAG = "<think>", "</think>"
_OPEN_AT_LINE_START = re.compile(r"(?m)^ {0,3}<think>")


@dataclass
class Part:
    kind: PartKind
    tagged: bool = False  # a thinking part that came from <think> tags in the answer
    runs: list[tuple[list[str], Style | None]] = field(default_factory=list)
    closed: bool = False
    start: int = 0
    flow: PlainFlow | MarkdownFlow | None = None
    newlines: int = 0
    ends_with_newline: bool = False
    tag_closed: bool = False  # a tagged thinking part whose </think> arrived
    after_tag: bool = False  # an answer part that follows a </think>
    raw_started: bool = False  # raw mode has shown some of this part

    def add(self, text: str, style: Style | None) -> None:
        if self.runs and self.runs[-1][1] == style:
            self.runs[-1][0].append(text)
        else:
            self.runs.append(([text], style))
        self.newlines += text.count("\n")
        self.ends_with_newline = text.endswith("\n")

    @property
    def source(self) -> str:
        return "".join(chunk for chunks, _ in self.runs for chunk in chunks)

    @property
    def line_count(self) -> int:
        """Lines of thought (the newline right after a <think> tag opens none)."""
        if not self.runs:
            return 0
        lead = 1 if self.tagged and self.runs[0][0][0].startswith("\n") else 0
        return max(0, self.newlines + (0 if self.ends_with_newline else 1) - lead)


class PaneDocument:
    """Everything one pane shows, as wrapped lines in ``buffer.lines``."""

    def __init__(self, styles: PaneStyles | None = None, width: int = 0) -> None:
        self.styles = styles or PaneStyles.default()
        self.width = width
        self.buffer = LineBuffer()
        self.parts: list[Part] = []
        self.raw = False
        self.think_collapsed = False
        self._answer: list[str] = []
        self._answer_ended = False
        self._tag_mode: Literal["markdown", "think"] = "markdown"
        self._pending = ""
        self._at_line_start = True
        self._style_cache: dict[str, Style | None] = {}

    # -- what is shown -----------------------------------------------------------------------

    @property
    def lines(self) -> list[Strip]:
        return self.buffer.lines

    def text_lines(self) -> list[str]:
        return [strip.text for strip in self.buffer.lines]

    @property
    def answer_source(self) -> str:
        """The latest answer's Markdown as the model wrote it (think tags included). A
        plain-text write (a fallback marker) ends it: the next answer text starts a new one;
        a failure line after it leaves it copyable."""
        return "".join(self._answer)

    @property
    def last_code_block(self) -> str | None:
        """The content of the answer's last code block (fenced or indented), or None."""
        for part in reversed(self._answer_parts()):
            tokens = [t for t in parse(neutralise(part.source))
                      if t.type in ("fence", "code_block")]
            if tokens:
                return "\n".join(code_lines_of(tokens[-1].content))
        return None

    def _answer_parts(self) -> list[Part]:
        """The Markdown parts of the latest answer (plain parts after it are skipped)."""
        parts: list[Part] = []
        for part in reversed(self.parts):
            if part.kind == "text":
                if parts:
                    break
                continue
            if part.kind == "markdown":
                parts.append(part)
        return parts[::-1]

    # -- writing -----------------------------------------------------------------------------

    def write(self, text: str, style: str | Style | None = None) -> None:
        """Plain text in ``style``; ends the answer (what follows starts a new one)."""
        if not text:
            return
        self._close_answer()
        self._answer_ended = True
        self._feed(self._part("text"), text, self._style(style))

    def write_thinking(self, text: str) -> None:
        """Reasoning from the provider's thinking channel (dim, collapsible)."""
        if not text:
            return
        self._close_answer()
        self._feed(self._part("think"), text, None)

    def write_markdown(self, text: str) -> None:
        """Answer text (Markdown, may hold <think> blocks)."""
        if not text:
            return
        last = self.parts[-1] if self.parts else None
        if last is None or last.closed or not (last.kind == "markdown" or last.tagged):
            self._tag_mode, self._at_line_start = "markdown", True
        if self._answer_ended:
            self._answer, self._answer_ended = [], False
        self._answer.append(text)
        self._scan(self._pending + text)

    def finish(self) -> None:
        """The stream ended: held-back text is shown and the last part becomes final."""
        self._flush_pending()
        self._tag_mode = "markdown"
        if self.parts and not self.parts[-1].closed:
            self._close(self.parts[-1])

    def clear(self) -> None:
        self.parts.clear()
        self.buffer.clear()
        self._answer, self._answer_ended = [], False
        self._pending = ""
        self._tag_mode, self._at_line_start = "markdown", True

    # -- what changes every line -------------------------------------------------------------

    def set_width(self, width: int) -> None:
        if width != self.width:
            self.width = width
            self.relayout()

    def set_styles(self, styles: PaneStyles) -> None:
        self.styles = styles
        self.relayout()

    def set_raw(self, raw: bool) -> None:
        if raw != self.raw:
            self.raw = raw
            self.relayout()

    def set_think_collapsed(self, collapsed: bool) -> None:
        if collapsed != self.think_collapsed:
            self.think_collapsed = collapsed
            self.relayout()

    def relayout(self) -> None:
        """Lay every part out again from its source (one pass over the text)."""
        self.buffer.clear()
        for part in self.parts:
            part.start = len(self.buffer)
            part.flow = None
            part.raw_started = False
            if self.width <= 0:
                continue
            if part.kind == "think" and self.think_collapsed and not self.raw:
                self._think_header(part)
                continue
            flow = self._flow_for(part)
            if part.kind == "think" and part.tagged and self.raw:
                flow.feed(OPEN_TAG)
            for chunks, style in part.runs:
                self._flow_feed(part, flow, "".join(chunks), style)
            if part.closed:
                self._finish_flow(part, flow)

    # -- parts -------------------------------------------------------------------------------

    def _style(self, style: str | Style | None) -> Style | None:
        if style is None or isinstance(style, Style):
            return style
        if style not in self._style_cache:
            self._style_cache[style] = Style.parse(style) if style else None
        return self._style_cache[style]

    def _part(self, kind: PartKind, tagged: bool = False) -> Part:
        last = self.parts[-1] if self.parts else None
        if last is not None and not last.closed and last.kind == kind and last.tagged == tagged:
            return last
        if last is not None and not last.closed:
            self._close(last)
        part = Part(kind, tagged=tagged, start=len(self.buffer))
        self.parts.append(part)
        if self.width > 0:
            if kind == "think" and self.think_collapsed and not self.raw:
                self._think_header(part)
            else:
                part.flow = self._flow_for(part)
                if tagged and self.raw:
                    part.flow.feed(OPEN_TAG)
        return part

    def _flow_for(self, part: Part) -> PlainFlow | MarkdownFlow:
        start = len(self.buffer)
        if part.kind == "think" and not self.raw:
            header = Content.styled("▾ thinking", self.styles.role("think_header"))
            self.buffer.replace_from(start, [to_strip(header)])
            start += 1
        if part.kind == "markdown" and not self.raw:
            return MarkdownFlow(self.buffer, start, self.width, self.styles)
        return PlainFlow(self.buffer, start, self.width)

    def _feed(self, part: Part, text: str, style: Style | None) -> None:
        part.add(text, style)
        if self.width <= 0:
            return
        if part.flow is None:
            if part.kind == "think" and self.think_collapsed and not self.raw:
                self._think_header(part)
            return
        self._flow_feed(part, part.flow, text, style)

    def _flow_feed(self, part: Part, flow: PlainFlow | MarkdownFlow, text: str,
                   style: Style | None) -> None:
        if isinstance(flow, MarkdownFlow):
            flow.feed(text)
        elif part.kind == "think":
            if part.tagged and not self.raw and not part.raw_started:
                # The newline after <think> ends the tag's line, not a blank line of thought.
                part.raw_started = True
                text = text.removeprefix("\n")
            flow.feed(text, self.styles.role("think"))
        elif part.kind == "markdown":
            if part.after_tag and not part.raw_started:
                # Raw text shows the source's lines: the newline after </think> ends the
                # tag's line rather than opening an empty one.
                part.raw_started = True
                text = text.removeprefix("\n")
            flow.feed(text, None)
        else:
            flow.feed(text, style)
        part.flow = flow

    def _close(self, part: Part) -> None:
        part.closed = True
        if part.flow is not None:
            self._finish_flow(part, part.flow)

    def _finish_flow(self, part: Part, flow: PlainFlow | MarkdownFlow) -> None:
        if part.tag_closed and self.raw and isinstance(flow, PlainFlow):
            flow.feed(CLOSE_TAG, self.styles.role("think"))
        flow.finish()

    def _think_header(self, part: Part) -> None:
        count = part.line_count
        text = f"▸ thinking · {count} line{'s' if count != 1 else ''}"
        header = Content.styled(text, self.styles.role("think_header"))
        self.buffer.replace_from(part.start, [to_strip(header)])

    # -- <think> tags in the answer ----------------------------------------------------------

    def _scan(self, text: str) -> None:
        self._pending = ""
        while text:
            if self._tag_mode == "markdown":
                match = self._find_open(text)
                if match is not None:
                    self._markdown(text[: match.start()])
                    self._tag_mode = "think"
                    self._part("think", tagged=True)
                    text = text[match.end():]
                    continue
                hold = self._partial_open(text)
                self._markdown(text[: len(text) - hold])
                self._pending = text[len(text) - hold:]
                return
            end = text.find(CLOSE_TAG)
            if end >= 0:
                self._thought(text[:end])
                self.parts[-1].tag_closed = True
                self._close(self.parts[-1])
                self._tag_mode, self._at_line_start = "markdown", True
                text = text[end + len(CLOSE_TAG):]
                continue
            hold = _partial_suffix(text, CLOSE_TAG)
            self._thought(text[: len(text) - hold])
            self._pending = text[len(text) - hold:]
            return

    def _find_open(self, text: str) -> re.Match[str] | None:
        if self._at_line_start:
            return _OPEN_AT_LINE_START.search(text)
        newline = text.find("\n")
        return None if newline < 0 else _OPEN_AT_LINE_START.search(text, newline + 1)

    def _partial_open(self, text: str) -> int:
        """How many trailing characters could still become an opening tag."""
        newline = text.rfind("\n")
        if newline < 0 and not self._at_line_start:
            return 0
        last = text[newline + 1:]
        body = last.lstrip(" ")
        if len(last) - len(body) > 3 or not OPEN_TAG.startswith(body) or body == OPEN_TAG:
            return 0
        return len(last)

    def _markdown(self, text: str) -> None:
        if text:
            last = self.parts[-1] if self.parts else None
            part = self._part("markdown")
            if part is not last and last is not None and last.tag_closed:
                part.after_tag = True
            self._feed(part, text, None)
            self._at_line_start = text.endswith("\n")

    def _thought(self, text: str) -> None:
        part = self.parts[-1] if self.parts else None
        if part is None or part.closed or not part.tagged:
            part = self._part("think", tagged=True)
        if text:
            self._feed(part, text, None)

    def _flush_pending(self) -> None:
        pending, self._pending = self._pending, ""
        if not pending:
            return
        if self._tag_mode == "markdown":
            self._markdown(pending)
        else:
            self._thought(pending)

    def _close_answer(self) -> None:
        """Before a non-answer part: held-back answer text is shown as written."""
        if self._pending:
            self._flush_pending()
        self._tag_mode = "markdown"


def _partial_suffix(text: str, tag: str) -> int:
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


def render_whole(text: str, width: int, styles: PaneStyles | None = None) -> list[Strip]:
    """An answer rendered from its whole text in one go (what streaming must end equal to)."""
    document = PaneDocument(styles, width)
    document.write_markdown(text)
    document.finish()
    return document.lines
