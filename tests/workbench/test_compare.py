"""Comparing models in the workbench: the model picker (two providers, a throwaway ensemble,
a saved one), blind comparisons that hide every model name on screen until the vote, votes
of every kind, queued members, and the leaderboard screen."""

from __future__ import annotations

import html
import re

from textual.widgets import SelectionList

from loco_tui.screens.leaderboard import LeaderboardScreen
from loco_tui.screens.model_picker import ModelPicker
from loco_tui.testing.script import Reply, Script
from loco_tui.widgets.member_pane import MemberPane
from tests.common import (
    ENSEMBLE,
    SIZE,
    ask,
    booted,
    make_app,
    settle,
    trio_script,
    type_prompt,
    until,
)

MODEL_NAMES = ("alpha", "beta", "gamma", "arbiter", "skeptic")


def screen_text(app) -> str:
    """What the screen shows, as text (the SVG's text, spaces restored)."""
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


async def test_a_blind_comparison_hides_every_model_name_until_the_vote(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url, ENSEMBLE + "blind = true\n")
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "dedupe a list")
        shown = screen_text(app)
        leaked = [name for name in MODEL_NAMES if name in shown]
        assert leaked == [], leaked
        assert "hidden until you vote" in shown
        assert not app.query_one("#judge").display  # the judge's pick is hidden too
        assert not any(p.has_class("-winner") for p in app.query(MemberPane))
        app.set_focus(None)
        await pilot.press("2")
        await until(pilot, lambda: app.current.revealed)
        await pilot.pause(0.1)
        shown = screen_text(app)
        assert "alpha" in shown and "beta" in shown and "gamma" in shown
        assert app.query_one("#judge").display
        assert "revealed: m1 = alpha · skeptic" in app.trace.text
        detail = await app.store.run(app.current.run_id)
        assert detail.human_verdict is not None and detail.human_verdict.winner == "m2"


async def test_f4_makes_the_next_run_blind(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        app.set_focus(None)
        await pilot.press("f4")
        await ask(app, pilot, "dedupe a list")
        assert app.current.blind and not app.current.revealed
        assert "alpha" not in screen_text(app)


async def test_votes_of_every_kind_are_stored(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "dedupe a list")
        run_id = app.current.run_id
        app.set_focus(None)
        for key, kind in (("equals_sign", "tie"), ("0", "all_bad"), ("3", "pick")):
            await pilot.press(key)
            await pilot.pause(0.3)
            detail = await app.store.run(run_id)
            assert detail.human_verdict is not None and detail.human_verdict.kind == kind
        assert "you voted a tie" in app.trace.text and "you voted all bad" in app.trace.text
        assert app.session.turns[-1].answer == "Gamma says a dict keeps order."


async def test_the_picker_lists_two_providers_and_compares_any_models(ollama_server,
                                                                        openai_server):
    local = ollama_server(trio_script())
    other = openai_server(Script().add("delta-8b", Reply.text("Delta answers."), "8B"))
    body = ENSEMBLE + f"""
[providers.lm]
kind = "openai"
base_url = "{other.base_url}"
"""
    app = make_app(local.url, body)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await until(pilot, lambda: len(app.controller.pool.health) == 2)
        app.set_focus(None)
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ModelPicker))
        picker = app.screen
        providers = {o.provider for o in picker.offers}
        assert providers == {"local", "lm"}
        options = picker.query_one(SelectionList)
        keys = [o.key for o in picker.offers]
        options.select(keys[keys.index("lm\x00delta-8b")])
        options.select(keys[keys.index("local\x00gamma:1b")])
        await pilot.press("enter")
        await until(pilot, lambda: app._target.kind == "picked")
        await ask(app, pilot, "dedupe a list")
        texts = sorted(p.text for p in app.query("#members MemberPane"))
        assert texts == ["Delta answers.", "Gamma says a dict keeps order."]
        assert "verdict" in app.trace.text  # the current judge judged


