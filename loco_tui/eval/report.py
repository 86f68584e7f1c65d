"""The Markdown report of an eval (tables, small bar charts drawn in text) and its JSON.

Everything in a report comes from the summary; nothing quotes a model's answer (a grade's
detail does, so details stay in the JSON and the stored tags). Names from the suite and
registry files are escaped for Markdown tables; a terminal printing the report still runs
it through ``neutralise``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from loco_tui.eval.metrics import EvalSummary, Rate, StrategySummary
from loco_tui.eval.results import CANCELLED, RIGHT, EvalResult

BAR_WIDTH = 20
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_EIGHTHS = " ▏▎▍▌▋▊▉"

GLOSSARY = """\
- **Accuracy**: share of finished cases answered right; a run that failed counts as not \
right. The 95% interval is Wilson's: with few cases it is wide, and that is the point.
- **Verdicts**: what the judge did: picked, synthesised, or nothing readable (a fallback: \
the first finished proposal became the answer); a lone survivor had nothing to be judged.
- **Oracle**: at least one member's own proposal was right: the best a perfect judge could do.
- **Judge accuracy**: when a member was right and the judge picked, how often it picked a \
right one (a fallback after an unreadable verdict counts; a lone survivor does not).
- **Synthesis kept / rescue**: a synthesis was right when a member was / when none was.
- **Position consistency** (`+debias`): the judge picked the same member with the \
proposals in reverse order; below 50% it follows the order, not the content.
- **Similarity**: mean pairwise token Jaccard of the proposals; **worth** is how many \
independent members they amount to, n / (1 + (n − 1)·similarity).
- **Paired comparison**: McNemar's exact test on the cases one strategy got right and the \
other did not; p < 0.05 is called more than noise.
"""


# -- small pieces --------------------------------------------------------------------------
def cell(text: str) -> str:
    """Text safe in a Markdown table cell (a pipe or a newline would break the row)."""
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")


def code(text: str) -> str:
    text = " ".join(text.split())
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}" if fence == "`" else f"{fence} {text} {fence}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def rate_text(r: Rate) -> str:
    """``67% (4/6)``, or ``—`` when nothing was counted."""
    return "—" if not r.n else f"{percent(r.value)} ({r.k}/{r.n})"


def interval_text(r: Rate) -> str:
    interval = r.interval
    if interval is None:
        return "—"
    return f"{interval[0] * 100:.0f}–{interval[1] * 100:.0f}%"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def tokens_text(tokens_in: float | None, tokens_out: float | None) -> str:
    def one(v: float | None) -> str:
        return "—" if v is None else f"{v:,.0f}"

    return f"{one(tokens_in)} / {one(tokens_out)}"


def misses_text(s: StrategySummary) -> str:
    parts = [f"{kind} {n}" for kind, n in s.misses.items()]
    if s.cancelled:
        parts.append(f"cancelled {s.cancelled}")
    return ", ".join(parts) or "none"


_VERDICT_WORDS = {"pick": ("pick", "picks"), "synthesis": ("synthesis", "syntheses"),
                  "fallback": ("fallback", "fallbacks"),
                  "lone": ("lone survivor", "lone survivors")}


def verdicts_text(kinds: dict[str, int]) -> str:
    """``2 syntheses, 6 fallbacks``: what an ensemble's verdicts were."""
    parts = [f"{n} {_VERDICT_WORDS[k][n != 1]}" for k, n in kinds.items() if k in _VERDICT_WORDS]
    return ", ".join(parts) or "—"


