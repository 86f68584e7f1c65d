"""Sessions: conversations that go on.

A session is an ordered list of turns; each turn is one run of any target. What a follow-up
sees is the session's *thread*: the user prompts and each turn's answer, oldest first. A
failed or cancelled turn has no answer and is left out of the thread (it stays in history).
Ensembles whose ``thread = "own"`` also show each member its own earlier proposals, so a
member keyed ``m2`` continues its own line of thought.

These are plain values shared by the orchestrator (which builds messages from them), the
store (which reads them back from disk) and the UI (which keeps the current session).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field


def new_session_id() -> str:
    # Sortable by creation time, short enough to type after `loco run --session`.
    return "s" + time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


@dataclass(frozen=True, slots=True)
class Turn:
    """One finished run of a session, as a follow-up sees it."""

    prompt: str
    # The turn's answer (None: failed or cancelled, left out of the thread).
    answer: str | None
    # Who wrote the answer: a member id, "judge" for a synthesis, None when unknown.
    answer_from: str | None = None
    # Ensemble turns: member id -> that member's proposal, for `thread = "own"`.
    proposals: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None

    @property
    def in_thread(self) -> bool:
        return self.answer is not None


@dataclass(slots=True)
class Session:
    """A conversation: its id, title and turns, oldest first."""

    id: str = field(default_factory=new_session_id)
    title: str | None = None
    turns: list[Turn] = field(default_factory=list)

    @property
    def thread(self) -> list[Turn]:
        """The turns a follow-up sees: those with an answer."""
        return [t for t in self.turns if t.in_thread]

    def with_answer(self, run_id: str, answer: str, answer_from: str) -> bool:
        """Replace the answer of the turn of ``run_id`` (a person chose another pane).
        True when the turn was found."""
        for i, turn in enumerate(self.turns):
            if turn.run_id == run_id:
                self.turns[i] = Turn(turn.prompt, answer, answer_from, turn.proposals, run_id)
                return True
        return False
