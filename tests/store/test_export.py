"""Exports: Markdown a person pastes into a PR (safe to print), JSON that loses nothing."""

from __future__ import annotations

import json

from loco_tui.events import MemberFinished, event_from_dict
from loco_tui.store.export import EXPORT_FORMAT
from loco_tui.testing.script import Fault, Reply
from tests.common import registry_for
from tests.store.common import REGISTRY, follow_up, script

HOSTILE = "Use a set.\x1b]52;c;cGF3bmVk\x07 \x1b[2J\u202eevil\r\x9b"


async def test_markdown_of_a_session_reads_like_a_note(ollama_server, store):
    server = ollama_server(script(
        alpha=Reply.text(HOSTILE),
        gamma=Reply(pieces=("half", " a", " thought"), fault=Fault.DROP, fault_after=2)))
    registry = registry_for(server.url, REGISTRY)
    one = await follow_up(store, registry, "dedupe a list", None, ensemble="trio")
    sid = one.events[0].session
    two = await follow_up(store, registry, "make it shorter\nplease", sid, role="coder")
    await store.record_human_verdict(one.run_id, "m1")

    md = await store.export_markdown(sid[:10])
    assert md.startswith("# dedupe a list\n")
    assert f"Session `{sid}` · 2 turns" in md
    assert "## Turn 1 · ensemble `trio` · partial" in md
    assert "## Turn 2 · role `coder` · ok" in md
    assert "> dedupe a list" in md and "> make it shorter\n> please" in md
    for head in ("### m1 · alpha · skeptic", "### m2 · beta", "### m3 · gamma"):
        assert head in md
    assert "Beta says sort first then scan." in md
    assert "### m3 · gamma\n\n_failed (dropped): " in md
    assert "Streamed before that:\n\nhalf a" in md
    assert "**Verdict**: judge `arbiter` picked **" in md and "clearest" in md
    assert "**Your choice**: continue with m1." in md
    assert "✓ your choice" in md
    # The answer of turn 1 is now m1's (the person's choice), shown where it stands.
    assert "**Answer**: the proposal of m1 above." in md
    assert two.run_id in md
    # Model text is shown, its control sequences made visible and harmless.
    assert "\x1b" not in md and "\u202e" not in md and "\r" not in md and "\x9b" not in md
    assert "␛]52;c;cGF3bmVk␇" in md and "<U+202E>evil" in md


async def test_markdown_of_one_run(ollama_server, store):
    server = ollama_server(script())
    registry = registry_for(server.url, REGISTRY)
    one = await follow_up(store, registry, "dedupe a list", None, ensemble="trio")
    two = await follow_up(store, registry, "shorter", one.events[0].session, role="coder")
    md = await store.export_markdown(two.run_id)
    assert "## Turn 2 · role `coder` · ok" in md and "## Turn 1" not in md
    assert "### coder · alpha" in md
    assert "**Answer**: the proposal of coder above." in md


async def test_json_export_is_lossless(ollama_server, store):
    server = ollama_server(script(alpha=Reply.text(HOSTILE)))
    registry = registry_for(server.url, REGISTRY)
    one = await follow_up(store, registry, "dedupe a list", None, ensemble="trio")
    sid = one.events[0].session
    two = await follow_up(store, registry, "shorter", sid, role="coder")

    data = json.loads(json.dumps(await store.export_json(sid)))
    assert (data["format"], data["version"], data["kind"]) == (EXPORT_FORMAT, 1, "session")
    assert data["session"]["id"] == sid and data["session"]["turns"] == 2
    runs = data["runs"]
    assert [r["id"] for r in runs] == [one.run_id, two.run_id]
    for exported, recorded in zip(runs, (one, two), strict=True):
        assert [event_from_dict(e) for e in exported["events"]] == recorded.events
    first = runs[0]
    texts = {e.member: e.text for e in one.events if isinstance(e, MemberFinished)}
    assert {c["member"]: c["text"] for c in first["calls"]} == texts
    assert texts["m1"] == HOSTILE  # exactly, control characters and all
    assert first["verdicts"][0]["by"] == "judge"
    assert {p["member"] for p in first["parse_results"]} == {"m1", "m2", "m3", "judge"}

    one_run = await store.export_json(two.run_id)
    assert one_run["kind"] == "run" and [r["id"] for r in one_run["runs"]] == [two.run_id]
