"""What the routing trace says about each event: one plain, neutralised line.

Which role and model served each request and why, fallbacks, the judge's label
permutation, parse events, trimmed threads and the run's final status. Every piece of text
here may come from a model, a server or a registry file, so lines are built as ``Text``
from neutralised strings: never markup, never a live control sequence.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from loco_tui.describe import (
    confidence_text,
    describe_check,
    verdict_detail,
    verdict_headline,
)
from loco_tui.events import (
    Event,
    JudgeStarted,
    MemberFailed,
    MemberQueued,
    Parse,
    PhaseFinished,
    PhaseStarted,
    Route,
    RunFinished,
    RunStarted,
    ThreadTrimmed,
    Verdict,
)
from loco_tui.safe_text import neutralise_line

_DETAIL_CHARS = 100


def plain(text: str, style: str = "") -> Text:
    """A trace line from untrusted text."""
    return Text(neutralise_line(text), style=style)


def brief(detail: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in detail.items() if k != "offset"]
    text = ", ".join(parts)
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


def trace_line(event: Event, *, blind: bool = False) -> Text | None:
    """The trace line for ``event``, or None when it has none (deltas, member starts).
    ``blind`` leaves model names out (a blind comparison before the person's vote)."""
    match event:
        case Route():
            who = f"{event.member}: " if event.member and event.member != event.role else ""
            model = "(hidden)" if blind else event.model
            return plain(f"» {who}{event.role or '-'} → {model}  ({event.reason})",
                         "yellow" if event.category else "cyan")
        case MemberQueued():
            model = "" if blind else f" ({event.model} on {event.provider})"
            return plain(f"⏳ {event.member}{model} queued: {event.ahead} ahead, "
                         f"{event.running} of {event.limit} running", "dim")
        case MemberFailed():
            if blind:  # a server's message may name the model
                return plain(f"✗ {event.member} {event.category}", "red")
            return plain(f"✗ {event.member} ({event.model}) {event.category}: {event.message}",
                         "red")
        case JudgeStarted():
            labels = ", ".join(f"{label}={member}" for label, member in event.labels.items())
            again = " again, order reversed," if event.order == "reversed" else ""
            model = "" if blind else f" {event.model}"
            return plain(f"⚖ judge{model}{again} sees {labels}", "magenta")
        case Verdict():
            return plain(f"★ verdict: {verdict_headline(event)}, "
                         f"{confidence_text(event.confidence)} [{verdict_detail(event)}] "
                         f"{event.reason}", "bold green")
        case Parse(kind="schema_check"):
            return plain(f"  {event.member} {describe_check(event.detail)}",
                         "green" if event.detail.get("ok") else "bold red")
        case Parse(kind="tools_offered"):
            names = ", ".join(str(n) for n in event.detail.get("names") or [])
            how = ("in the request" if event.detail.get("via") == "native"
                   else "described in the prompt")
            return plain(f"  {event.member} offered tools {how}: {names}", "dim")
        case Parse() if event.kind in ("format", "call", "repair"):
            return plain(f"  {event.member} parse {event.kind}: {brief(event.detail)}", "dim")
        case ThreadTrimmed():
            whose = "its model's" if blind else f"{event.model}'s"
            return plain(f"✂ {event.member}: left out the {event.dropped} oldest turn(s) to fit "
                         f"{whose} {event.budget_tokens}-token context "
                         f"({event.kept} kept)", "yellow")
        case RunStarted():
            return plain(f"run · {event.mode} {event.target}", "dim")
        case PhaseStarted():
            return plain(f"▶ phase {event.phase} ({event.phase_type})", "bold")
        case PhaseFinished():
            return plain(f"■ phase {event.phase}: {event.status}", "bold")
        case RunFinished():
            style = {"ok": "green", "partial": "yellow"}.get(event.status, "red")
            tail = f": {event.message}" if event.message else ""
            return plain(f"run {event.status}{tail}", f"bold {style}")
        case _:
            return None


