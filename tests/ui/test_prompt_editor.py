"""The prompt editor in a real app, driven with Pilot: Enter sends and clears, the newline
keys, bracketed pastes arriving whole (and unsent), growth then scrolling, recall of earlier
prompts across instances and restarts, Ctrl+E without a terminal, and `q` typed, not quit."""

from __future__ import annotations

import json

from textual import events

from loco_tui.prompt_history import PromptHistory
from loco_tui.widgets.prompt_editor import PromptEditor
from tests.ui.hosts import EditorHost

FENCED = """Why does this fail?
```python
def mean(xs):
    return sum(xs) / len(xs)
```
"""
TRACEBACK = """Traceback (most recent call last):
  File "stats.py", line 2, in mean
    return sum(xs) / len(xs)
ZeroDivisionError: division by zero"""


def history_at(tmp_path, *prompts: str) -> PromptHistory:
    history = PromptHistory.load(tmp_path / "prompts.json")
    for prompt in prompts:
        history.add(prompt)
    return history


async def test_enter_sends_the_text_and_clears_the_box(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path))
    async with app.run_test() as pilot:
        await pilot.press(*"dedupe a list")
        assert app.editor.text == "dedupe a list"
        await pilot.press("enter")
        await pilot.pause()
        assert app.submitted == ["dedupe a list"]
        assert app.editor.text == ""


async def test_without_clear_on_submit_the_app_clears_when_it_really_sends(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path), clear_on_submit=False)
    async with app.run_test() as pilot:
        await pilot.press(*"refused for now", "enter")
        await pilot.pause()
        assert app.submitted == ["refused for now"]
        assert app.editor.text == "refused for now"  # still there for a second try
        app.editor.clear()
        await pilot.press("up")
        assert app.editor.text == "refused for now"  # and in the recall already


async def test_a_blank_prompt_is_not_sent(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path))
    async with app.run_test() as pilot:
        await pilot.press("space", "ctrl+j", "space", "enter")
        await pilot.pause()
        assert app.submitted == []


async def test_ctrl_j_shift_enter_and_ctrl_enter_insert_newlines(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path))
    async with app.run_test() as pilot:
        editor = app.editor
        assert editor.newline_keys[0] == "ctrl+j"
        assert set(editor.newline_keys) == {"ctrl+j", "shift+enter", "ctrl+enter"}
        assert editor.newline_hint == "Ctrl+J"
        await pilot.press("a", "ctrl+j", "b", "ctrl+enter", "c")
        assert editor.text == "a\nb\nc"
        assert "Ctrl+J new line" in str(editor.placeholder)
        # Only a terminal that reports Shift+Enter sends it: from then on it is offered.
        await pilot.press("shift+enter", "d")
        assert editor.text == "a\nb\nc\nd"
        assert editor.newline_hint == "Shift+Enter"
        assert "Shift+Enter new line" in str(editor.placeholder)
        await pilot.press("enter")
        await pilot.pause()
        assert app.submitted == ["a\nb\nc\nd"]


async def test_the_placeholder_says_how_to_send_and_how_to_break_a_line(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path))
    async with app.run_test():
        placeholder = str(app.editor.placeholder)
        assert "Enter sends" in placeholder and "Ctrl+J new line" in placeholder


async def test_a_multi_line_paste_arrives_whole_and_is_not_sent(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path))
    async with app.run_test() as pilot:
        await pilot.press(*"look: ")
        # What the driver posts for a bracketed paste: one Paste event to the app.
        app.post_message(events.Paste(FENCED + TRACEBACK))
        await pilot.pause()
        assert app.submitted == []
        assert app.editor.text == "look: " + FENCED + TRACEBACK
        assert app.editor.cursor_location == app.editor.document.end
        await pilot.press("enter")
        await pilot.pause()
        assert app.submitted == ["look: " + FENCED + TRACEBACK]


async def test_a_pasted_four_line_text_keeps_all_four_lines(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path))
    async with app.run_test() as pilot:
        app.post_message(events.Paste("one\ntwo\nthree\nfour"))
        await pilot.pause()
        assert app.editor.text.split("\n") == ["one", "two", "three", "four"]
        assert app.submitted == []


