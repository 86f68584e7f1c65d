"""A session or a run as Markdown (for a PR or a note) or JSON (everything, lossless).

Markdown shows, per turn: the prompt, each proposal under its model and persona, the
verdict and its reason, a person's choice, and the answer. Model text is untrusted: every
piece of it goes through ``neutralise`` (the output may be printed, or pasted somewhere a
terminal shows it later). JSON keeps the text exactly; control characters are escaped by
JSON itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loco_tui.safe_text import neutralise, neutralise_line
from loco_tui.store.db import Database
from loco_tui.store.history import load_run, resolve, runs_of, session_summary
from loco_tui.store.records import CallRecord, RunDetail, SessionSummary, VerdictRecord
from loco_tui.store.replay import load_events

EXPORT_FORMAT = "loco-export"
EXPORT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Bundle:
    """What an export holds: a session and its runs (or the one run asked for)."""

    kind: str  # "session" | "run"
    session: SessionSummary
    runs: tuple[RunDetail, ...]


async def load_bundle(db: Database, ident: str) -> Bundle:
    kind, full = await resolve(db, ident)
    if kind == "run":
        detail = await load_run(db, full)
        return Bundle("run", await session_summary(db, detail.run.session_id), (detail,))
    runs = [await load_run(db, r.id) for r in await runs_of(db, full)]
    return Bundle("session", await session_summary(db, full), tuple(runs))


async def export_json(db: Database, ident: str) -> dict[str, Any]:
    """Everything stored about a session or run: rows and the full event streams."""
    bundle = await load_bundle(db, ident)
    runs = []
    for detail in bundle.runs:
        events = await load_events(db, detail.run.id)
        runs.append({**detail.to_dict(), "events": [e.model_dump(mode="json") for e in events]})
    return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "kind": bundle.kind,
            "session": bundle.session.to_dict(), "runs": runs}


async def export_markdown(db: Database, ident: str) -> str:
    return render_markdown(await load_bundle(db, ident))


# -- Markdown ----------------------------------------------------------------------------
def render_markdown(bundle: Bundle) -> str:
    s = bundle.session
    title = neutralise_line(s.title or s.first_prompt or s.id)
    lines = [f"# {title}", ""]
    count = f"{s.turns} turn" + ("" if s.turns == 1 else "s")
    lines += [f"Session `{s.id}` · {count} · {_when(s.created_at)}", ""]
    for number, detail in enumerate(bundle.runs, start=1):
        if bundle.kind == "run":
            number = detail.run.turn + 1
        lines += _turn(number, detail)
    return "\n".join(lines).rstrip() + "\n"


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


def _is_judge(member: str) -> bool:
    # "judge", "plan/judge", and a debiased judge's second pass, "reversed-judge".
    return member.rsplit("/", 1)[-1] in ("judge", "reversed-judge")


def _turn(number: int, detail: RunDetail) -> list[str]:
    run = detail.run
    target = neutralise_line(run.target)
    out = [f"## Turn {number} · {run.mode} `{target}` · {run.status}", "",
           f"Run `{run.id}` · {_when(run.started_at)}"
           + (f" · {run.duration_s:.1f} s" if run.duration_s is not None else ""), ""]
    out += [_quote(run.prompt), ""]
    if run.message:
        out += [f"_{neutralise_line(run.message)}_", ""]
    finals = detail.final_calls
    judge = detail.judge_verdict
    human = detail.human_verdict
    shown: set[str] = set()
    for member, call in finals.items():
        if _is_judge(member):
            continue
        shown.add(member)
        out += _proposal(detail, call, judge_pick=judge.winner if judge else None,
                         human_pick=human.winner if human else None)
    for verdict in detail.verdicts:
        if verdict.by == "judge":
            out += [_judge_line(verdict, finals), ""]
    if human is not None:
        if human.kind == "tie":
            out += ["**Your vote**: a tie.", ""]
        elif human.kind == "all_bad":
            out += ["**Your vote**: all bad.", ""]
        else:
            out += [f"**Your choice**: continue with {neutralise_line(human.winner or '?')}.",
                    ""]
    if run.answer is not None:
        source = neutralise_line(run.answer_from or "?")
        if run.answer_from in shown and finals[run.answer_from].text == run.answer:
            out += [f"**Answer**: the proposal of {source} above.", ""]
        else:
            out += [f"**Answer** (from {source}):", "", neutralise(run.answer).strip(), ""]
    elif run.status in ("failed", "cancelled", "interrupted"):
        out += [f"**No answer**: the turn {run.status}.", ""]
    return out


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in neutralise(text).splitlines())


def _proposal(detail: RunDetail, call: CallRecord, judge_pick: str | None,
              human_pick: str | None) -> list[str]:
    head = f"### {neutralise_line(call.member)} · {neutralise_line(call.model)}"
    if call.persona:
        head += f" · {neutralise_line(call.persona)}"
    marks = []
    if call.member == judge_pick:
        marks.append("★ judge's pick")
    if call.member == human_pick:
        marks.append("✓ your choice")
    if marks:
        head += " — " + ", ".join(marks)
    out = [head, ""]
    earlier = [c for c in detail.calls if c.member == call.member and c.attempt < call.attempt]
    for c in earlier:
        out += [f"_{neutralise_line(c.model)} failed first ({c.category or c.outcome})._", ""]
    figures = _figures(call)
    if call.outcome == "ok":
        out += [neutralise(call.text or "").strip() or "_(empty reply)_", ""]
    else:
        reason = f"{call.outcome}" + (f" ({call.category})" if call.category else "")
        message = f": {neutralise_line(call.message)}" if call.message else ""
        out += [f"_{reason}{message}_", ""]
        if call.text:
            out += ["Streamed before that:", "", neutralise(call.text).strip(), ""]
    if figures:
        out += [f"<sub>{figures}</sub>", ""]
    return out


def _figures(call: CallRecord) -> str:
    parts = []
    if call.tokens_out is not None:
        parts.append(f"{call.tokens_out} tokens")
    if call.duration_s is not None:
        parts.append(f"{call.duration_s:.1f} s")
    if call.tokens_per_s is not None:
        parts.append(f"{call.tokens_per_s:.0f} tok/s")
    return " · ".join(parts)


def _judge_line(verdict: VerdictRecord, finals: dict[str, CallRecord]) -> str:
    judge_model = verdict.judge_model or next(
        (c.model for m, c in finals.items() if _is_judge(m)), None)
    who = f"judge `{neutralise_line(judge_model)}`" if judge_model else "judge"
    confidence = (f", confidence {verdict.confidence:.2f}"
                  if verdict.confidence is not None else "")
    if verdict.mode == "synthesize":
        what = "wrote a synthesis of the proposals"
    else:
        label = f" (shown as {verdict.label})" if verdict.label else ""
        what = f"picked **{neutralise_line(verdict.winner or '?')}**{label}"
    if verdict.position_consistent is not None:
        what += (", the same with the proposals reversed" if verdict.position_consistent
                 else ", another with the proposals reversed (position inconsistent)")
    reason = neutralise(verdict.reason).strip().replace("\n", " ")
    return f"**Verdict**: {who} {what}{confidence}" + (f": {reason}" if reason else ".")