def bar(fraction: float | None, width: int = BAR_WIDTH) -> str:
    """A bar of ``width`` cells, in eighths of a cell: ``█████▌`` for 0.275 of 20."""
    if fraction is None:
        return " " * width
    eighths = round(min(max(fraction, 0.0), 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text.ljust(width)


def share_bar(fraction: float | None, width: int = BAR_WIDTH) -> str:
    """A share out of the whole: ``█`` for the part, ``░`` for the rest."""
    if fraction is None:
        return "·" * width
    filled = round(min(max(fraction, 0.0), 1.0) * width)
    return "█" * filled + "░" * (width - filled)


def when(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(total_s: float) -> str:
    minutes, secs = divmod(round(total_s), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


# -- sections ------------------------------------------------------------------------------
def _header(result: EvalResult) -> list[str]:
    lines = [f"# Eval: {cell(result.suite)}", ""]
    took = (f" · took {duration(result.finished_at - result.started_at)}"
            if result.finished_at is not None else "")
    lines.append(f"- Eval {code(result.eval_id)} · started {when(result.started_at)}{took}")
    where = f"{code(result.suite_path)} " if result.suite_path else ""
    repeat = f" · each {result.repeat} times" if result.repeat > 1 else ""
    lines.append(f"- Suite {where}({result.n_cases} cases){repeat} · "
                 f"{result.done} of {result.planned} runs finished")
    for key, value in result.notes.items():
        lines.append(f"- {cell(key)}: {cell(value)}")
    if result.partial:
        lines += ["", f"> **Partial**: the eval stopped after {result.done} of "
                  f"{result.planned} runs. Every figure covers the finished cases only."]
    return [*lines, ""]


def _accuracy(summary: EvalSummary) -> list[str]:
    lines = ["## Accuracy", "",
             "| Strategy | Right | Accuracy | 95% interval | Median s | p90 s "
             "| Tokens in / out per case | Not right |",
             "|---|---:|---:|---|---:|---:|---:|---|"]
    for s in summary.strategies:
        a = s.accuracy
        lines.append(
            f"| {cell(s.strategy)} | {a.k}/{a.n} | {percent(a.value)} | {interval_text(a)} "
            f"| {seconds(s.median_s)} | {seconds(s.p90_s)} "
            f"| {tokens_text(s.tokens_in, s.tokens_out)} | {cell(misses_text(s))} |")
    width = max((len(s.strategy) for s in summary.strategies), default=8) + 2
    chart = ["```text", "Accuracy (█ right, ░ not right)"]
    for s in summary.strategies:
        a = s.accuracy
        chart.append(f"{s.strategy.ljust(width)}{share_bar(a.value)}  "
                     f"{percent(a.value):>4}  [{interval_text(a)}]")
    slowest = max((s.median_s or 0.0 for s in summary.strategies), default=0.0)
    chart += ["", "Median seconds per case"]
    for s in summary.strategies:
        fraction = None if s.median_s is None or not slowest else s.median_s / slowest
        chart.append(f"{s.strategy.ljust(width)}{bar(fraction)}  {seconds(s.median_s):>5}")
    return [*lines, "", *chart, "```", ""]


def _ensembles(summary: EvalSummary) -> list[str]:
    rows = [s for s in summary.strategies if s.ensemble is not None]
    if not rows:
        return []
    lines = ["## Ensembles", "",
             "| Strategy | Verdicts | Oracle | Judge accuracy | Synthesis kept "
             "| Synthesis rescue | Position consistency | Similarity | Worth (members) |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|"]
    for s in rows:
        e = s.ensemble
        assert e is not None
        consistency = rate_text(e.position_consistency)
        if e.position_inconsistent:
            consistency += " ⚠ follows position"
        worth = "—" if e.effective_members is None else f"{e.effective_members:.1f}"
        similarity = "—" if e.similarity is None else f"{e.similarity:.2f}"
        lines.append(
            f"| {cell(s.strategy)} | {verdicts_text(e.verdicts)} | {rate_text(e.oracle)} "
            f"| {rate_text(e.judge_accuracy)} | {rate_text(e.synthesis_kept)} "
            f"| {rate_text(e.synthesis_rescue)} | {consistency} | {similarity} | {worth} |")
    lines.append("")
    for s in rows:
        e = s.ensemble
        assert e is not None
        if not e.members:
            continue
        members = " · ".join(f"{cell(m.name)} {rate_text(m.accuracy)}" for m in e.members)
        lines.append(f"- Members of {cell(s.strategy)} on their own: {members}; the "
                     f"ensemble: {rate_text(s.accuracy)}.")
    return [*lines, ""]


def _comparisons(summary: EvalSummary) -> list[str]:
    if not summary.comparisons:
        return []
    lines = ["## Paired comparisons", "",
             "McNemar's exact test over the cases both strategies finished.", "",
             "| A | B | Pairs | Both right | Only A | Only B | Neither | p | Conclusion |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for c in summary.comparisons:
        p = "—" if c.only_a + c.only_b == 0 else f"{c.p_value:.3f}"
        lines.append(f"| {cell(c.a)} | {cell(c.b)} | {c.pairs} | {c.both} | {c.only_a} "
                     f"| {c.only_b} | {c.neither} | {p} | {cell(c.conclusion)} |")
    return [*lines, ""]


def _case_cell(outcomes: list[str]) -> str:
    if not outcomes:
        return "·"
    finished = [o for o in outcomes if o != CANCELLED]
    if not finished:
        return "cancelled"
    if len(outcomes) == 1:
        return "✓" if finished[0] == RIGHT else f"✗ {finished[0]}"
    right = sum(o == RIGHT for o in finished)
    return f"{right}/{len(finished)}"


def _cases(result: EvalResult) -> list[str]:
    by_case: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in result.results:
        by_case[r.case][r.strategy].append(r.outcome)
    if not by_case:
        return []
    header = "| Case | " + " | ".join(cell(s) for s in result.strategies) + " |"
    lines = ["## Cases", "", header, "|---|" + "---|" * len(result.strategies)]
    for case in [c for c in result.cases if c in by_case]:
        row = by_case[case]
        lines.append(f"| {cell(case)} | "
                     + " | ".join(_case_cell(row.get(s, [])) for s in result.strategies)
                     + " |")
    return [*lines, ""]


def markdown_report(summary: EvalSummary) -> str:
    """The whole report: header, accuracy table and charts, ensemble figures, paired
    comparisons, one row per case, and what the figures mean."""
    result = summary.result
    lines = [*_header(result), *_accuracy(summary), *_ensembles(summary),
             *_comparisons(summary), *_cases(result), "## Reading the figures", "", GLOSSARY]
    return "\n".join(lines).rstrip("\n") + "\n"


def json_report(summary: EvalSummary) -> dict[str, Any]:
    """Everything, for scripts: the plan, each strategy's figures, the comparisons and
    every case result (with its grade's detail)."""
    return summary.to_dict()


def json_text(summary: EvalSummary) -> str:
    """The JSON report as text a terminal can show: JSON leaves C1 controls, bidi overrides
    and lone surrogates raw (a grade's detail quotes the model), so they are escaped; the
    value read back is the same."""
    text = json.dumps(json_report(summary), ensure_ascii=False, indent=2)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
