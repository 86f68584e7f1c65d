"""Judge verdicts: JSON, fenced JSON, [[X]], Winner lines, rankings, phrases, fuzzy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loco_tui.parser import VerdictParse, parse_verdict

L = ["A", "B", "C"]

# (id, text, labels, label, mode, parsed_by, confidence check)
CASES = [
    ("strict-json",
     '{"winner": "B", "mode": "pick", "confidence": 0.8, "reason": "B handles errors"}',
     L, "B", "pick", "json", 0.8),
    ("reasoning-then-json-line",
     'A is short; B covers edge cases; C is wrong.\n\n{"winner": "B", "mode": "pick", '
     '"confidence": 0.9, "reason": "edge cases"}', L, "B", "pick", "json", 0.9),
    ("fenced-json",
     'Analysis of each.\n```json\n{"winner": "C", "mode": "pick", "reason": "fastest"}\n```',
     L, "C", "pick", "fenced_json", 0.9),
    ("last-brackets",
     "Early on [[A]] looked best, but after checking tests my final verdict is [[B]].",
     L, "B", "pick", "brackets", 0.85),
    ("winner-line", "Winner: B", L, "B", "pick", "winner_line", 0.85),
    ("winner-line-lowercase", "winner: b", L, "B", "pick", "winner_line", 0.85),
    ("winner-bold-response", "**Winner:** Response A\nIt is the most complete.",
     L, "A", "pick", "winner_line", 0.85),
    ("final-ranking-list", "FINAL RANKING:\n1. Response C\n2. Response A\n3. Response B",
     L, "C", "pick", "winner_line", 0.85),
    ("final-ranking-inline", "FINAL RANKING: B > A > C", L, "B", "pick", "winner_line", None),
    ("choose-proposal", "I choose Proposal B because it handles timeouts.",
     L, "B", "pick", "choose_phrase", 0.7),
    ("go-with-option", "After comparing all three, I'd go with option C.",
     L, "C", "pick", "choose_phrase", 0.7),
    ("best-response-is", "The best response is B.", L, "B", "pick", "choose_phrase", 0.7),
    ("clear-winner", "B is the clear winner here.", L, "B", "pick", "choose_phrase", 0.7),
    ("ranking", "Overall: B > A > C, mostly on correctness.", L, "B", "pick", "ranking", 0.7),
    # Small judges asked "which is best: A, B or C?" answer with the label alone.
    ("bare-label", "B", L, "B", "pick", "bare_label", 0.8),
    ("bare-label-bold-noun", "**Proposal C**.", L, "C", "pick", "bare_label", 0.8),
    ("leading-label-then-prose", "A:\n1. Use clear language\n2. Proofread", L, "A", "pick",
     "leading_label", 0.5),
    ("fuzzy", "Response A has a bug in the loop. Response B is correct and more complete.",
     L, "B", "pick", "fuzzy", 0.35),
    ("think-stripped", "<think>Winner: A maybe</think>Winner: B", L, "B", "pick",
     "winner_line", 0.85),
    ("json-proposal-label-percent",
     '{"winner": "Proposal B", "mode": "pick", "confidence": 85, "reason": "x"}',
     L, "B", "pick", "json", 0.85),
    ("json-unknown-label-falls-back", 'Winner: B\n{"winner": "D", "mode": "pick"}',
     L, "B", "pick", "winner_line", 0.85),
    ("truncated-json", '{"winner": "B", "mode": "pick", "reason": "handles edge ca',
     L, "B", "pick", "json", 0.8),
    ("python-dict-json", "{'winner': 'C', 'mode': 'pick', 'confidence': 0.6}",
     L, "C", "pick", "json", 0.6),
    ("numeric-labels", "Winner: Response 2", ["1", "2", "3"], "2", "pick", "winner_line", 0.85),
    ("candidate-label", "Final verdict: Candidate C", L, "C", "pick", "winner_line", 0.85),
    ("synthesize-json-key",
     '{"mode": "synthesize", "synthesis": "Merged: use X and Y.", "reason": "complementary"}',
     L, None, "synthesize", "json", 0.95),
    ("unknown-label-only", "Winner: D", L, None, "pick", "none", 0.0),
    ("unparseable", "Both are fine, honestly.", L, None, "pick", "none", 0.0),
    ("article-not-label", "I choose a different approach: neither.", ["A", "B"],
     None, "pick", "none", 0.0),
    ("tie-is-not-label", "Verdict: a tie, both miss the point.", L, None, "pick", "none", 0.0),
    ("empty", "", L, None, "pick", "none", 0.0),
]


@pytest.mark.parametrize(("text", "labels", "label", "mode", "by", "conf"),
                         [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_verdict(text: str, labels: list[str], label: str | None, mode: str, by: str,
                 conf: float | None) -> None:
    v = parse_verdict(text, labels)
    assert isinstance(v, VerdictParse)
    assert (v.label, v.mode, v.parsed_by) == (label, mode, by)
    assert 0.0 <= v.confidence <= 1.0
    if conf is not None:
        assert v.confidence == pytest.approx(conf)
    assert v.label is None or v.label in labels


def test_case_count() -> None:
    assert len(CASES) >= 20


def test_synthesis_then_final_json_line() -> None:
    text = ("## Synthesis\nUse a dict for lookups and validate input first, as A and C do.\n\n"
            '{"winner": null, "mode": "synthesize", "confidence": 0.7, "reason": "both partial"}')
    v = parse_verdict(text, L)
    assert (v.label, v.mode, v.parsed_by, v.confidence) == (None, "synthesize", "json", 0.7)
    assert v.synthesis == "Use a dict for lookups and validate input first, as A and C do."
    assert v.reason == "both partial"


def test_synthesis_heading_without_json() -> None:
    v = parse_verdict("Merged answer:\nDo X then Y, as in B, with the cache from A.\n", L)
    assert v.mode == "synthesize" and v.synthesis == "Do X then Y, as in B, with the cache from A."
    assert v.parsed_by == "fuzzy" and v.confidence < 0.5


def test_conflict_lowers_confidence() -> None:
    agree = parse_verdict('Winner: B\n{"winner": "B", "mode": "pick"}', L)
    conflict = parse_verdict('Winner: A\n\nOn reflection:\n{"winner": "B", "mode": "pick"}', L)
    assert agree.label == conflict.label == "B"
    assert conflict.confidence < agree.confidence
    assert "conflicting" in conflict.reason


def test_ranking_is_reported() -> None:
    assert parse_verdict("FINAL RANKING: B > A > C", L).ranking == ["B", "A", "C"]
    v = parse_verdict('{"winner": "A", "mode": "pick", "ranking": ["A", "C", "B"]}', L)
    assert v.ranking == ["A", "C", "B"]
    assert parse_verdict("FINAL RANKING:\n1. Response C\n2. Response A", L).ranking == ["C", "A"]


def test_rejected_label_is_named_in_reason() -> None:
    v = parse_verdict("Winner: D", L)
    assert v.label is None and "D" in v.reason


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400))
def test_never_raises(text: str) -> None:
    v = parse_verdict(text, L)
    assert v.label in (None, *L)
    assert 0.0 <= v.confidence <= 1.0
    assert v.mode in ("pick", "synthesize")
