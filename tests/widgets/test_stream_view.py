"""StreamView in a real app: wrapping at the content width, following, scrolling, raw and
thinking toggles, selection, and SVG snapshots of Markdown panes."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Offset
from textual.selection import Selection

from loco_tui.widgets.stream_view import StreamView

REPLY = """# Plan

Some **bold** words, some *italic* ones, `inline code`, and a [link](https://example.com).

- first item that is long enough to wrap in a narrow pane
- second item
  - nested item

| tool | cost |
|------|-----:|
| ruff | 1 ms |
| mypy | 2 s |

```python
def greet(name: str) -> str:
    \"\"\"Say hello.\"\"\"
    return f"hello {name}"  # friendly
```

> A quote to finish.
"""

WORDS = " ".join(f"word{i}" for i in range(400))


class PaneApp(App[None]):
    """One pane dressed like MemberPane (round border, one column of padding)."""

    CSS = "StreamView { border: round $accent; padding: 0 1; height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield StreamView(id="pane")


def content_width(view: StreamView) -> int:
    return view.scrollable_content_region.width


@pytest.mark.parametrize("size", [(30, 12), (47, 16), (80, 24)])
async def test_text_wraps_to_the_content_width_before_and_after_the_scrollbar(size) -> None:
    app = PaneApp()
    async with app.run_test(size=size) as pilot:
        view = app.query_one(StreamView)
        width_before = content_width(view)
        view.write_markdown("short\n\n")
        await pilot.pause()
        assert not view.show_vertical_scrollbar
        for i in range(0, len(WORDS), 37):
            view.write_markdown(WORDS[i:i + 37])
            await pilot.pause()
        view.end_stream()
        await pilot.pause()
        assert view.show_vertical_scrollbar
        width = content_width(view)
        assert width == width_before - 1  # the scrollbar took a column...
        assert view.document.width == width  # ...and the text was wrapped again for it
        lines = view.lines_text()
        assert max(len(line) for line in lines) <= width
        assert " ".join(lines[2:]).split() == WORDS.split()  # nothing clipped or lost
        for y in range(view.scrollable_content_region.height):
            strip = view.render_line(y)
            shown = lines[y + view.scroll_offset.y]
            assert strip.cell_length == width
            assert strip.text.rstrip() == shown


async def test_resizing_the_terminal_rewraps_every_line() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(StreamView)
        view.write_markdown(REPLY)
        view.end_stream()
        await pilot.pause()
        for size in ((36, 20), (90, 30), (60, 20)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            width = content_width(view)
            assert view.document.width == width
            assert max(len(line) for line in view.lines_text()) <= width


async def test_scrolling_up_stops_following_and_end_resumes() -> None:
    app = PaneApp()
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(StreamView)
        view.focus()
        view.write(WORDS)
        await pilot.pause()
        assert view.following and view.scroll_y == view.max_scroll_y > 0
        await pilot.press("up")
        await pilot.pause()
        assert not view.following
        held = view.scroll_y
        view.write(" more words to push the bottom further down " * 5)
        await pilot.pause()
        assert view.scroll_y == held  # the reader's place is kept while text arrives
        await pilot.press("end")
        await pilot.pause()
        assert view.following and view.scroll_y == view.max_scroll_y
        view.scroll_to_line(0)
        await pilot.pause()
        assert not view.following and view.scroll_y == 0
        view.scroll_to_line(view.max_scroll_y)  # scrolling back to the bottom resumes
        view.write(" and yet more " * 10)
        await pilot.pause()
        assert view.following and view.scroll_y == view.max_scroll_y


async def test_mouse_wheel_up_stops_following() -> None:
    from textual import events

    app = PaneApp()
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(StreamView)
        view.write(WORDS)
        await pilot.pause()
        assert view.following
        view.post_message(events.MouseScrollUp(
            view, 5, 5, 0, 0, 0, False, False, False, screen_x=5, screen_y=5))
        await pilot.pause()
        assert not view.following and view.scroll_y < view.max_scroll_y


async def test_raw_and_think_toggles_keep_the_view_following() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(StreamView)
        view.write_thinking("first I think\nthen I think more")
        view.write_markdown(REPLY)
        await pilot.pause()
        rendered = view.lines_text()
        assert rendered[0] == "▾ thinking" and "# Plan" not in rendered
        assert view.toggle_raw() is True
        await pilot.pause()
        assert "# Plan" in view.lines_text() and "- second item" in view.lines_text()
        assert view.following and view.scroll_y == view.max_scroll_y
        assert view.toggle_raw() is False
        assert view.toggle_think() is True
        await pilot.pause()
        assert view.lines_text()[0] == "▸ thinking · 2 lines"
        assert view.lines_text()[1:] == rendered[3:]
        view.toggle_think()
        assert view.lines_text() == rendered


async def test_copying_helpers_return_the_answer_source_and_last_code_block() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(StreamView)
        view.write_markdown(REPLY)
        view.end_stream()
        await pilot.pause()
        assert view.answer_source == REPLY
        assert view.last_code_block == (
            'def greet(name: str) -> str:\n    """Say hello."""\n'
            '    return f"hello {name}"  # friendly')


async def test_selection_copies_clean_text_without_borders_or_padding() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 30)) as pilot:
        view = app.query_one(StreamView)
        view.write_markdown(REPLY)
        view.end_stream()
        await pilot.pause()
        lines = view.lines_text()
        start = lines.index("• first item that is long enough to wrap in a narrow pane")
        # Drag with the mouse from the bullet's text to the end of the nested item.
        region = view.content_region
        await pilot.mouse_down(StreamView, offset=(region.x - view.region.x + 2,
                                                   region.y - view.region.y + start))
        await pilot.hover(StreamView, offset=(region.x - view.region.x + 15,
                                              region.y - view.region.y + start + 2))
        await pilot.mouse_up(StreamView, offset=(region.x - view.region.x + 15,
                                                 region.y - view.region.y + start + 2))
        await pilot.pause()
        selected = app.screen.get_selected_text()
        assert selected == ("first item that is long enough to wrap in a narrow pane\n"
                            "• second item\n  ◦ nested item")
        assert "│" not in selected and "╭" not in selected


def test_get_selection_spans_lines_and_trims_padding() -> None:
    view = StreamView()
    view.document.set_width(30)
    view.document.write_markdown("```\nab\ncd\n```\n\nlast line")
    view.document.finish()
    text, end = view.get_selection(Selection(Offset(1, 0), Offset(4, 3)))  # type: ignore[misc]
    assert (text, end) == ("b\ncd\n\nlast", "\n")


# -- snapshots (plain `def`: snap_compare runs its own event loop) ------------------------------

def _written(text: str, *, finish: bool = True, toggle: str = ""):
    async def run_before(pilot) -> None:
        view = pilot.app.query_one(StreamView)
        for i in range(0, len(text), 11):
            view.write_markdown(text[i:i + 11])
        if finish:
            view.end_stream()
        if toggle == "raw":
            view.toggle_raw()
        elif toggle == "think":
            view.toggle_think()
        await pilot.pause()

    return run_before


def test_snapshot_markdown_pane_wide(snap_compare) -> None:
    assert snap_compare(PaneApp(), terminal_size=(70, 34), run_before=_written(REPLY))


def test_snapshot_markdown_pane_narrow_with_scrollbar(snap_compare) -> None:
    assert snap_compare(PaneApp(), terminal_size=(34, 20), run_before=_written(REPLY))


def test_snapshot_markdown_pane_mid_stream(snap_compare) -> None:
    assert snap_compare(PaneApp(), terminal_size=(60, 24),
                        run_before=_written(REPLY[: REPLY.index("return")], finish=False))


def test_snapshot_raw_mode(snap_compare) -> None:
    assert snap_compare(PaneApp(), terminal_size=(60, 30),
                        run_before=_written(REPLY, toggle="raw"))


def test_snapshot_collapsed_thinking(snap_compare) -> None:
    text = "<think>\nweigh the options\nthen decide\n</think>\n\n**Decision**: use `ruff`."
    assert snap_compare(PaneApp(), terminal_size=(50, 8),
                        run_before=_written(text, toggle="think"))


async def test_switching_theme_repaints_code_in_the_new_theme() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 24)) as pilot:
        app.theme = "textual-dark"
        view = app.query_one(StreamView)
        view.write_markdown("```python\nx = 1\n```")
        view.end_stream()
        await pilot.pause()

        def code_background() -> object:
            return next(seg.style.bgcolor for seg in view.document.lines[1] if seg.style)

        dark = code_background()
        app.theme = "textual-light"
        await pilot.pause()
        light = code_background()
        assert dark != light
        assert view.lines_text()[1].rstrip() == "x = 1"
