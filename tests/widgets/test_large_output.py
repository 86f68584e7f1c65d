"""Appends cost in proportion to what they add, whatever is already shown: asserted on
counts of work (lines rendered, blocks rendered), never on time."""

from __future__ import annotations

from loco_tui.widgets.markdown_flow import MarkdownFlow
from loco_tui.widgets.pane_document import PaneDocument
from tests.widgets.helpers import STYLES

WIDTH = 80


def feed(document: PaneDocument, text: str, step: int, markdown: bool = True) -> int:
    """Feeds ``text`` in ``step``-sized appends; returns how many appends."""
    count = 0
    for i in range(0, len(text), step):
        if markdown:
            document.write_markdown(text[i:i + step])
        else:
            document.write(text[i:i + step])
        count += 1
    return count


def test_a_long_single_line_renders_each_visual_line_a_bounded_number_of_times() -> None:
    text = "lorem ipsum dolor sit amet " * 8000  # 216 KB, no newline
    for markdown in (True, False):
        document = PaneDocument(STYLES, WIDTH)
        appends = feed(document, text, 60, markdown)
        lines = len(document.lines)
        assert lines > 2500
        # Re-wrapping the whole open line per append would render ~lines*appends/2 lines
        # (~4.8 million here); the open line's last few visual lines are all that repeat.
        assert document.buffer.replaced <= lines + 10 * appends
        before = document.buffer.replaced
        document.finish()
        assert document.buffer.replaced - before <= lines + 1  # the final render, once


def test_many_newlines_cost_a_slot_each_and_share_one_blank_line() -> None:
    for markdown in (True, False):
        document = PaneDocument(STYLES, WIDTH)
        document.write_markdown("# Title\n\nsome text") if markdown else document.write("x")
        appends = feed(document, "\n" * 100_000, 15, markdown)
        document.write_markdown("after") if markdown else document.write("after")
        document.finish()
        assert document.buffer.replaced <= len(document.lines) + 4 * appends
        distinct = {id(strip) for strip in document.lines}
        assert len(distinct) <= 5
        if not markdown:
            assert len(document.lines) == 100_001


def test_newlines_inside_an_open_code_block_are_code_lines_sharing_one_strip() -> None:
    document = PaneDocument(STYLES, WIDTH)
    document.write_markdown("```python\nx = 1\n")
    feed(document, "\n" * 50_000, 15)
    document.finish()
    assert len(document.lines) == 50_002
    assert len({id(strip) for strip in document.lines}) <= 4


def test_a_long_code_block_lexes_and_renders_each_line_once() -> None:
    code = "".join(f"    value_{i} = compute({i}, 'text')  # note {i}\n" for i in range(3000))
    document = PaneDocument(STYLES, WIDTH)
    document.write_markdown("Intro\n\n```python\ndef f():\n")
    appends = feed(document, code, 12)
    flow = document.parts[-1].flow
    assert isinstance(flow, MarkdownFlow)
    # Every append re-renders the unfinished line (1 strip) plus the lines it completed.
    assert document.buffer.replaced <= 3000 + 2 * appends + 10
    assert flow.blocks_rendered <= 3  # the intro paragraph while open, then once


def test_a_markdown_heavy_reply_renders_only_open_blocks_per_append() -> None:
    section = ("## Heading {i}\n\nA paragraph with **bold** and `code` that runs on for a "
               "while.\n\n- item one\n- item two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n")
    text = "".join(section.format(i=i) for i in range(150))
    document = PaneDocument(STYLES, WIDTH)
    appends = feed(document, text, 20)
    document.finish()
    flow = document.parts[-1].flow
    assert isinstance(flow, MarkdownFlow)
    blocks = 150 * 4
    assert flow.blocks_done == blocks
    # Each append renders at most the open block and one that just closed.
    assert flow.blocks_rendered <= blocks + 2 * appends
    assert document.buffer.replaced <= len(document.lines) + 12 * appends
