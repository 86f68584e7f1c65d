"""Evals against scripted fake servers whose right answers are known: the figures equal
what is computed by hand from the script."""

from __future__ import annotations

import asyncio

import pytest

from loco_tui.eval import EvalRunner, Progress, summarise
from loco_tui.eval.runner import prompt_of
from loco_tui.eval.suite import load_suite_text
from loco_tui.events import FailureCategory
from loco_tui.testing.script import Fault, Reply
from tests.eval.support import (
    SUITE,
    always_a,
    by_strategy,
    judge_picking,
    member,
    outcomes,
    picks_a_right_one_except_on_two,
    registry_for,
    run_eval,
    script,
)


async def test_a_strategy_right_three_times_in_four_scores_75_percent(ollama_server):
    server = ollama_server(script(judge_picking(picks_a_right_one_except_on_two)))
    result, _ = await run_eval(registry_for(server.url), "single:coder")

    assert outcomes(result, "single:coder") == ["right", "right", "wrong", "right"]
    (summary,) = summarise(result).strategies
    assert (summary.accuracy.k, summary.accuracy.n) == (3, 4)
    assert summary.accuracy.value == 0.75
    low, high = summary.accuracy.interval or (0, 0)
    assert low == pytest.approx(0.3006, abs=1e-4) and high == pytest.approx(0.9544, abs=1e-4)
    assert summary.misses == {"wrong": 1}
    assert summary.ensemble is None
    assert not result.partial and result.done == result.planned == 4


async def test_oracle_and_judge_accuracy_equal_the_hand_computed_values(ollama_server):
    # Right members per question: one {alpha}, two {beta, gamma}, three {}, four {alpha,
    # beta}. The judge picks a right proposal, except on two where it picks Alpha's 41.
    # By hand: oracle 3/4 (not three); the judge picked a right member on one and four
    # of the three cases that had one: 2/3; the ensemble is right on one and four: 2/4.
    server = ollama_server(script(judge_picking(picks_a_right_one_except_on_two)))
    result, _ = await run_eval(registry_for(server.url), "ensemble:trio")

    assert outcomes(result, "ensemble:trio") == ["right", "wrong", "wrong", "right"]
    (summary,) = summarise(result).strategies
    e = summary.ensemble
    assert e is not None
    assert (e.oracle.k, e.oracle.n) == (3, 4)
    assert (e.judge_accuracy.k, e.judge_accuracy.n) == (2, 3)
    assert (summary.accuracy.k, summary.accuracy.n) == (2, 4)
    assert e.judge_fallbacks == 0
    # Pick mode: nothing was synthesised, the judge ran once (not debiased).
    assert e.synthesis_rescue.n == e.synthesis_kept.n == e.position_consistency.n == 0
    members = {m.member: (m.persona, m.model, m.accuracy.k, m.accuracy.n) for m in e.members}
    assert members == {"m1": ("optimist", "alpha", 2, 4), "m2": (None, "beta", 2, 4),
                       "m3": (None, "gamma", 1, 4)}
    # On one: "Alpha thinks it is 42." shares {thinks, it, is} of 7 tokens with Beta's and
    # with Gamma's "... 41."; Beta's and Gamma's share 4 of 6.
    first = result.of("ensemble:trio")[0]
    assert first.similarity == pytest.approx((3 / 7 + 3 / 7 + 4 / 6) / 3)


async def test_a_judge_that_always_picks_label_a_is_flagged_under_debias(ollama_server):
    server = ollama_server(script(judge_picking(always_a)))
    result, _ = await run_eval(registry_for(server.url), "ensemble:trio:pick+debias")

    (summary,) = summarise(result).strategies
    e = summary.ensemble
    assert e is not None
    assert (e.position_consistency.k, e.position_consistency.n) == (0, 4)
    assert e.position_inconsistent
    assert all(r.verdict is not None and r.verdict.position_consistent is False
               for r in result.results)


async def test_a_judge_that_follows_the_content_is_not_flagged(ollama_server):
    def first_saying_42(case: str, proposals: dict[str, str]) -> str:
        right = sorted(text for text in proposals.values() if "42" in text)
        wanted = right[0] if right else min(proposals.values())
        return next(label for label, text in proposals.items() if text == wanted)

    server = ollama_server(script(judge_picking(first_saying_42)))
    result, _ = await run_eval(registry_for(server.url), "ensemble:trio+debias")
    e = summarise(result).strategies[0].ensemble
    assert e is not None
    assert (e.position_consistency.k, e.position_consistency.n) == (4, 4)
    assert not e.position_inconsistent


async def test_synthesis_rescue_and_kept_from_a_scripted_synthesis(ollama_server):
    # The synthesis says 42 on every question but two: rescue on three (no member right)
    # is 1/1; kept on one, two, four (a member right) is 2/3.
    def synthesis(model, messages):
        from tests.eval.support import question

        number = 41 if question(messages) == "two" else 42
        return Reply.text(f"Combined, it is {number}.\n"
                          '{"winner": null, "mode": "synthesize", "confidence": 0.7, '
                          '"reason": "merged"}')

    server = ollama_server(script(synthesis))
    result, _ = await run_eval(registry_for(server.url), "ensemble:trio:synthesize")

    assert outcomes(result, "ensemble:trio:synthesize") == ["right", "wrong", "right",
                                                            "right"]
    e = summarise(result).strategies[0].ensemble
    assert e is not None
    assert (e.synthesis_rescue.k, e.synthesis_rescue.n) == (1, 1)
    assert (e.synthesis_kept.k, e.synthesis_kept.n) == (2, 3)
    assert e.judge_accuracy.n == 0


