"""What the routing trace says about each event: one plain, neutralised line.

Which role and model served each request and why, fallbacks, the judge's label
permutation, parse events, trimmed threads and the run's final status. Every piece of text
here may come from a model, a server or a registry file, so lines are built as ``Text``
from neutralised strings: never markup, never a live control sequence.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from loco_tui.events import (
    Event,
    JudgeStarted,
    MemberFailed,
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


def confidence_text(confidence: float | None) -> str:
    return "confidence not stated" if confidence is None else f"confidence {confidence:.2f}"


def verdict_headline(event: Verdict) -> str:
    if event.mode == "pick" and event.winner:
        return f"picked {event.winner}" + (f" ({event.label})" if event.label else "")
    return "synthesized an answer"


def trace_line(event: Event) -> Text | None:
    """The trace line for ``event``, or None when it has none (deltas, member starts)."""
    match event:
        case Route():
            who = f"{event.member}: " if event.member and event.member != event.role else ""
            return plain(f"» {who}{event.role or '-'} → {event.model}  ({event.reason})",
                         "yellow" if event.category else "cyan")
        case MemberFailed():
            return plain(f"✗ {event.member} ({event.model}) {event.category}: {event.message}",
                         "red")
        case JudgeStarted():
            labels = ", ".join(f"{label}={member}" for label, member in event.labels.items())
            return plain(f"⚖ judge {event.model} sees {labels}", "magenta")
        case Verdict():
            return plain(f"★ verdict: {verdict_headline(event)}, "
                         f"{confidence_text(event.confidence)} [{event.parsed_by}] "
                         f"{event.reason}", "bold green")
        case Parse() if event.kind in ("format", "call", "repair"):
            return plain(f"  {event.member} parse {event.kind}: {brief(event.detail)}", "dim")
        case ThreadTrimmed():
            return plain(f"✂ {event.member}: left out the {event.dropped} oldest turn(s) to fit "
                         f"{event.model}'s {event.budget_tokens}-token context "
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


