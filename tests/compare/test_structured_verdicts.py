"""The judge's answer is constrained to a schema of exactly the labels it was shown, and its
confidence is the probability its model put on the chosen label, over real HTTP to the fake
Ollama and OpenAI-compatible servers; a server that refuses the schema is asked again
without it, and says so."""

from __future__ import annotations

import json
import math

import pytest

from loco_tui.events import FailureCategory, MemberStarted, Route, RunFinished
from loco_tui.orchestrator import RunRequest
from loco_tui.orchestrator.verdict_format import (
    label_confidence,
    matches_schema,
    verdict_schema,
)
from loco_tui.providers.base import TokenLogprob
from loco_tui.testing.script import Fault, Reply
from tests.compare.support import TRIO, judge_passes, one_server, run, trio, verdict_of

PROSE = Reply.text("B is the clearest of the three, I think.")


def judged_by(bodies: list[dict], model: str = "arbiter") -> list[dict]:
    return [b for b in bodies if b.get("model") == model]


async def test_the_ollama_judge_is_asked_for_exactly_the_labels_it_was_shown(ollama_server):
    judge = Reply.text("prose nobody reads",
                       constrained=Reply.verdict("B", {"A": 0.1, "B": 0.7, "C": 0.2}))
    server = ollama_server(trio(judge))
    events = await run(one_server(server.url, TRIO), RunRequest("dedupe", ensemble="trio"))

    (shown,) = judge_passes(events)
    (request,) = judged_by(server.bodies("/api/chat"))
    schema = request["format"]
    assert schema["properties"]["winner"]["enum"] == list(shown.labels) == ["A", "B", "C"]
    assert schema["additionalProperties"] is False and "reason" in schema["required"]
    assert request["logprobs"] is True and request["top_logprobs"] >= 3
    # The members answer freely: only the judge is constrained.
    assert all("format" not in b for b in judged_by(server.bodies("/api/chat"), "alpha"))
    verdict = verdict_of(events)
    assert (verdict.label, verdict.winner) == ("B", shown.labels["B"])
    assert verdict.via == "schema" and verdict.parsed_by == "json"
    assert verdict.confidence == pytest.approx(0.7) and verdict.confidence_source == "logprob"
    assert verdict.judge_model == "arbiter"
    # The constrained brief shows no example verdict to copy.
    prompt = " ".join(m["content"] for m in request["messages"])
    assert '"winner": "A"' not in prompt and "for example" not in prompt


async def test_a_member_that_failed_is_not_a_label_the_judge_may_name(ollama_server):
    judge = Reply.text("x", constrained=Reply.verdict("A", {"A": 0.55, "B": 0.45}))
    server = ollama_server(trio(judge, beta=Reply(fault=Fault.HTTP_500)))
    events = await run(one_server(server.url, TRIO), RunRequest("dedupe", ensemble="trio"))
    (shown,) = judge_passes(events)
    (request,) = judged_by(server.bodies("/api/chat"))
    assert request["format"]["properties"]["winner"]["enum"] == ["A", "B"]
    assert sorted(shown.labels.values()) == ["m1", "m3"]
    assert verdict_of(events).confidence == pytest.approx(0.55)


