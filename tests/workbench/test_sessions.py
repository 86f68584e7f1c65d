"""Conversations in the workbench: follow-ups see the thread, earlier turns move to the
transcript, Ctrl+N starts over, the history screen reopens a session ready for a follow-up,
and 1-9 continues with another pane than the judge's pick."""

from __future__ import annotations

from loco_tui.store import Store
from loco_tui.widgets.member_pane import MemberPane
from tests.common import SIZE, ask, booted, make_app, settle, trio_script, type_prompt, until


def member_request(server, model: str = "beta:3b") -> dict:
    return [b for b in server.bodies("/api/chat") if b["model"] == model][-1]


async def test_a_follow_up_sees_the_conversation_and_earlier_turns_move_down(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        assert not app.transcript.display
        await ask(app, pilot, "dedupe a list")
        answer = app.session.turns[-1].answer
        assert answer == "Alpha says use a set."  # the judge picked m1 (label B)
        await ask(app, pilot, "make it shorter")
        sent = member_request(server)["messages"]
        assert [m["content"] for m in sent] == ["dedupe a list", answer, "make it shorter"]
        assert app.transcript.display
        lines = "\n".join(app.transcript.lines_text())
        assert "› dedupe a list" in lines and "Alpha says use a set." in lines
        assert "— m1" in lines
        assert len(app.session.turns) == 2


async def test_ctrl_n_starts_a_new_session(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "dedupe a list")
        first = app.session.id
        app.set_focus(None)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.session.id != first and app.session.turns == []
        assert not app.transcript.display
        await ask(app, pilot, "a fresh question")
        sent = member_request(server)["messages"]
        assert [m["content"] for m in sent] == ["a fresh question"]


async def test_digit_keys_continue_with_another_pane(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "dedupe a list")
        run_id = app.current.run_id
        await pilot.press("tab")  # out of the prompt: digits are for panes now
        await pilot.press("3")
        await until(pilot, lambda: app.current.person_pick == "m3")
        panes = {p.member: p for p in app.query(MemberPane)}
        assert panes["m3"].has_class("-chosen") and "your pick" in panes["m3"].status
        assert not panes["m1"].has_class("-chosen")
        assert app.session.turns[-1].answer == "Gamma says a dict keeps order."
        detail = await app.store.run(run_id)
        assert [(v.by, v.winner) for v in detail.verdicts][-1] == ("human", "m3")
        app.prompt.focus()
        await ask(app, pilot, "shorter")
        sent = member_request(server)["messages"]
        assert sent[1] == {"role": "assistant", "content": "Gamma says a dict keeps order."}


async def test_digits_typed_in_the_prompt_stay_text(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "dedupe a list")
        await pilot.click("#prompt")
        await pilot.press("2", "q")
        assert app.prompt.text == "2q"
        assert app.current.person_pick is None and app.is_running


async def test_the_history_screen_searches_reopens_and_continues(ollama_server):
    from textual.widgets import Input

    from loco_tui.screens.history import HistoryScreen

    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "dedupe a list")
        await ask(app, pilot, "make it shorter")
        kept = app.session.id
        app.set_focus(None)
        await pilot.press("ctrl+n")
        await ask(app, pilot, "something unrelated")
        app.set_focus(None)
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        search = screen.query_one(Input)
        search.focus()
        await pilot.press(*"dedupe")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: app.session.id == kept)
        await settle(app, pilot)
        assert len(app.session.turns) == 2
        lines = "\n".join(app.transcript.lines_text())
        assert "› dedupe a list" in lines and "make it shorter" not in lines
        panes = {p.member: p for p in app.query(MemberPane)}
        assert panes["m1"].text == "Alpha says use a set."  # the last turn, re-rendered
        await ask(app, pilot, "and in Go?")
        sent = [m["content"] for m in member_request(server)["messages"]]
        assert sent[0::2] == ["dedupe a list", "make it shorter", "and in Go?"]
    async with await Store.open() as store:
        assert (await store.session(kept)).turns[-1].prompt == "and in Go?"


async def test_history_off_is_said_and_the_workbench_still_runs(ollama_server, tmp_path,
                                                                  monkeypatch):
    from loco_tui.widgets.sidebar import ModelSidebar

    home = tmp_path / "home"
    home.mkdir()
    (home / "loco.db").write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("LOCO_HOME", str(home))
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        assert app.store is None
        assert "history off" in str(app.query_one(ModelSidebar).render())
        await ask(app, pilot, "dedupe a list")
        assert "run ok" in app.trace.text
        await type_prompt(pilot, "shorter")  # sessions still go on, in memory
        await settle(app, pilot)
        assert len(app.session.turns) == 2