async def test_the_picker_saves_a_named_ensemble_that_becomes_a_target(ollama_server, tmp_path):
    from textual.widgets import Input

    from loco_tui.app import LocoApp
    from loco_tui.registry import LoadedRegistry, load_registry
    from tests.common import provider_toml, quiet_settings

    server = ollama_server(trio_script())
    path = tmp_path / "loco.toml"
    path.write_text(provider_toml(server.url) + ENSEMBLE)
    before = path.read_bytes()
    registry = load_registry(path)
    app = LocoApp(LoadedRegistry(registry, path, base=registry), settings=quiet_settings())
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await until(pilot, lambda: bool(app.controller.pool.health))
        app.set_focus(None)
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ModelPicker))
        picker = app.screen
        options = picker.query_one(SelectionList)
        for offer in picker.offers[:2]:
            options.select(offer.key)
        await pilot.press("s")
        await pilot.pause()
        name = picker.query_one("#save-name", Input)
        name.value = "pair"
        await pilot.press("enter")
        await until(pilot, lambda: "pair" in app.controller.registry.ensembles)
        assert app._target.label == "ensemble pair"
    assert path.read_bytes() == before  # the user's file is never rewritten
    assert (tmp_path / "loco.ensembles.local.toml").exists()


async def test_a_queued_member_says_so(ollama_server):
    from loco_tui.app import LocoApp
    from loco_tui.registry import LoadedRegistry, load_registry_text
    from tests.common import quiet_settings

    slow = Reply.text("Slow and steady words here.", piece_delay_s=0.1)
    server = ollama_server(trio_script(alpha=slow, beta=slow, gamma=slow))
    text = (f'[providers.local]\nkind = "ollama"\nhost = "{server.url}"\nmax_parallel = 1\n'
            + ENSEMBLE)
    app = LocoApp(LoadedRegistry(load_registry_text(text, "loco.toml"), None),
                  settings=quiet_settings())
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await type_prompt(pilot, "go")
        # Queried each time: the run's panes are mounted when its first events are drawn.
        def statuses() -> list[str]:
            return [p.status for p in app.query("#members MemberPane")]
        await until(pilot, lambda: any("queued" in s for s in statuses()), timeout=5)
        assert any("queued, 1 ahead" in s or "queued, next" in s or "queued, 2 ahead" in s
                   for s in statuses())
        await settle(app, pilot, timeout=20)
        assert "queued: " in app.trace.text


async def test_the_leaderboard_screen_shows_both_boards(ollama_server):
    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await ask(app, pilot, "dedupe a list")
        app.set_focus(None)
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, LeaderboardScreen))
        await pilot.pause(0.5)
        shown = screen_text(app)
        assert "Judge's verdicts" in shown and "Your votes" in shown
        assert "provisional" in shown  # one run is too few games: said, not hidden
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LeaderboardScreen)


async def test_the_picker_pulls_a_model_the_server_lacks(ollama_server):
    script = trio_script()
    script.pullable["delta:1b"] = Reply.text("Delta is here.")
    server = ollama_server(script)
    body = ENSEMBLE + '[models.delta]\nprovider = "local"\nmodel = "delta:1b"\n'
    app = make_app(server.url, body)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await until(pilot, lambda: bool(app.controller.pool.health))
        app.set_focus(None)
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ModelPicker))
        picker = app.screen
        missing = next(o for o in picker.offers if o.model == "delta:1b")
        assert not missing.installed
        options = picker.query_one(SelectionList)
        options.highlighted = picker.offers.index(missing)
        await pilot.press("p")
        await until(pilot, lambda: next(o for o in picker.offers
                                        if o.model == "delta:1b").installed, timeout=10)
        assert "delta:1b is on local now" in str(picker.query_one("#models-note").render())
        assert "delta:1b" in script.replies  # the server has it now


async def test_f7_opens_the_eval_results(ollama_server):
    from loco_tui.screens.eval import EvalScreen

    server = ollama_server(trio_script())
    app = make_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        app.set_focus(None)
        await pilot.press("f7")
        await until(pilot, lambda: isinstance(app.screen, EvalScreen))
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, EvalScreen)
