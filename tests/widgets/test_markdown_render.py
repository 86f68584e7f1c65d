"""Each Markdown construct renders to the expected lines and styles."""

from __future__ import annotations

from rich.style import Style as RichStyle

from loco_tui.widgets.pane_document import PaneDocument
from tests.widgets.helpers import STYLES, streamed, texts


def lines_of(text: str, width: int = 40) -> list[str]:
    return texts(streamed([text], width).lines)


def style_of(text: str, fragment: str, width: int = 40) -> RichStyle:
    """The style of the first segment whose text contains ``fragment``."""
    for strip in streamed([text], width).lines:
        for segment in strip:
            if fragment in segment.text:
                assert segment.style is not None
                return segment.style
    raise AssertionError(f"{fragment!r} not rendered")


def rich(role: str) -> RichStyle:
    return STYLES.role(role).rich_style


def test_headings_lose_their_hashes_and_take_their_level_style() -> None:
    assert lines_of("# Title\n\n## Sub\n\n###### Small") == ["Title", "", "Sub", "", "Small"]
    assert style_of("# Title", "Title") == rich("h1")
    assert style_of("## Sub", "Sub") == rich("h2")
    assert style_of("Setext\n===", "Setext") == rich("h1")


def test_emphasis_strong_strike_and_inline_code() -> None:
    text = "a *em* b **strong** c ~~gone~~ d `co de`"
    assert lines_of(text, 80) == ["a em b strong c gone d co de"]
    assert style_of(text, "em").italic
    assert style_of(text, "strong").bold
    assert style_of(text, "gone").strike
    assert style_of(text, "co de") == rich("code_inline")
    nested = style_of("***both***", "both")
    assert nested.bold and nested.italic


def test_paragraphs_wrap_at_the_width_and_soft_breaks_join() -> None:
    assert lines_of("one two three\nfour five six seven", 14) == [
        "one two three", "four five six", "seven"]
    assert lines_of("hard  \nbreak", 20) == ["hard", "break"]


def test_bullet_lists_nest_with_their_own_markers() -> None:
    text = "- one\n- two\n  - inner\n    - deepest\n- three"
    assert lines_of(text) == ["• one", "• two", "  ◦ inner", "    ▪ deepest", "• three"]
    assert style_of(text, "•") == rich("bullet")


def test_ordered_lists_keep_their_start_and_align_numbers() -> None:
    text = "8. eight\n9. nine\n10. ten"
    assert lines_of(text) == [" 8. eight", " 9. nine", "10. ten"]


def test_list_items_wrap_under_their_text_and_loose_lists_keep_a_gap() -> None:
    assert lines_of("- a long item that wraps", 12) == ["• a long", "  item that", "  wraps"]
    assert lines_of("- a\n\n- b") == ["• a", "", "• b"]


def test_block_quotes_carry_a_bar_on_every_line() -> None:
    assert lines_of("> quoted words that wrap", 14) == ["▌ quoted words", "▌ that wrap"]
    assert lines_of("> a\n>\n> b") == ["▌ a", "▌ ", "▌ b"]
    assert style_of("> q", "q").italic


def test_tables_are_boxed_aligned_and_fit_the_width() -> None:
    text = "| name | n |\n|:-----|--:|\n| alpha | 1 |\n| be | 22 |"
    assert lines_of(text) == [
        "╭───────┬────╮",
        "│ name  │  n │",
        "├───────┼────┤",
        "│ alpha │  1 │",
        "│ be    │ 22 │",
        "╰───────┴────╯",
    ]
    assert style_of(text, "name").bold
    narrow = lines_of("| a | b |\n|---|---|\n| many words here | x |", 16)
    assert all(len(line) <= 16 for line in narrow)
    assert "many" in "".join(narrow) and "here" in "".join(narrow)


def test_horizontal_rules_span_the_width() -> None:
    assert lines_of("a\n\n---\n\nb", 10) == ["a", "", "─" * 10, "", "b"]


def test_links_show_text_and_address_never_a_clickable_link() -> None:
    text = "see [the docs](https://example.com/x) and <https://e.org>"
    assert lines_of(text, 80) == ["see the docs (https://example.com/x) and https://e.org"]
    for strip in streamed([text], 80).lines:
        for segment in strip:
            assert segment.style is None or segment.style.link is None
    assert style_of(text, "the docs").underline


def test_fenced_code_is_highlighted_labelled_and_padded() -> None:
    text = "```python\ndef f():\n    return 1  # one\n```"
    assert [line.rstrip() for line in lines_of(text, 30)] == [
        "python", "def f():", "    return 1  # one"]
    assert all(len(line) == 30 for line in lines_of(text, 30))
    keyword = style_of(text, "def", 30)
    comment = style_of(text, "# one", 30)
    plain = style_of(text, "f", 30)
    assert keyword.color != comment.color != plain.color
    assert keyword.bgcolor == STYLES.code_base.rich_style.bgcolor


