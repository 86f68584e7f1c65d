"""Reading and acting on the panes: Markdown while streaming (equal to rendering the whole
reply at once, with four members at full speed), copy, zoom, raw text, focus, live figures,
the sidebar on narrow terminals, `q` while typing, the palette and the keys panel, themes
remembered."""

from __future__ import annotations

from loco_tui.registry import data_dir
from loco_tui.testing.script import Reply
from loco_tui.widgets.member_pane import MemberPane
from loco_tui.widgets.pane_document import PaneDocument
from loco_tui.widgets.pane_styles import PaneStyles
from tests.common import SIZE, ask, booted, make_app, settle, trio_script, type_prompt, until

MARKDOWN = """## Plan

Use a **set** when order does not matter, and a `dict` when it does:

- `set(xs)` loses the order
- `dict.fromkeys(xs)` keeps it

| way | keeps order |
|-----|-------------|
| set | no |
| dict | yes |

```python
def dedupe(xs):
    return list(dict.fromkeys(xs))
```

> Both are O(n).
"""


def rendered_whole(pane: MemberPane) -> list[str]:
    """The pane's answer rendered in one go, at the pane's width and styles."""
    document = PaneDocument(PaneStyles.default(), pane.scrollable_content_region.width)
    document.set_styles(pane.document.styles)
    document.write_markdown(pane.text)
    document.finish()
    return document.text_lines()


async def test_panes_render_markdown_while_streaming_as_if_rendered_whole(ollama_server):
    fast = {name: Reply.text(MARKDOWN.replace("Plan", f"Plan {name}") * 6)
            for name in ("alpha", "beta", "gamma")}
    body = """
[models.alpha]
provider = "local"
model = "alpha:7b"
[models.beta]
provider = "local"
model = "beta:3b"
[models.gamma]
provider = "local"
model = "gamma:1b"
[ensembles.four]
members = [{ model = "alpha" }, { model = "beta" }, { model = "gamma" }, { model = "alpha" }]
judge = false
"""
    server = ollama_server(trio_script(**fast))
    app = make_app(server.url, body)
    async with app.run_test(size=(160, 48)) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "dedupe")
        panes = [p for p in app.query("#members MemberPane")]
        assert len(panes) == 4
        for pane, name in zip(panes, ("alpha", "beta", "gamma", "alpha"), strict=True):
            assert pane.text == fast[name].full_text  # no delta lost
            lines = pane.lines_text()
            assert lines == rendered_whole(pane)
            assert any(line.startswith(f"Plan {name}") for line in lines)  # no "## "
            assert not any(line.lstrip().startswith("```") for line in lines)
            assert any("keeps order" in line for line in lines)  # the table's header


async def test_copy_keys_put_the_answer_and_its_code_on_the_clipboard(ollama_server):
    server = ollama_server(trio_script(alpha=Reply.text(MARKDOWN)))
    app = make_app(server.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "dedupe")
        m1 = app.query_one("#members MemberPane", MemberPane)
        m1.focus()
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == MARKDOWN
        await pilot.press("C")
        await pilot.pause()
        assert app.clipboard == "def dedupe(xs):\n    return list(dict.fromkeys(xs))"
        judge = app.query_one("#judge", MemberPane)
        judge.focus()
        await pilot.press("v")
        await pilot.pause()
        assert app.clipboard == "clearest"
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("Copied m1's answer:") for m in messages)
        assert any("last code block" in m and "characters" in m for m in messages)


async def test_a_copied_reply_never_carries_a_live_control_sequence(ollama_server):
    evil = "run `echo hi`\x1b]52;c;cm0gLXJmIH4=\x07 please"
    server = ollama_server(trio_script(alpha=Reply.text(evil)))
    app = make_app(server.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "x")
        m1 = app.query_one("#members MemberPane", MemberPane)
        m1.focus()
        await pilot.press("c")
        await pilot.pause()
        assert "\x1b" not in app.clipboard and "␛]52;" in app.clipboard


