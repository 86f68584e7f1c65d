"""The parser's value types: what it found (ToolCall), what it saw (ParseEvent), what it
concluded (ParseResult, ResponseKind). Plain dataclasses, JSON-friendly, no UI imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ResponseKind(StrEnum):
    """What a model's answer is, as a whole."""

    TOOL_CALL = "tool_call"
    CODE = "code"
    PLAN = "plan"
    VERDICT = "verdict"
    REFUSAL = "refusal"
    PROSE = "prose"
    EMPTY = "empty"


@dataclass(frozen=True)
class ToolCall:
    """One tool call read from model output.

    Equality compares ``name`` and ``arguments`` only, so ``ToolCall("f", {"x": 1})`` equals a
    parsed call whatever dialect it came from. ``format`` names the dialect that was read
    (``hermes``, ``mistral``, ``pythonic``, ...), ``repaired`` lists the JSON repairs that were
    needed, ``offset`` is where the call itself starts in the text (inside any wrapper such as
    ``<tool_call>``), ``id`` a call id the model gave (Mistral, OpenAI)."""

    name: str
    arguments: dict[str, Any]
    format: str = field(default="json", compare=False)
    repaired: tuple[str, ...] = field(default=(), compare=False)
    offset: int | None = field(default=None, compare=False)
    id: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "arguments": self.arguments,
            "format": self.format,
            "repaired": list(self.repaired),
            "offset": self.offset,
        }
        if self.id is not None:
            out["id"] = self.id
        return out


@dataclass(frozen=True)
class ParseEvent:
    """One step of how the parser read a text (for the parse-trace inspector).

    ``kind`` is one of: ``think`` (a reasoning block was skipped), ``format`` (a dialect was
    recognised), ``call_started``, ``call``, ``repair`` (JSON repairs applied to a call),
    ``rejected`` (something looked like a call but was not taken, with the reason),
    ``retract`` (calls found before a lone ``</think>`` were reasoning after all),
    ``classification``. ``offset`` is a character offset into the text fed so far; ``detail`` is
    always JSON-serialisable."""

    kind: str
    offset: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "offset": self.offset, "detail": self.detail}


@dataclass
class ParseResult:
    """The whole reading of one model output."""

    tool_calls: list[ToolCall]
    kind: ResponseKind
    trace: list[ParseEvent]
    # The content a human should read: tool-call markup and think-blocks removed.
    text: str = ""
    # The reasoning that was skipped (think-blocks), joined.
    reasoning: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "kind": str(self.kind),
            "trace": [e.to_dict() for e in self.trace],
            "text": self.text,
            "reasoning": self.reasoning,
        }
