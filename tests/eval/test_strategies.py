"""Strategy specs: read, written back the one canonical way, checked against a registry,
and turned into run requests."""

from __future__ import annotations

import pytest

from loco_tui.eval import Strategy, default_strategies, parse_strategies, parse_strategy
from loco_tui.eval.strategies import problem_with, request_for, verdict_mode
from loco_tui.registry import default_registry
from tests.eval.support import registry_for


@pytest.mark.parametrize(("spec", "strategy"), [
    ("single:coder", Strategy("single", "coder")),
    ("auto", Strategy("auto")),
    ("ensemble:default", Strategy("ensemble", "default")),
    ("ensemble:default:pick", Strategy("ensemble", "default", "pick")),
    ("ensemble:default:synthesize", Strategy("ensemble", "default", "synthesize")),
    (" ensemble:default+debias ", Strategy("ensemble", "default", None, True)),
    ("ensemble:default:pick_or_synthesize+debias",
     Strategy("ensemble", "default", "pick_or_synthesize", True)),
    ("workflow:feature", Strategy("workflow", "feature")),
])
def test_specs_read_and_write_back(spec, strategy):
    assert parse_strategy(spec) == strategy
    assert parse_strategy(strategy.label) == strategy
    assert strategy.label == spec.strip()


@pytest.mark.parametrize(("spec", "message"), [
    ("ensemble", "cannot read the strategy"),
    ("single:", "cannot read the strategy"),
    ("role:coder", "cannot read the strategy"),
    ("single:coder:pick", "expected single:NAME"),
    ("single:coder+debias", "only an ensemble's judge can be debiased"),
    ("ensemble:default:vote", "unknown verdict mode 'vote'"),
    ("ensemble:a:pick:more", "cannot read the strategy"),
])
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_strategy(spec)


def test_a_list_keeps_its_order_once_each():
    assert [s.label for s in parse_strategies("single:coder, ensemble:default,single:coder")
            ] == ["single:coder", "ensemble:default"]
    with pytest.raises(ValueError, match="no strategy"):
        parse_strategies(" , ")


def test_strategies_are_checked_against_the_registry():
    registry = default_registry()
    assert problem_with(parse_strategy("single:coder"), registry) is None
    assert problem_with(parse_strategy("workflow:feature"), registry) is None
    assert problem_with(parse_strategy("single:poet"), registry) == (
        "single:poet: unknown role 'poet' (known: coder, judge, orchestrator, planner, "
        "reviewer, writer)")
    assert "unknown workflow 'release'" in (
        problem_with(parse_strategy("workflow:release"), registry) or "")
    # The built-in ensemble picks; the default pairs one model with it.
    assert verdict_mode(parse_strategy("ensemble:default"), registry) == "pick"
    assert verdict_mode(parse_strategy("ensemble:default:synthesize"), registry) == "synthesize"
    assert [s.label for s in default_strategies(registry)] == ["single:coder",
                                                              "ensemble:default"]


def test_an_override_runs_the_registry_ensemble_as_a_copy_under_its_name():
    registry = registry_for("http://127.0.0.1:9")
    plain = request_for(parse_strategy("ensemble:trio"), registry, "q", session="e1")
    assert (plain.ensemble, plain.ensemble_config, plain.session) == ("trio", None, "e1")
    changed = request_for(parse_strategy("ensemble:trio:synthesize+debias"), registry, "q")
    assert changed.ensemble == changed.target == "trio"
    assert changed.ensemble_config is not None
    assert (changed.ensemble_config.verdict, changed.ensemble_config.debias) == (
        "synthesize", True)
    assert changed.ensemble_config.members == registry.ensembles["trio"].members
    assert registry.ensembles["trio"].verdict == "pick"  # the registry is untouched
    single = request_for(parse_strategy("single:coder"), registry, "q")
    assert (single.role, single.mode, single.thread) == ("coder", "role", ())
    assert request_for(parse_strategy("auto"), registry, "q").role is None
    assert request_for(parse_strategy("workflow:two-step"), registry, "q").workflow == "two-step"