async def test_z_zooms_the_focused_pane_and_restores_it(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "dedupe")
        m2 = list(app.query("#members MemberPane"))[1]
        m2.focus()
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is m2
        assert m2.size.width > SIZE[0] - 10
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is None


async def test_tab_moves_between_panes_and_r_shows_the_raw_text(ollama_server):
    server = ollama_server(trio_script(alpha=Reply.text(MARKDOWN)))
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "dedupe")
        assert app.focused is app.prompt
        order = []
        for _ in range(4):
            await pilot.press("tab")
            order.append(getattr(app.focused, "member", None))
        assert order[:3] == ["m1", "m2", "m3"]
        m1 = app.query("#members MemberPane").first(MemberPane)
        m1.focus()
        await pilot.press("r")
        await pilot.pause()
        assert m1.raw and "## Plan" in m1.lines_text()
        await pilot.press("r")
        await pilot.pause()
        assert not m1.raw and "## Plan" not in m1.lines_text()


async def test_a_streaming_pane_shows_live_figures(ollama_server):
    slow = Reply(pieces=tuple(f" w{i}" for i in range(60)), piece_delay_s=0.03)
    server = ollama_server(trio_script(alpha=slow))
    app = make_app(server.url, show_rates=True)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await type_prompt(pilot, "go")
        await until(pilot, lambda: "m1" in app._panes)  # mounted by the run's first events
        m1 = app._panes["m1"]
        await until(pilot, lambda: "t/s" in m1.status and "1st" in m1.status)
        assert m1.status.startswith("streaming · ")
        await settle(app, pilot)
        assert "✓ 60 tok" in m1.status


async def test_q_types_in_the_prompt_and_quits_from_elsewhere(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await pilot.click("#prompt")
        await pilot.press("q")
        assert app.prompt.text == "q" and app.is_running
        app.query("#members MemberPane").first(MemberPane).focus()
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_ctrl_q_quits_while_typing_in_the_prompt(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await pilot.click("#prompt")
        await pilot.press("h", "i")
        assert app.focused is app.prompt
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_a_narrow_terminal_folds_the_sidebar_and_stacks_the_panes(ollama_server):
    from loco_tui.widgets.sidebar import ModelSidebar

    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await booted(app, pilot)
        await pilot.pause()
        sidebar = app.query_one(ModelSidebar)
        members = app.query_one("#members")
        assert not sidebar.display
        assert members.has_class("-stacked")
        panes = list(members.query(MemberPane))
        assert all(p.size.width >= 70 for p in panes)
        app.set_focus(None)
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert sidebar.display
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert not members.has_class("-stacked")


async def test_every_action_is_in_the_palette(ollama_server):
    from textual.command import CommandPalette

    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "dedupe")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in ("Send the prompt", "Cancel the run", "Rerun the last prompt",
                       "Choose the target", "Switch a role's model", "New session", "History",
                       "Parse trace", "Toggle the sidebar", "Toggle the trace",
                       "Zoom the focused pane", "Copy m1's answer", "Copy m2's last code block",
                       "Continue with pane 2 (m2)", "Theme", "Keys"):
            assert wanted in titles, wanted
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"rerun the last", "enter")
        await until(pilot, lambda: len(app.session.turns) == 2, timeout=10)
        assert app.session.turns[-1].prompt == "dedupe"


async def test_f1_shows_the_keys_that_apply_where_you_are(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert app.screen.query("HelpPanel")
        await pilot.press("f1")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")


async def test_a_chosen_theme_is_remembered(ollama_server):
    from loco_tui.preferences import Preferences

    server = ollama_server(trio_script())
    app = make_app(server.url, remember_preferences=True)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        assert "loco-dusk" in app.available_themes and "loco-paper" in app.available_themes
        app.theme = "loco-paper"
        await pilot.pause()
    assert Preferences.load(data_dir()).theme == "loco-paper"
    again = make_app(server.url, remember_preferences=True)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.theme == "loco-paper"
