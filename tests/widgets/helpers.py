"""Shared helpers for the widget tests: comparable views of rendered lines."""

from __future__ import annotations

import itertools

from textual.strip import Strip

from loco_tui.safe_text import neutralise
from loco_tui.widgets.markdown_render import BlockRenderer, parse, top_level_blocks
from loco_tui.widgets.pane_document import PaneDocument
from loco_tui.widgets.pane_styles import PaneStyles
from loco_tui.widgets.plain_flow import to_strip

STYLES = PaneStyles.default()


def key(strips: list[Strip]) -> list[list[tuple[str, object]]]:
    """Lines as (text, style) segments: equal keys mean identical lines on screen."""
    return [[(segment.text, segment.style) for segment in strip] for strip in strips]


def texts(strips: list[Strip]) -> list[str]:
    return [strip.text for strip in strips]


def markdown_whole(text: str, width: int) -> list[Strip]:
    """Markdown rendered from one markdown-it parse of the whole text (no streaming code)."""
    renderer = BlockRenderer(STYLES, width)
    return [to_strip(line) for line in
            renderer.render_blocks(top_level_blocks(parse(neutralise(text))))]


def streamed(pieces: list[str], width: int) -> PaneDocument:
    document = PaneDocument(STYLES, width)
    for piece in pieces:
        document.write_markdown(piece)
    document.finish()
    return document


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(max(c, 0), len(text)) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points) if b > a]
