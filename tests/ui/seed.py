"""Stored histories for the history screen's tests: real runs recorded by the real Recorder
(through the in-process scripted provider), and bulk copies of them written with the store's
own schema when a test needs hundreds of sessions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from loco_tui.controller import Controller
from loco_tui.orchestrator import RunRequest
from loco_tui.providers.pool import ProviderPool
from loco_tui.registry import Registry, load_registry_text
from loco_tui.sessions import new_session_id
from loco_tui.store import Store
from loco_tui.testing.fake_provider import scripted_factory
from loco_tui.testing.script import Fault, Reply, Script

REGISTRY = """
[providers.local]
kind = "ollama"
host = "http://unused"
[models.alpha]
provider = "local"
model = "alpha"
[models.beta]
provider = "local"
model = "beta"
[models.arbiter]
provider = "local"
model = "arbiter"
[roles]
coder = "alpha"
flaky = "beta"
judge = "arbiter"
[ensembles.duo]
members = [{ model = "alpha" }, { model = "beta" }]
judge = "judge"
"""
VERDICT = 'A is clearer.\n{"winner": "A", "mode": "pick", "confidence": 0.8, "reason": "clear"}'
# A fixed "now" for relative dates: 2026-03-14 15:00 local time is what the screen is told.
NOW = 1_773_500_400.0


def registry() -> Registry:
    return load_registry_text(REGISTRY, "ui-test.toml")


def script(*, beta_fails: bool = False) -> Script:
    beta = Reply(fault=Fault.MODEL_MISSING) if beta_fails else Reply.text("Beta answers.")
    return (Script().add("alpha", Reply.text("Alpha answers."))
            .add("beta", beta).add("arbiter", Reply.text(VERDICT)))


async def record_session(store: Store, prompts: list[str], *, ensemble: str | None = None,
                         role: str | None = "coder", beta_fails: bool = False) -> str:
    """A session of ``len(prompts)`` turns, each a real run recorded by the store's
    Recorder; its id."""
    session_id = new_session_id()
    reg = registry()
    for turn, prompt in enumerate(prompts):
        thread = tuple((await store.session(session_id)).turns) if turn else ()
        controller = Controller(reg, pool=ProviderPool(
            reg, factory=scripted_factory(script(beta_fails=beta_fails))), store=store)
        try:
            await controller.run(RunRequest(
                prompt, role=None if ensemble else role, ensemble=ensemble,
                session=session_id, turn=turn, thread=thread), seed=1)
        finally:
            await controller.aclose()
        assert controller.history_error is None, controller.history_error
    return session_id


def set_times(path: Path, times: dict[str, float]) -> None:
    """Move sessions in time (session id -> last activity), as if they had happened then."""
    conn = sqlite3.connect(path)
    with conn:
        for session_id, at in times.items():
            conn.execute("UPDATE sessions SET created_at = ?, updated_at = ? WHERE id = ?",
                         (at - 60, at, session_id))
    conn.close()


def replicate(path: Path, session_id: str, copies: int, *, start: float, step_s: float) -> None:
    """``copies`` copies of one stored session (with its runs and calls), written with the
    store's own schema: copy ``i`` is titled "<title> #i" and was last active at
    ``start - i * step_s``, so #0 is the newest."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("BEGIN")
    for i in range(copies):
        sfx, at = f"-{i:05d}", start - i * step_s
        conn.execute(
            "INSERT INTO sessions (id, title, title_edited, created_at, updated_at) "
            "SELECT id || ?, title || ' #' || ?, 1, ?, ? FROM sessions WHERE id = ?",
            (sfx, i, at - 60, at, session_id))
        conn.execute(
            "INSERT INTO runs (id, session_id, turn, prompt, mode, target, status, started_at, "
            "finished_at, duration_s, answer, answer_from, message, eval_tag, pid) "
            "SELECT id || ?1, session_id || ?1, turn, prompt, mode, target, status, ?2, ?2, "
            "duration_s, answer, answer_from, message, eval_tag, pid FROM runs "
            "WHERE session_id = ?3", (sfx, at - 30, session_id))
        conn.execute(
            "INSERT INTO calls SELECT run_id || ?, member, attempt, role, model, provider, "
            "persona, tokens_in, tokens_out, ttft_s, tokens_per_s, gen_s, duration_s, outcome, "
            "category, message, finish_reason, text, started_t, finished_t FROM calls "
            "WHERE run_id IN (SELECT id FROM runs WHERE session_id = ?)", (sfx, session_id))
    conn.execute("COMMIT")
    conn.close()
