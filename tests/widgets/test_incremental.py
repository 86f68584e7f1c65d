"""Streaming a reply in any split ends with exactly the lines of rendering it whole."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from loco_tui.widgets.markdown_flow import MarkdownFlow
from loco_tui.widgets.markdown_render import parse
from loco_tui.widgets.pane_document import PaneDocument, render_whole
from tests.widgets.helpers import STYLES, key, markdown_whole, split, streamed, texts

FRAGMENTS = [
    "# ", "## ", "### ", "- ", "* ", "+ ", "1. ", "2) ", "> ", "```", "```python\n", "~~~\n",
    "| a | b |\n", "|---|:-:|\n", "| 1 | 2 |\n", "---\n", "***", "===\n", "\n", "\n", "\n\n",
    "\n\n\n", " ", " ", "  ", "    ", "\t", "**", "*", "_", "`", "~~", "[", "](", "http://x",
    ")", "<", ">", "\\", "#", "word", "words and more", "x", "def f():", "return 1", "é",
    "中文", "\x1b[2J", "&amp;", "&#27;", "<think>", "</think>", "<thi", "nk>", "   ```\n",
    "  - ", "\n  ", "````\n", " ~~~~ x\n", "\n   ", "\t```\n", "``` a`b\n",
]
PREFIXES = ["", "", "", "# ", "- ", "  - ", "    - ", "1. ", "10. ", "> ", "> - ", "```", "```js",
            "~~~", "    ", "|", "| x |", "|---|---|", "---", "   ", "\t", "<think>", "</think>"]
INLINE = ["word", "two words", "**bold**", "*it*", "`code`", "~~s~~", "[l](u)", "a | b",
          "", "x" * 25, "if (a) { return 1; }", '"str"', "# c", "<b>", "&lt;"]
line = st.tuples(st.sampled_from(PREFIXES), st.lists(st.sampled_from(INLINE), max_size=4))
linewise = st.lists(line.map(lambda p: p[0] + " ".join(p[1])), max_size=40).map("\n".join)
markdownish = st.one_of(st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join), linewise)
cuts = st.lists(st.integers(min_value=0, max_value=400), max_size=30)
widths = st.integers(min_value=4, max_value=60)
# LOCO_HYPOTHESIS_EXAMPLES=5000 for a deeper search than the default run.
SETTINGS = settings(max_examples=int(os.environ.get("LOCO_HYPOTHESIS_EXAMPLES", "300")),
                    deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(markdownish, cuts, widths)
def test_any_split_renders_like_the_whole_text(text: str, points: list[int], width: int) -> None:
    document = streamed(split(text, points), width)
    assert key(document.lines) == key(render_whole(text, width, STYLES))


@SETTINGS
@given(markdownish.filter(lambda t: "<think>" not in t), cuts, widths)
def test_streamed_markdown_equals_one_parse_of_the_whole(text: str, points: list[int],
                                                          width: int) -> None:
    """Against the renderer over a single markdown-it parse: block boundaries found while
    streaming are the ones the whole text has."""
    document = streamed(split(text, points), width)
    assert key(document.lines) == key(markdown_whole(text, width))


@SETTINGS
@given(markdownish.filter(lambda t: "<think>" not in t), cuts, widths)
def test_lines_committed_while_streaming_never_change(text: str, points: list[int],
                                                      width: int) -> None:
    final = key(markdown_whole(text, width))
    document = PaneDocument(STYLES, width)
    for piece in split(text, points):
        document.write_markdown(piece)
        flow = document.parts[-1].flow if document.parts else None
        if isinstance(flow, MarkdownFlow):
            committed = flow.start
            assert key(document.lines[:committed]) == final[:committed]


@SETTINGS
@given(st.lists(st.sampled_from(["a", "bb ", " ", "word ", "\n", "\t", "中", "x" * 30]),
                max_size=200).map("".join), cuts, widths)
def test_plain_text_streams_like_the_whole_text(text: str, points: list[int], width: int) -> None:
    whole = PaneDocument(STYLES, width)
    whole.write(text)
    whole.finish()
    document = PaneDocument(STYLES, width)
    for piece in split(text, points):
        document.write(piece)
    document.finish()
    assert key(document.lines) == key(whole.lines)


def test_a_long_open_line_wraps_like_the_whole_line() -> None:
    """Beyond TAIL_WRAP_FROM the open line is wrapped from its last stable visual line."""
    text = " ".join(f"w{i % 97}" * (1 + i % 5) for i in range(3000))
    whole = PaneDocument(STYLES, 33)
    whole.write(text)
    whole.finish()
    document = PaneDocument(STYLES, 33)
    for i in range(0, len(text), 7):
        document.write(text[i:i + 7])
    document.finish()
    assert texts(document.lines) == texts(whole.lines)
    assert len(document.lines) > 100


REPLY = """Here is a plan.

## Steps

1. Read the **input** file.
2. Parse it with `json.loads`:
   - keep *valid* rows
   - drop the rest
3. Write the result.

| step | cost | notes |
|------|-----:|-------|
| read | 1 ms | fast |
| parse | 12 ms | depends on size |

```python
def load(path: str) -> list[dict]:
    \"\"\"Load rows.

    Rows that fail to parse are skipped.
    \"\"\"
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
```

> Note: large files should be streamed.

