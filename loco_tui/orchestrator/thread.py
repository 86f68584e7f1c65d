"""What a member sees of the conversation, fitted to its model's context budget.

A follow-up turn sends each model the session's thread as alternating user/assistant
messages before the current prompt (see ``loco_tui.sessions``). Ensembles with
``thread = "own"`` put each member's own earlier proposals in the assistant turns. When the
thread does not fit the model's budget, the oldest turns go first; the system prompt and the
current prompt are never cut (a prompt too long on its own is the server's to refuse, with a
``context_overflow`` the fallback chain can act on).

Token counts are estimates (about four characters a token, the usual rule for English and
code): exact counts would need each model's tokenizer, and the budget keeps a margin anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from loco_tui.providers.base import ChatMessage
from loco_tui.sessions import Turn

# Per-message overhead of chat templates (role markers, separators).
_MESSAGE_OVERHEAD = 4


def estimate_tokens(text: str) -> int:
    return len(text) // 4 + 1


@dataclass(frozen=True, slots=True)
class Exchange:
    """One earlier turn as a model sees it: what the user said, what was answered."""

    user: str
    assistant: str

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.user) + estimate_tokens(self.assistant) + 2 * _MESSAGE_OVERHEAD


def exchanges(
    turns: Sequence[Turn], thread: Literal["shared", "own"] = "shared", member: str | None = None
) -> list[Exchange]:
    """The thread of ``turns`` (answered turns only), oldest first. With ``own``, the
    assistant side is ``member``'s own proposal where it made one."""
    out = []
    for turn in turns:
        if turn.answer is None:
            continue
        answer = turn.answer
        if thread == "own" and member is not None:
            answer = turn.proposals.get(member, answer)
        out.append(Exchange(turn.prompt, answer))
    return out


@dataclass(slots=True)
class Conversation:
    """Everything one model call is sent, before it is fitted to a budget."""

    prompt: str  # the current user message, never cut
    system: list[str] = field(default_factory=list)  # persona and model system prompts
    history: list[Exchange] = field(default_factory=list)

    def fitted(self, budget: int, reserve: int) -> tuple[list[ChatMessage], int]:
        """The messages for a model with ``budget`` tokens of context, keeping ``reserve``
        for its answer, and how many of the oldest exchanges were dropped to fit."""
        fixed = sum(estimate_tokens(s) + _MESSAGE_OVERHEAD for s in self.system)
        fixed += estimate_tokens(self.prompt) + _MESSAGE_OVERHEAD
        room = budget - reserve - fixed
        kept: list[Exchange] = []
        for exchange in reversed(self.history):  # newest first: they matter most
            if exchange.tokens > room:
                break
            kept.append(exchange)
            room -= exchange.tokens
        kept.reverse()
        messages: list[ChatMessage] = [{"role": "system", "content": s} for s in self.system]
        for exchange in kept:
            messages.append({"role": "user", "content": exchange.user})
            messages.append({"role": "assistant", "content": exchange.assistant})
        messages.append({"role": "user", "content": self.prompt})
        return messages, len(self.history) - len(kept)

    def tokens(self) -> int:
        """Estimated tokens of everything, unfitted."""
        return (
            sum(estimate_tokens(s) + _MESSAGE_OVERHEAD for s in self.system)
            + sum(e.tokens for e in self.history)
            + estimate_tokens(self.prompt)
            + _MESSAGE_OVERHEAD
        )


def answer_reserve(options: dict[str, object], budget: int) -> int:
    """Tokens kept free for the answer: the call's own limit when it has one."""
    for key in ("num_predict", "max_tokens"):
        value = options.get(key)
        if isinstance(value, int) and value > 0:
            return min(value, budget // 2)
    return min(1024, budget // 4)