async def test_pasted_line_ends_are_normalised_and_controls_made_visible(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path))
    async with app.run_test() as pilot:
        app.post_message(events.Paste("red:\r\n\x1b[31merror\x1b[0m\rnext"))
        await pilot.pause()
        assert app.editor.text == "red:\n␛[31merror␛[0m\nnext"
        shown = "".join(app.editor.render_line(y).text
                        for y in range(app.editor.content_region.height))
        assert "␛[31merror" in shown and "\x1b" not in shown


async def test_the_box_grows_to_eight_lines_then_scrolls(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path))
    async with app.run_test(size=(60, 24)) as pilot:
        editor = app.editor
        assert editor.content_region.height == 1
        await pilot.press("a", "ctrl+j", "b", "ctrl+j", "c")
        await pilot.pause()
        assert editor.content_region.height == 3
        for i in range(9):
            await pilot.press("ctrl+j", str(i))
        await pilot.pause()
        assert editor.document.line_count == 12
        assert editor.content_region.height == 8
        assert editor.scroll_offset.y == 4  # the cursor's line stays in view
        await pilot.press("enter")
        await pilot.pause()
        assert editor.content_region.height == 1


async def test_q_is_typed_not_a_quit(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path))
    async with app.run_test() as pilot:
        await pilot.press("q", "u", "i", "t", "q")
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert app.editor.text == "quitq"


async def test_the_focus_ring_shows_which_widget_has_focus(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path))
    async with app.run_test() as pilot:
        focused = app.editor.styles.border_top
        app.set_focus(None)
        await pilot.pause()
        blurred = app.editor.styles.border_top
        assert focused[0] == blurred[0] == "round"
        assert focused[1] != blurred[1]


# -- recall ------------------------------------------------------------------------------------
async def test_up_recalls_older_prompts_and_down_returns_to_the_kept_draft(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path, "first prompt", "second prompt"))
    async with app.run_test() as pilot:
        editor = app.editor
        await pilot.press(*"half typed")
        await pilot.press("up")
        assert editor.text == "second prompt"
        assert editor.cursor_location == (0, len("second prompt"))
        await pilot.press("up")
        assert editor.text == "first prompt"
        await pilot.press("up")  # nothing older: stays
        assert editor.text == "first prompt"
        await pilot.press("down")
        assert editor.text == "second prompt"
        await pilot.press("down")
        assert editor.text == "half typed"
        await pilot.press("down")  # past the draft: nothing happens
        assert editor.text == "half typed"


async def test_up_and_down_move_inside_a_multi_line_prompt_first(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path, "older"))
    async with app.run_test() as pilot:
        editor = app.editor
        await pilot.press("a", "ctrl+j", "b")
        await pilot.press("up")  # from the second line to the first: no recall
        assert editor.text == "a\nb" and editor.cursor_location[0] == 0
        await pilot.press("up")  # on the first line: recall
        assert editor.text == "older"
        await pilot.press("down")
        assert editor.text == "a\nb"


async def test_a_multi_line_prompt_is_recalled_with_the_cursor_on_its_first_line(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path, "oldest", "line one\nline two"))
    async with app.run_test() as pilot:
        editor = app.editor
        await pilot.press("up")
        assert editor.text == "line one\nline two"
        assert editor.cursor_location == (0, len("line one"))
        await pilot.press("up")  # straight on to the one before
        assert editor.text == "oldest"


async def test_sent_prompts_are_recalled_and_edits_to_a_recalled_one_kept(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path))
    async with app.run_test() as pilot:
        editor = app.editor
        for prompt in ("one", "two"):
            await pilot.press(*prompt, "enter")
        await pilot.press("up", "up")
        assert editor.text == "one"
        await pilot.press(*"!")
        await pilot.press("down", "up")
        assert editor.text == "one!"
        await pilot.press("enter")
        await pilot.pause()
        assert app.submitted == ["one", "two", "one!"]
        await pilot.press("up")  # a new walk after each send, newest first
        assert editor.text == "one!"


async def test_prompts_persist_across_instances_and_restarts(tmp_path) -> None:
    path = tmp_path / "prompts.json"
    first = EditorHost(PromptHistory.load(path))
    async with first.run_test() as pilot:
        await pilot.press(*"from the first window", "enter")
        await pilot.press(*"a second", "ctrl+j", *"with two lines", "enter")
        await first.workers.wait_for_complete()
    assert json.loads(path.read_text())["prompts"] == [
        "from the first window", "a second\nwith two lines"]
    second = EditorHost(PromptHistory.load(path))  # a restart reads the file again
    async with second.run_test() as pilot:
        await pilot.press("up")
        assert second.editor.text == "a second\nwith two lines"
        await pilot.press("up")
        assert second.editor.text == "from the first window"


