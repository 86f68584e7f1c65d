"""The Markdown report, compared with a reviewed file (set LOCO_UPDATE_SNAPSHOTS=1 to write
it again after a deliberate change), and the JSON for scripts."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from loco_tui.eval import (
    CaseResult,
    EvalResult,
    MemberGrade,
    VerdictNote,
    json_text,
    markdown_report,
    summarise,
)
from loco_tui.eval.report import bar, cell, share_bar

EXPECTED = Path(__file__).with_name("expected_report.md")
STARTED = 1_795_000_000.0


def members(*rights: bool | None) -> tuple[MemberGrade, ...]:
    personas = ("optimist", "skeptic", "synthesizer")
    return tuple(MemberGrade(f"m{i}", personas[i - 1], "smol", right)
                 for i, right in enumerate(rights, start=1))


def pick(winner: str, consistent: bool | None = None, judged: bool = True) -> VerdictNote:
    return VerdictNote("pick", winner, judged, position_consistent=consistent)


SYNTHESIS = VerdictNote("synthesize", None, True)


def a_result() -> EvalResult:
    single = "single:coder"
    picked = "ensemble:default:pick+debias"
    merged = "ensemble:default:synthesize"
    rows = [
        # case, single, picked (outcome, members, verdict), merged (outcome, members)
        ("apples", "right", ("right", members(True, False, True), pick("m1", False)),
         ("right", members(True, True, False))),
        ("pencils", "wrong", ("wrong", members(False, True, False), pick("m1", False)),
         ("right", members(False, False, False))),
        ("dog|legs", "right", ("right", members(True, True, True), pick("m2", True)),
         ("cut", members(True, None, True))),
        ("pages", "missing", ("wrong", members(False, False, False), pick("m3", judged=False)),
         ("wrong", members(False, False, False))),
        ("cookies", "timeout_first_token", ("right", members(False, True, None),
                                            pick("m2", False)), ("cancelled", ())),
    ]
    results: list[CaseResult] = []
    for n, (case, solo, (p_out, p_members, p_verdict), (m_out, m_members)) in enumerate(rows):
        results.append(CaseResult(single, case, 0, f"run-{n}-s", solo, "",
                                  None if solo.startswith("timeout") else 1.0 + n / 10,
                                  60 + n, 20 + n))
        results.append(CaseResult(picked, case, 0, f"run-{n}-p", p_out, "", 12.0 + n,
                                  800 + 10 * n, 150 + n, p_members, p_verdict, 0.3 + n / 20))
        if m_out == "cancelled":
            results.append(CaseResult(merged, case, 0, f"run-{n}-m", m_out))
            continue
        results.append(CaseResult(merged, case, 0, f"run-{n}-m", m_out, "", 15.0 + n,
                                  850 + 10 * n, 170 + n, m_members, SYNTHESIS, 0.5))
    return EvalResult(
        eval_id="eval-20261118-082640-abc123", suite="arithmetic",
        strategies=(single, picked, merged),
        cases=("apples", "pencils", "dog|legs", "pages", "cookies", "eggs"), n_cases=6,
        repeat=1, started_at=STARTED, finished_at=STARTED + 245.0, results=tuple(results),
        suite_path="config/eval/arithmetic.toml", stopped=True,
        notes={"Registry": "<built-in default>", "Seed": "0"})


def test_the_markdown_report_matches_the_reviewed_file():
    report = markdown_report(summarise(a_result()))
    if os.environ.get("LOCO_UPDATE_SNAPSHOTS"):
        EXPECTED.write_text(report, encoding="utf-8")
    assert report == EXPECTED.read_text(encoding="utf-8")


def test_the_report_says_what_matters():
    report = markdown_report(summarise(a_result()))
    assert "> **Partial**: the eval stopped after 14 of 18 runs." in report
    assert "| single:coder | 2/5 | 40% | 12–77% |" in report
    assert "⚠ follows position" in report  # 1 consistent verdict of 4
    assert "| dog\\|legs |" in report      # a pipe in a case id does not split the row
    assert "timeout_first_token 1" in report


def test_the_json_has_every_figure_and_case():
    data = json.loads(json_text(summarise(a_result())))
    assert data["eval_id"] == "eval-20261118-082640-abc123"
    assert (data["planned"], data["done"], data["partial"]) == (18, 14, True)
    single, picked, merged = data["summary"]
    assert single["accuracy"] == {"k": 2, "n": 5, "value": 0.4,
                                  "low": single["accuracy"]["low"],
                                  "high": single["accuracy"]["high"]}
    assert picked["ensemble"]["oracle"]["k"] == 4
    assert picked["ensemble"]["judge_accuracy"] == {**picked["ensemble"]["judge_accuracy"],
                                                    "k": 3, "n": 4}
    assert picked["ensemble"]["judge_fallbacks"] == 1
    assert picked["ensemble"]["verdicts"] == {"pick": 4, "fallback": 1}
    assert picked["ensemble"]["position_inconsistent"] is True
    assert merged["ensemble"]["synthesis_rescue"]["k"] == 1
    assert merged["cancelled"] == 1
    assert len(data["results"]) == 15
    assert {c["a"] for c in data["comparisons"]} == {"single:coder",
                                                     "ensemble:default:pick+debias"}


def test_the_json_escapes_what_a_terminal_would_act_on():
    hostile = CaseResult("single:coder", "x", 0, "r", "wrong",
                         "got '\x9b2J\u202eevil\ud800', expected '7'")
    text = json_text(summarise(replace(a_result(), results=(hostile,))))
    assert not any(ch in text for ch in "\x9b\u202e\ud800")
    assert json.loads(text)["results"][0]["detail"] == hostile.detail
    text.encode("utf-8")  # writable: no lone surrogate left


def test_text_bars_and_cells():
    assert share_bar(0.5, 10) == "█████░░░░░"
    assert share_bar(None, 4) == "····"
    assert bar(0.275, 20) == "█████▌".ljust(20)
    assert bar(1.0, 4) == "████" and bar(0.0, 4) == "    "
    assert cell("a|b\nc") == "a\\|b c"