def test_a_multi_line_string_stays_a_string_on_its_inner_lines() -> None:
    text = '```python\nx = """\nif while\n"""\n```'
    assert style_of(text, "if while").color == STYLES.code(__import__(
        "pygments.token").token.String.Double).rich_style.color


def test_long_code_lines_fold_instead_of_word_wrapping() -> None:
    assert [line.rstrip() for line in lines_of("```\nabc def ghi\n```", 5)] == [
        "abc d", "ef gh", "i"]


def test_unknown_language_and_indented_code_are_plain_code() -> None:
    assert [line.rstrip() for line in lines_of("```nosuchlang\nx = 1\n```")] == [
        "nosuchlang", "x = 1"]
    assert [line.rstrip() for line in lines_of("para\n\n    indented code")] == [
        "para", "", "indented code"]


def test_html_is_shown_as_text() -> None:
    assert lines_of("<div>x</div>\n\na <b>b</b>", 40) == ["<div>x</div>", "", "a <b>b</b>"]


def test_reference_definitions_do_not_reach_back_into_earlier_text() -> None:
    assert lines_of("[x]\n\n[x]: http://e") == ["[x]", "", "[x]: http://e"]


def test_think_blocks_are_dim_and_collapse_for_the_whole_pane() -> None:
    document = PaneDocument(STYLES, 40)
    document.write_markdown("<think>\nstep one\nstep two\n</think>\nAnswer\n\n<think>more</think>")
    document.finish()
    assert document.text_lines() == [
        "▾ thinking", "step one", "step two", "Answer", "▾ thinking", "more"]
    dim = [seg.style for seg in document.lines[1]]
    assert all(style is not None and style.dim and style.italic for style in dim)
    document.set_think_collapsed(True)
    assert document.text_lines() == ["▸ thinking · 2 lines", "Answer", "▸ thinking · 1 line"]
    document.set_think_collapsed(False)
    assert "step two" in document.text_lines()


def test_think_tag_only_opens_at_a_line_start() -> None:
    document = PaneDocument(STYLES, 60)
    document.write_markdown("use `<think>` tags like <think>this</think>")
    document.finish()
    assert document.text_lines() == ["use <think> tags like <think>this</think>"]


def test_thinking_channel_plain_parts_and_the_answer_in_one_pane() -> None:
    document = PaneDocument(STYLES, 40)
    document.write_thinking("pondering")
    document.write_markdown("**First** answer")
    document.write("\n── fell back to b ──\n", "bold yellow")
    document.write_markdown("Second *answer*")
    document.finish()
    assert document.text_lines() == [
        "▾ thinking", "pondering", "First answer", "", "── fell back to b ──",
        "Second answer"]
    assert document.answer_source == "Second *answer*"
    marker = document.lines[4]
    assert all(seg.style is not None and seg.style.bold for seg in marker)


def test_raw_mode_shows_the_source_and_switches_back() -> None:
    text = "# T\n\n<think>hm</think>\n- **a**\n```py\nx\n```"
    document = PaneDocument(STYLES, 40)
    for i in range(0, len(text), 3):
        document.write_markdown(text[i:i + 3])
    rendered = document.text_lines()
    document.set_raw(True)
    assert document.text_lines() == ["# T", "", "<think>hm</think>", "- **a**", "```py", "x",
                                     "```"]
    document.write_markdown("\nmore *x*")
    assert document.text_lines()[-1] == "more *x*"
    document.set_raw(False)
    assert document.text_lines()[: len(rendered) - 1] == rendered[:-1]
    assert document.text_lines()[-1] == "more x"


def test_last_code_block_and_answer_source() -> None:
    document = PaneDocument(STYLES, 40)
    assert document.last_code_block is None
    document.write_markdown("a\n```sh\nls\n```\ntext\n\n    indented\n\n```py\nx = 1\ny = 2")
    assert document.last_code_block == "x = 1\ny = 2"
    document.finish()
    assert document.answer_source.startswith("a\n```sh")


def test_a_failure_line_leaves_the_answer_and_its_code_copyable() -> None:
    document = PaneDocument(STYLES, 40)
    document.write_markdown("partial answer\n```sh\nmake test\n```\n")
    document.write("\n[timeout] the model stopped", "red")
    assert document.answer_source == "partial answer\n```sh\nmake test\n```\n"
    assert document.last_code_block == "make test"
    document.write_markdown("next answer")
    assert document.answer_source == "next answer"
    assert document.last_code_block is None
