"""`stats()` on a seeded history of real runs equals the figures worked out by hand."""

from __future__ import annotations

import statistics
import time

import pytest

from loco_tui.events import MemberFinished, Verdict
from loco_tui.orchestrator import RunRequest
from loco_tui.store import ModelStats, Tally
from loco_tui.store.stats import percentile
from loco_tui.testing.script import Fault, Reply
from tests.common import registry_for
from tests.store.common import REGISTRY, Recorded, pick, record, script

MEMBER_MODEL = {"m1": "alpha", "m2": "beta", "m3": "gamma"}
SYNTHESIS = ("Use a dict: it drops duplicates and keeps the order.\n"
             '{"winner": null, "mode": "synthesize", "confidence": 0.7, "reason": "both halves"}')


def winner(recorded: Recorded) -> str:
    verdict = next(e for e in recorded.events if isinstance(e, Verdict))
    assert verdict.winner is not None and verdict.label is not None
    return verdict.winner


def durations(runs: list[Recorded], model: str, member_prefix: str = "m") -> list[float]:
    return [e.stats.duration_s for r in runs for e in r.events
            if isinstance(e, MemberFinished) and e.model == model
            and e.member.startswith(member_prefix)]


def test_percentile_interpolates_between_ranks():
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    # Ranks 0..3: position 2.7 lies 70% of the way from 3.0 to 10.0.
    assert percentile([10.0, 1.0, 3.0, 2.0], 0.9) == pytest.approx(3.0 + 0.7 * 7.0)
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0


async def test_stats_on_a_seeded_history_equal_hand_computed_figures(ollama_server, store):
    server = ollama_server(script())
    registry = registry_for(server.url, REGISTRY)

    async def run(request: RunRequest, **replies: Reply) -> Recorded:
        server.script = script(**replies)
        return await record(store, registry, request)

    # 1: all three propose, the judge picks B.  2: beta drops, the judge picks between two.
    # 3: a synthesis of alpha and beta.  4: the coder role falls back from alpha to beta.
    # 5: the judge fails: its fallback choice judged nothing.
    r1 = await run(RunRequest("one", ensemble="trio"))
    r2 = await run(RunRequest("two", ensemble="trio"),
                   beta=Reply(pieces=("a", " b", " c"), fault=Fault.DROP, fault_after=1),
                   arbiter=Reply.text(pick("A")))
    r3 = await run(RunRequest("three", ensemble="merge"), arbiter=Reply.text(SYNTHESIS))
    r4 = await run(RunRequest("four", role="coder"), alpha=Reply(fault=Fault.MODEL_MISSING))
    r5 = await run(RunRequest("five", ensemble="trio"), arbiter=Reply(fault=Fault.HTTP_500))
    w1, w2 = winner(r1), winner(r2)
    human = next(m for m in ("m1", "m2", "m3") if m != w1)
    await store.record_human_verdict(r1.run_id, human)

    def judge_tally(model: str) -> Tally:
        wins = [w1, w2].count(next(m for m, x in MEMBER_MODEL.items() if x == model))
        losses = sum(1 for m in ("m1", "m2", "m3") if MEMBER_MODEL[m] == model and m != w1)
        losses += sum(1 for m in ("m1", "m3") if MEMBER_MODEL[m] == model and m != w2)
        ties = 1 if model in ("alpha", "beta") else 0
        return Tally(wins, losses, ties)

    def human_tally(model: str) -> Tally:
        mine = next(m for m, x in MEMBER_MODEL.items() if x == model)
        return Tally(1, 0, 0) if mine == human else Tally(0, 1, 0)

    proposers = [r1, r2, r3, r5]
    expected = {
        ("alpha", None): (4, 4, 0, {}),
        ("beta", None): (4, 3, 1, {"dropped": 1}),
        ("gamma", None): (3, 3, 0, {}),
        ("arbiter", "judge"): (4, 3, 1, {"http_error": 1}),
        ("alpha", "coder"): (1, 0, 1, {"model_missing": 1}),
        ("beta", "coder"): (1, 1, 0, {}),
    }
    figures = {(s.model, s.role): s for s in await store.stats()}
    assert set(figures) == set(expected)
    for key, (calls, ok, failed, failures) in expected.items():
        s = figures[key]
        assert (s.calls, s.ok, s.failed, s.failures) == (calls, ok, failed, failures), key
        assert s.success_rate == ok / (ok + failed), key

    for model in ("alpha", "beta", "gamma"):
        s = figures[(model, None)]
        assert (s.judge, s.human) == (judge_tally(model), human_tally(model)), model
        d = sorted(durations(proposers, model))
        assert s.median_s == pytest.approx(statistics.median(d))
        # p90 by linear interpolation between the closest ranks, worked out here.
        pos = (len(d) - 1) * 0.9
        lo = int(pos)
        hi = min(lo + 1, len(d) - 1)
        assert s.p90_s == pytest.approx(d[lo] + (d[hi] - d[lo]) * (pos - lo))
        ttfts = [e.stats.ttft_s for r in proposers for e in r.events
                 if isinstance(e, MemberFinished) and e.model == model and e.member != "judge"]
        assert s.median_ttft_s == pytest.approx(statistics.median(ttfts))
    # The judge's own calls never win or lose.
    assert figures[("arbiter", "judge")].judge == Tally()
    # A model that never succeeded has no latency figures: unknown, not zero.
    coder_alpha = figures[("alpha", "coder")]
    assert (coder_alpha.success_rate, coder_alpha.median_s, coder_alpha.p90_s,
            coder_alpha.median_ttft_s, coder_alpha.median_tokens_per_s) == (0.0, None, None,
                                                                            None, None)
    assert figures[("beta", "coder")].median_s == pytest.approx(
        durations([r4], "beta", member_prefix="coder")[0])

    # Filters: by role, and by start time.
    assert {(s.model, s.role) for s in await store.stats(role="coder")} == {
        ("alpha", "coder"), ("beta", "coder")}
    assert await store.stats(since=time.time() + 3600) == []
    assert len(await store.stats(since=time.time() - 3600)) == len(expected)


async def test_the_last_of_several_human_verdicts_counts(ollama_server, store):
    server = ollama_server(script())
    recorded = await record(store, registry_for(server.url, REGISTRY),
                            RunRequest("one", ensemble="trio"))
    await store.record_human_verdict(recorded.run_id, "m1")
    await store.record_human_verdict(recorded.run_id, "m3")
    figures: dict[str, ModelStats] = {s.model: s for s in await store.stats()}
    assert figures["gamma"].human == Tally(1, 0, 0)
    assert figures["alpha"].human == Tally(0, 1, 0)
    assert figures["beta"].human == Tally(0, 1, 0)