async def test_the_openai_judge_gets_a_json_schema_response_format(openai_server):
    judge = Reply.text("prose", constrained=Reply.verdict("C", {"A": 0.05, "B": 0.15,
                                                                "C": 0.6, "Sure": 0.2}))
    server = openai_server(trio(judge))
    events = await run(one_server(server.base_url, TRIO, kind="openai"),
                       RunRequest("dedupe", ensemble="trio"))
    (shown,) = judge_passes(events)
    (request,) = judged_by(server.chat_bodies)
    response_format = request["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema["properties"]["winner"]["enum"] == list(shown.labels) == ["A", "B", "C"]
    assert request["logprobs"] is True and request["top_logprobs"] >= 3
    verdict = verdict_of(events)
    assert verdict.winner == shown.labels["C"] and verdict.via == "schema"
    # "Sure" names no label: the confidence is C's share of what named a label.
    assert verdict.confidence == pytest.approx(0.6 / 0.8)
    assert verdict.confidence_source == "logprob"


async def test_without_token_probabilities_the_confidence_is_the_stated_one(ollama_server):
    judge = Reply.text("x", constrained=Reply.verdict("A", confidence=0.35))
    server = ollama_server(trio(judge))
    events = await run(one_server(server.url, TRIO), RunRequest("dedupe", ensemble="trio"))
    verdict = verdict_of(events)
    assert verdict.via == "schema" and verdict.confidence_source == "stated"
    assert verdict.confidence == pytest.approx(0.35)


@pytest.mark.parametrize("kind", ["ollama", "openai"])
async def test_a_server_that_refuses_the_schema_is_asked_again_without_it(
        kind, ollama_server, openai_server):
    judge = Reply.text('B wins. {"winner": "B", "mode": "pick", "confidence": 0.8, '
                       '"reason": "clear"}')
    if kind == "ollama":
        server = ollama_server(trio(judge), schema_support=False)
        registry = one_server(server.url, TRIO)
    else:
        server = openai_server(trio(judge), schema_support=False)
        registry = one_server(server.base_url, TRIO, kind="openai")
    events = await run(registry, RunRequest("dedupe", ensemble="trio"))

    bodies = judged_by(server.bodies("/api/chat") if kind == "ollama" else server.chat_bodies)
    assert len(bodies) == 2
    asked = "format" if kind == "ollama" else "response_format"
    assert asked in bodies[0] and asked not in bodies[1]
    (retry,) = [e for e in events if isinstance(e, Route) and e.member == "judge"]
    assert retry.reason.startswith("retry without the JSON schema")
    assert retry.category == FailureCategory.HTTP_ERROR and retry.model == "arbiter"
    assert [e.attempt for e in events if isinstance(e, MemberStarted) and e.member == "judge"] \
        == [1, 2]
    # Asked plainly, the judge is shown the example line again.
    assert "for example" in bodies[1]["messages"][-1]["content"]
    verdict = verdict_of(events)
    assert verdict.via == "text" and verdict.label == "B"
    assert verdict.confidence == pytest.approx(0.8) and verdict.confidence_source == "stated"
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.status == "ok"


async def test_a_server_that_ignores_the_schema_is_read_as_text(ollama_server):
    # An Ollama that accepts `format` but writes prose anyway: the verdict says "text".
    server = ollama_server(trio(Reply.text("Winner: C")))
    events = await run(one_server(server.url, TRIO), RunRequest("dedupe", ensemble="trio"))
    verdict = verdict_of(events)
    assert verdict.via == "text" and verdict.label == "C" and verdict.confidence is None


async def test_pick_or_synthesize_admits_null_and_carries_the_synthesis(ollama_server):
    body = TRIO + "[ensembles.merge]\nmembers = [{ model = \"alpha\" }, { model = \"beta\" }]\n"
    synthesis = json.dumps({"reason": "both have half of it", "winner": None,
                            "mode": "synthesize", "synthesis": "Use a dict keyed by id.",
                            "confidence": 0.6})
    judge = Reply.text("x", constrained=Reply.text(synthesis))
    server = ollama_server(trio(judge))
    events = await run(one_server(server.url, body), RunRequest("dedupe", ensemble="merge"))
    (request,) = judged_by(server.bodies("/api/chat"))
    assert request["format"]["properties"]["winner"]["enum"] == ["A", "B", None]
    verdict = verdict_of(events)
    assert verdict.mode == "synthesize" and verdict.winner is None and verdict.via == "schema"
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert (finished.answer, finished.answer_from) == ("Use a dict keyed by id.", "judge")


async def test_a_synthesis_is_never_constrained(ollama_server):
    body = TRIO + ('[ensembles.merge]\nmembers = [{ model = "alpha" }, { model = "beta" }]\n'
                   'verdict = "synthesize"\n')
    judge = Reply.text('Use a dict.\n{"winner": null, "mode": "synthesize", '
                       '"confidence": 0.6, "reason": "both"}')
    server = ollama_server(trio(judge))
    events = await run(one_server(server.url, body), RunRequest("dedupe", ensemble="merge"))
    (request,) = judged_by(server.bodies("/api/chat"))
    assert "format" not in request and "logprobs" not in request
    assert verdict_of(events).via == "text"


# -- the pieces, on their own ----------------------------------------------------------------
def test_the_schema_admits_exactly_the_labels():
    schema = verdict_schema(["A", "B"], "pick")
    assert schema is not None
    assert matches_schema('{"reason": "it is right", "winner": "B", "confidence": 0.9}', schema)
    assert not matches_schema('{"reason": "it is right", "winner": "C", "confidence": 0.9}',
                              schema)
    assert not matches_schema('{"reason": "x", "winner": "A"}', schema)  # a key is missing
    assert not matches_schema('Winner: A', schema)
    assert verdict_schema(["A", "B"], "synthesize") is None


def lp(token: str, p: float, **top: float) -> TokenLogprob:
    return TokenLogprob(token, math.log(p), tuple((t, math.log(q)) for t, q in top.items()))


def test_the_label_confidence_is_renormalised_over_the_shown_labels():
    tokens = [lp('{"reason": "fine", "winner": ', 0.99), lp('"B', 0.3, **{'"A': 0.2, '"B': 0.3,
                                                                       '"C': 0.1, '"So': 0.4}),
              lp('", "confidence": 0.9}', 0.99)]
    # The label shares its token with the opening quote; '"So' names no label.
    assert label_confidence(tokens, ["A", "B", "C"], "B") == pytest.approx(0.3 / 0.6)
    # Without alternatives: the token's own probability.
    bare = [lp('{"winner": "', 0.9), lp("A", 0.42), lp('"}', 0.9)]
    assert label_confidence(bare, ["A", "B"], "A") == pytest.approx(0.42)
    # A label the reply does not name at the winner key: unknown.
    assert label_confidence(bare, ["A", "B"], "B") is None
    assert label_confidence([lp("Winner: A", 0.9)], ["A", "B"], "A") is None