async def test_the_default_history_is_the_data_dir_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LOCO_HOME", str(tmp_path / "home"))
    app = EditorHost()  # no history given: the editor loads the data dir's file
    async with app.run_test() as pilot:
        await pilot.press(*"remember me", "enter")
        await app.workers.wait_for_complete()
    assert json.loads((tmp_path / "home" / "prompts.json").read_text())["prompts"] == [
        "remember me"]


async def test_a_corrupt_history_file_starts_empty_and_is_rewritten(tmp_path) -> None:
    path = tmp_path / "prompts.json"
    path.write_bytes(b'{"prompts": ["unfinished')
    app = EditorHost(PromptHistory.load(path))
    async with app.run_test() as pilot:
        await pilot.press(*"draft", "up")
        assert app.editor.text == "draft"  # nothing to recall, nothing crashed
        await pilot.press("enter")
        await app.workers.wait_for_complete()
    assert json.loads(path.read_text())["prompts"] == ["draft"]


async def test_a_history_that_cannot_be_saved_is_said_once(tmp_path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")  # a file where the data dir should be
    app = EditorHost(PromptHistory.load(blocker / "prompts.json"))
    async with app.run_test() as pilot:
        for prompt in ("first", "second"):
            await pilot.press(*prompt, "enter")
            await app.workers.wait_for_complete()
        await pilot.press("up", "up")
        assert app.editor.text == "first"  # recall still works, from memory
    assert app.submitted == ["first", "second"]
    assert [note for note in app.notes if "not saved" in note] == [
        f"prompt history not saved to {blocker / 'prompts.json'}: File exists"]


async def test_a_recalled_prompt_from_a_tampered_file_shows_no_controls(tmp_path) -> None:
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps({"version": 1, "prompts": ["title \x1b]0;pwned\x07 here"]}))
    app = EditorHost(PromptHistory.load(path))
    async with app.run_test() as pilot:
        await pilot.press("up")
        assert app.editor.text == "title ␛]0;pwned␇ here"


# -- $EDITOR without a terminal -------------------------------------------------------------
async def test_ctrl_e_without_a_terminal_says_so_and_keeps_the_text(tmp_path, monkeypatch) -> None:
    marker = tmp_path / "editor-ran"
    script = tmp_path / "editor.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(script))
    app = EditorHost(history_at(tmp_path))
    async with app.run_test() as pilot:
        await pilot.press(*"keep me", "ctrl+e")
        await pilot.pause()
        assert app.editor.text == "keep me"
        assert app.is_running
        assert any("No terminal" in note for note in app.notes)
    assert not marker.exists()  # no editor was started behind a headless app


async def test_restore_puts_a_prompt_back_with_the_cursor_at_its_end(tmp_path) -> None:
    app = EditorHost(history_at(tmp_path))
    async with app.run_test() as pilot:
        await pilot.press(*"busy", "enter")
        await pilot.pause()
        message_text = app.submitted[-1]
        app.editor.restore(message_text + "\r\nmore")
        assert app.editor.text == "busy\nmore"
        assert app.editor.cursor_location == (1, 4)


def test_submitted_is_nested_in_the_widget_and_names_its_control() -> None:
    editor = PromptEditor(history=PromptHistory(None))
    message = PromptEditor.Submitted(editor, "hello")
    assert message.control is editor and message.text == "hello"


async def test_enter_after_a_burst_of_keys_sends_every_character() -> None:
    """Keys that arrive together (tmux send-keys, a fast typist) reach the text before
    Enter sends it: a priority binding on Enter used to send an empty or partial prompt."""
    app = EditorHost()
    async with app.run_test() as pilot:
        editor = app.editor
        editor.focus()
        await pilot.pause()
        for character in "hello world":
            key = "space" if character == " " else character
            app.post_message(events.Key(key, character))
        app.post_message(events.Key("enter", "\r"))
        for character in "ab":
            app.post_message(events.Key(character, character))
        app.post_message(events.Key("ctrl+j", "\n"))
        app.post_message(events.Key("c", "c"))
        await pilot.pause(0.2)
        assert app.submitted == ["hello world"]
        assert editor.text == "ab\nc"