async def test_strategies_are_compared_on_the_same_cases(ollama_server):
    server = ollama_server(script(judge_picking(picks_a_right_one_except_on_two)))
    result, _ = await run_eval(registry_for(server.url),
                               "single:coder,ensemble:trio,workflow:two-step")
    summary = summarise(result)
    strategies = by_strategy(summary.strategies)
    assert strategies["workflow:two-step"].ensemble is None
    (single_vs_ensemble, single_vs_flow, ensemble_vs_flow) = summary.comparisons
    # single right on one, two, four; the ensemble on one, four: two is the only
    # discordant case, p = 1.
    assert (single_vs_ensemble.a, single_vs_ensemble.b) == ("single:coder", "ensemble:trio")
    assert (single_vs_ensemble.both, single_vs_ensemble.only_a, single_vs_ensemble.only_b,
            single_vs_ensemble.neither) == (2, 1, 0, 1)
    assert single_vs_ensemble.p_value == 1.0 and not single_vs_ensemble.significant
    assert single_vs_flow.pairs == 4
    assert ensemble_vs_flow.pairs == 4
    # The runs interleave: each case goes through every strategy before the next case.
    assert [r.case for r in result.results] == ["q1"] * 3 + ["q2"] * 3 + ["q3"] * 3 + ["q4"] * 3


async def test_a_run_that_fails_counts_as_not_right_with_its_category(ollama_server):
    failing = Reply.text("unused", fault=Fault.HTTP_500)
    server = ollama_server(script(judge_picking(always_a), solo=failing))
    result, _ = await run_eval(registry_for(server.url), "single:coder")
    (summary,) = summarise(result).strategies
    assert summary.accuracy.k == 0 and summary.accuracy.n == 4
    assert summary.misses == {str(FailureCategory.HTTP_ERROR): 4}
    assert summary.median_s is None  # no run gave an answer to time


async def test_a_stopped_eval_keeps_its_finished_cases(ollama_server, store):
    slow = member("solo", first_token_delay_s=5.0)

    def solo(model, messages):
        from tests.eval.support import question

        reply = member("solo")(model, messages)
        return slow(model, messages) if question(messages) == "two" else reply

    server = ollama_server(script(judge_picking(always_a), solo=solo))
    seen: list[Progress] = []

    def stop_during_the_second_case(runner: EvalRunner, progress: Progress) -> None:
        seen.append(progress)
        if progress.done == 1 and not progress.stopping:
            asyncio.get_running_loop().call_later(0.3, runner.stop)

    loop = asyncio.get_running_loop()
    began = loop.time()
    result, runner = await run_eval(registry_for(server.url), "single:coder", store=store,
                                    on_progress=stop_during_the_second_case)
    assert loop.time() - began < 4  # the slow case was cancelled, not waited for

    assert outcomes(result, "single:coder") == ["right", "cancelled"]
    assert result.stopped and result.partial
    assert (result.done, result.planned) == (1, 4)
    (summary,) = summarise(result).strategies
    assert (summary.accuracy.k, summary.accuracy.n, summary.cancelled) == (1, 1, 1)
    assert seen[-1].stopping
    # Both runs are in the history: the finished one ok, the stopped one cancelled.
    runs = await store.eval_runs(runner.eval_id)
    assert [(r.status, r.tag["result"]["outcome"]) for r in runs] == [
        ("ok", "right"), ("cancelled", "cancelled")]


async def test_progress_counts_cases_per_strategy_and_estimates_the_time_left(ollama_server):
    server = ollama_server(script(judge_picking(always_a)))
    seen: list[Progress] = []
    await run_eval(registry_for(server.url), "single:coder,ensemble:trio",
                   on_progress=lambda runner, progress: seen.append(progress))
    first, *_, last = seen
    assert first.last is None and first.done == 0 and first.total == 8
    assert first.eta_s is None  # nothing measured yet
    # After one case of each strategy every pace is known.
    assert seen[2].eta_s is not None and seen[2].eta_s > 0
    assert [(s.strategy, s.done, s.total) for s in last.strategies] == [
        ("single:coder", 4, 4), ("ensemble:trio", 4, 4)]
    assert last.strategies[0].right == 3 and last.eta_s == 0


async def test_repeats_run_each_case_again_and_count_every_run(ollama_server):
    server = ollama_server(script(judge_picking(always_a)))
    result, _ = await run_eval(registry_for(server.url), "single:coder", repeat=2)
    assert [(r.case, r.repeat) for r in result.results] == [
        ("q1", 0), ("q2", 0), ("q3", 0), ("q4", 0), ("q1", 1), ("q2", 1), ("q3", 1),
        ("q4", 1)]
    accuracy = summarise(result).strategies[0].accuracy
    assert (accuracy.k, accuracy.n) == (6, 8)


async def test_a_case_system_prompt_leads_what_every_strategy_is_sent(ollama_server):
    prompts: list[str] = []

    def recording(model, messages):
        prompts.append(str(messages[-1]["content"]))
        return member("solo")(model, messages)

    server = ollama_server(script(judge_picking(always_a), solo=recording))
    suite = SUITE.replace('name = "answers"', 'name = "answers"\nsystem = "Reply with 42."')
    await run_eval(registry_for(server.url), "single:coder", suite=suite)
    assert prompts[0] == "Reply with 42.\n\nQuestion one?"
    case = load_suite_text(suite).cases[0]
    assert prompt_of(case) == prompts[0]


async def test_a_strategy_the_registry_cannot_run_is_refused_before_anything_runs(
        ollama_server):
    server = ollama_server(script(judge_picking(always_a)))
    with pytest.raises(ValueError, match=r"unknown ensemble 'quartet' \(known: trio\)"):
        await run_eval(registry_for(server.url), "single:coder,ensemble:quartet")
    assert server.generations == []
