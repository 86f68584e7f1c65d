"""How a verdict or a checked tool call reads in plain words, the same in the trace, the
panes and `loco run`'s text output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loco_tui.events import Verdict


def confidence_text(confidence: float | None) -> str:
    return "confidence not stated" if confidence is None else f"confidence {confidence:.2f}"


def verdict_headline(event: Verdict) -> str:
    if event.mode == "pick" and event.winner:
        return f"picked {event.winner}" + (f" ({event.label})" if event.label else "")
    return "synthesized an answer"


def verdict_detail(event: Verdict) -> str:
    """How the verdict was read and how far to trust it: the schema or free text, where the
    confidence comes from, and whether a debiased judge kept its pick."""
    parts = [event.parsed_by or "?"]
    if event.via:
        parts.append(f"via {event.via}")
    if event.confidence_source:
        parts.append(f"{event.confidence_source} confidence")
    if event.position_consistent is True:
        parts.append("same pick in reverse order")
    elif event.position_consistent is False:
        flipped = event.reversed_winner or "another"
        parts.append(f"POSITION-INCONSISTENT: reversed order picked {flipped}")
    return ", ".join(parts)


def describe_check(detail: Mapping[str, Any]) -> str:
    """A ``schema_check`` event in one line, for the trace: ``✓ get_weather fits its
    schema`` or ``✗ get_weather: arguments.city is required but missing (+1 more)``."""
    name = str(detail.get("name") or "?")
    if detail.get("ok"):
        return f"✓ {name} fits its schema"
    problems = detail.get("problems")
    messages = [str(p.get("message", "")) for p in problems if isinstance(p, Mapping)] \
        if isinstance(problems, list) else []
    if not messages:
        return f"✗ {name} failed its schema check"
    more = f" (+{len(messages) - 1} more)" if len(messages) > 1 else ""
    return f"✗ {name}: {messages[0]}{more}"