That's all — see [the docs](https://docs.python.org/3/library/json.html).
"""


def test_a_real_looking_reply_in_token_sized_pieces() -> None:
    for width in (20, 37, 80):
        for step in (1, 3, 4, 17, 60):
            pieces = [REPLY[i:i + step] for i in range(0, len(REPLY), step)]
            document = streamed(pieces, width)
            assert key(document.lines) == key(markdown_whole(REPLY, width)), (width, step)


def test_a_reply_with_think_tags_in_token_sized_pieces() -> None:
    text = "<think>\nThe user wants a plan.\nKeep it short.\n</think>\n\n" + REPLY
    for step in (1, 2, 5, 9):
        pieces = [text[i:i + step] for i in range(0, len(text), step)]
        assert key(streamed(pieces, 40).lines) == key(render_whole(text, 40, STYLES))


@SETTINGS
@given(st.lists(st.sampled_from([*FRAGMENTS, "\n" * 5, "\n" * 40, "  x\n", "- a\n"]),
                max_size=60), widths)
def test_fragment_sized_appends_including_runs_of_newlines(pieces: list[str],
                                                            width: int) -> None:
    """Appends of whole fragments make runs of bare newlines, which are held, not parsed."""
    text = "".join(pieces)
    assert key(streamed(pieces, width).lines) == key(render_whole(text, width, STYLES))
    if "<think>" not in text:
        assert key(streamed(pieces, width).lines) == key(markdown_whole(text, width))


@SETTINGS
@given(st.sampled_from(["lorem ipsum dolor sit amet ", "a bb ccc dddd ", "x  y   z "]),
       st.integers(min_value=200, max_value=3000), st.integers(min_value=1, max_value=80),
       widths)
def test_a_long_open_line_in_any_step_wraps_like_the_whole_line(
        phrase: str, size: int, step: int, width: int) -> None:
    """Lines that fill the width exactly, with the space after them in the next append."""
    text = (phrase * (size // len(phrase) + 1))[:size]
    whole = PaneDocument(STYLES, width)
    whole.write(text, "bold")
    whole.finish()
    document = PaneDocument(STYLES, width)
    for i in range(0, len(text), step):
        document.write(text[i:i + step], "bold")
    document.finish()
    assert key(document.lines) == key(whole.lines)


def test_a_table_start_is_not_final_until_its_delimiter_row_is() -> None:
    """Found by hypothesis: "a | b" followed by a partial "|---|-" parses as a table that
    interrupts the paragraph; the completed "|---|---|word" is no delimiter row at all."""
    text = "word\nword two words a | b\n|---|---|word\n\nword\n"
    for cut in range(len(text)):
        document = PaneDocument(STYLES, 4)
        document.write_markdown(text[:cut])
        flow = document.parts[-1].flow if document.parts else None
        if isinstance(flow, MarkdownFlow):
            final = key(markdown_whole(text, 4))
            assert key(document.lines[:flow.start]) == final[:flow.start], cut
        document.write_markdown(text[cut:])
        document.finish()
        assert key(document.lines) == key(markdown_whole(text, 4))


def test_a_line_with_a_pipe_is_not_a_fence_or_heading_until_the_next_line_says() -> None:
    """Found by hypothesis: markdown-it tries tables first, so "```a | b" followed by a
    delimiter row is a table, not a fence; the same holds for a heading or a list item."""
    for text in ("```a | b\n|---|---|\n", "```a | b\nx = 1\n```\n", "# a | b\n|---|---|\n",
                 "para\n- a | b\n|---|---|\n| 1 | 2 |\n\nend"):
        for cut in range(len(text) + 1):
            document = streamed([text[:cut], text[cut:]], 12)
            assert key(document.lines) == key(markdown_whole(text, 12)), (text, cut)


CELLS = ["a", "bb", "**b**", "`c`", "[l](u)", "x" * 30, "é中", "", "a b c d e f g h", "|"]
table_rows = st.lists(st.lists(st.sampled_from(CELLS), min_size=1, max_size=4)
                      .map(lambda cells: "| " + " | ".join(cells) + " |"), max_size=12)
tables = st.tuples(st.sampled_from(["| a | bb |\n|---|--:|\n", "| a |\n|:-:|\n",
                                    "> | q | r |\n> |---|---|\n"]), table_rows).map(
    lambda t: t[0] + "\n".join(("> " if t[0].startswith(">") else "") + r for r in t[1]))


@SETTINGS
@given(tables, cuts, widths)
def test_an_open_table_drawn_from_kept_rows_equals_drawing_it_afresh(
        text: str, points: list[int], width: int) -> None:
    """Tables keep their cells and rows between appends: after every append, the open
    display equals a new pane given the same text at once (nothing kept)."""
    document = PaneDocument(STYLES, width)
    shown = ""
    for piece in split(text, points):
        document.write_markdown(piece)
        shown += piece
        fresh = PaneDocument(STYLES, width)
        fresh.write_markdown(shown)
        assert key(document.lines) == key(fresh.lines), shown
    document.finish()
    assert key(document.lines) == key(markdown_whole(text, width))


@SETTINGS
@given(st.lists(markdownish, min_size=1, max_size=3))
def test_kept_inline_tokens_equal_markdown_its_own_parse(texts_: list[str]) -> None:
    """Inline tokens are kept by their content across parses; every parse, first or
    repeated, equals markdown-it's own rules (nothing kept) on the same text."""
    reference = (MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
                 .disable(["reference"]))
    for text in texts_ + texts_:
        assert [t.as_dict() for t in parse(text)] == [t.as_dict() for t in reference.parse(text)]
