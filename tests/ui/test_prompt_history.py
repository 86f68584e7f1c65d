"""The persisted prompt list behind Up/Down recall: dedupe, the 500 cap, atomic writes,
files that are missing, corrupt or not ours, unwritable dirs, two windows sharing the file,
and the walk Up and Down make."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loco_tui.prompt_history import (
    FILE_NAME,
    LIMIT,
    MAX_PROMPT_CHARS,
    PromptHistory,
    Recall,
    default_path,
)


def saved(path: Path) -> list[str]:
    return json.loads(path.read_text("utf-8"))["prompts"]


def test_the_file_lives_in_the_data_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LOCO_HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / FILE_NAME
    history = PromptHistory.load()
    history.add("first")
    assert history.save()
    assert saved(tmp_path / "home" / FILE_NAME) == ["first"]


def test_prompts_survive_a_restart_oldest_first(tmp_path) -> None:
    path = tmp_path / "prompts.json"
    history = PromptHistory.load(path)
    for prompt in ["one", "two\nlines", "three"]:
        history.add(prompt)
    assert history.save()
    assert PromptHistory.load(path).prompts == ("one", "two\nlines", "three")


def test_a_prompt_sent_again_moves_to_the_newest_place_once(tmp_path) -> None:
    path = tmp_path / "prompts.json"
    history = PromptHistory.load(path)
    for prompt in ["a", "b", "a", "c", "b"]:
        history.add(prompt)
    assert history.prompts == ("a", "c", "b")
    history.save()
    assert saved(path) == ["a", "c", "b"]


def test_blank_and_huge_prompts_are_not_kept(tmp_path) -> None:
    history = PromptHistory.load(tmp_path / "prompts.json")
    assert not history.add("   \n\t")
    assert not history.add("x" * (MAX_PROMPT_CHARS + 1))
    assert history.add("x" * MAX_PROMPT_CHARS)
    assert len(history) == 1


def test_only_the_last_500_are_kept(tmp_path) -> None:
    path = tmp_path / "prompts.json"
    history = PromptHistory.load(path)
    for i in range(LIMIT + 37):
        history.add(f"prompt {i}")
    history.save()
    kept = saved(path)
    assert len(kept) == LIMIT == 500
    assert kept[0] == "prompt 37" and kept[-1] == f"prompt {LIMIT + 36}"


def test_two_windows_sharing_the_file_keep_each_others_prompts(tmp_path) -> None:
    path = tmp_path / "prompts.json"
    left, right = PromptHistory.load(path), PromptHistory.load(path)
    left.add("from the left")
    left.save()
    right.add("from the right")
    right.save()
    assert saved(path) == ["from the left", "from the right"]
    assert right.prompts == ("from the left", "from the right")


@pytest.mark.parametrize("content", [
    b"",
    b"{not json",
    b"\xff\xfe\x00garbage",
    b'["a list", "not our shape"]',
    b'{"prompts": "a string"}',
    b"[" * 100_000,  # deeper than the JSON parser recurses
])
def test_a_corrupt_file_is_an_empty_history_and_is_replaced_on_save(tmp_path, content) -> None:
    path = tmp_path / "prompts.json"
    path.write_bytes(content)
    history = PromptHistory.load(path)
    assert history.prompts == ()
    history.add("fresh start")
    assert history.save()
    assert saved(path) == ["fresh start"]


def test_entries_that_are_not_prompts_are_skipped(tmp_path) -> None:
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps({"version": 1, "prompts": ["ok", 3, None, ["x"], "", "also ok"]}))
    assert PromptHistory.load(path).prompts == ("ok", "also ok")


def test_a_missing_file_is_an_empty_history(tmp_path) -> None:
    assert PromptHistory.load(tmp_path / "nowhere" / "prompts.json").prompts == ()


def test_an_unwritable_place_is_reported_not_raised(tmp_path) -> None:
    # A file where the data dir should be: no directory can be made there, even by root.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    history = PromptHistory.load(blocker / "prompts.json")
    history.add("kept in memory")
    assert not history.save()
    assert history.error and "not saved" in history.error
    assert history.prompts == ("kept in memory",)


def test_a_failed_write_leaves_the_old_file_whole_and_no_temp_file(tmp_path) -> None:
    path = tmp_path / "prompts.json"
    history = PromptHistory.load(path)
    history.add("before")
    history.save()
    # A directory where the file should be: os.replace fails after the temp file was written.
    history.path = tmp_path / "taken"
    history.path.mkdir()
    (history.path / "x").write_text("keep me non-empty")
    history.add("after")
    assert not history.save()
    assert history.error
    assert saved(path) == ["before"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prompts.json", "taken"]


def test_the_file_is_private(tmp_path) -> None:
    path = tmp_path / "prompts.json"
    history = PromptHistory.load(path)
    history.add("my api key is in this prompt")
    history.save()
    assert path.stat().st_mode & 0o077 == 0


def test_odd_text_round_trips(tmp_path) -> None:
    path = tmp_path / "prompts.json"
    odd = ["tab\tand \"quotes\" and \\", "emoji 🦙 and 中文", "lone \ud800 surrogate"]
    history = PromptHistory.load(path)
    for prompt in odd:
        history.add(prompt)
    assert history.save()
    assert PromptHistory.load(path).prompts == tuple(odd)


# -- the walk -------------------------------------------------------------------------------
def test_up_goes_back_down_comes_forward_and_the_draft_returns() -> None:
    recall = Recall(["first", "second", "third"])
    assert recall.older("half typed") == "third"
    assert recall.older("third") == "second"
    assert recall.older("second") == "first"
    assert recall.older("first") is None  # the oldest: nothing further back
    assert recall.newer("first") == "second"
    assert recall.newer("second") == "third"
    assert recall.active
    assert recall.newer("third") == "half typed"
    assert not recall.active
    assert recall.newer("half typed") is None


def test_edits_to_an_entry_are_kept_while_walking() -> None:
    recall = Recall(["first", "second"])
    assert recall.older("") == "second"
    assert recall.older("second, edited") == "first"
    assert recall.newer("first") == "second, edited"
    assert recall.newer("second, edited") == ""


def test_an_empty_history_recalls_nothing() -> None:
    recall = Recall([])
    assert recall.older("draft") is None
    assert recall.newer("draft") is None
