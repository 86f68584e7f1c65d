"""The Store: one open database file with the whole read side as async methods and a
factory for the recorder. The work itself lives in one module per job (history, stats,
export, replay); this class only gives it one handle."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from loco_tui.events import Event
from loco_tui.sessions import Session
from loco_tui.store import evals, export, history, leaderboard, replay, stats
from loco_tui.store.db import DEFAULT_BUSY_TIMEOUT_S, Database, default_path
from loco_tui.store.evals import EvalRecord, EvalRunRecord
from loco_tui.store.leaderboard import DEFAULT_MIN_GAMES, Leaderboard, Players
from loco_tui.store.recorder import DEFAULT_INTERVAL_S, Recorder
from loco_tui.store.records import ModelStats, RunDetail, RunRecord, SessionSummary, VerdictRecord


class Store:
    """Loco's history. Open with ``await Store.open()``; close with ``await aclose()`` (or
    ``async with``). Every method raises only StoreError (with a one-line message)."""

    def __init__(self, database: Database) -> None:
        self.db = database

    @classmethod
    async def open(cls, path: Path | str | None = None, *,
                   busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Store:
        """Open (creating or migrating) ``path``, default ``data_dir()/loco.db``."""
        return cls(await Database.open(path or default_path(), busy_timeout_s=busy_timeout_s))

    @property
    def path(self) -> Path:
        return self.db.path

    async def aclose(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    # -- writing -------------------------------------------------------------------------
    def recorder(self, *, interval_s: float = DEFAULT_INTERVAL_S) -> Recorder:
        """A new event sink recording into this store (subscribe it to the controller)."""
        return Recorder(self.db, interval_s=interval_s)

    # -- sessions ------------------------------------------------------------------------
    async def sessions(self, limit: int = 50, offset: int = 0,
                       search: str | None = None) -> list[SessionSummary]:
        return await history.list_sessions(self.db, limit, offset, search)

    async def session_summary(self, session_id: str) -> SessionSummary:
        return await history.session_summary(self.db, session_id)

    async def session(self, session_id: str) -> Session:
        return await history.load_session(self.db, session_id)

    async def last_session_id(self) -> str | None:
        return await history.last_session_id(self.db)

    async def runs_of(self, session_id: str) -> list[RunRecord]:
        return await history.runs_of(self.db, session_id)

    async def rename_session(self, session_id: str, title: str) -> None:
        await history.rename_session(self.db, session_id, title)

    async def delete_session(self, session_id: str) -> None:
        await history.delete_session(self.db, session_id)

    # -- runs ----------------------------------------------------------------------------
    async def resolve(self, ident: str) -> tuple[history.IdKind, str]:
        return await history.resolve(self.db, ident)

    async def run(self, run_id: str) -> RunDetail:
        return await history.load_run(self.db, run_id)

    async def events(self, run_id: str) -> list[Event]:
        return await replay.load_events(self.db, run_id)

    async def record_human_verdict(self, run_id: str, member: str) -> VerdictRecord:
        """A person chose ``member`` ("continue with m2"): ``vote(run_id, "pick", member)``."""
        return await history.record_human_verdict(self.db, run_id, member)

    async def vote(self, run_id: str, kind: history.VoteKind, member: str | None = None, *,
                   phase: str | None = None) -> VerdictRecord:
        """A person's verdict on a run's proposals: ``pick`` (``member`` is best, keys
        1-9), ``tie`` (``=``) or ``all_bad`` (``0``). Replaces their last vote on the same
        proposals. ``phase``: a workflow phase's proposals, for a tie or "all bad"."""
        return await history.record_vote(self.db, run_id, kind, member, phase)

    # -- figures and exports -------------------------------------------------------------
    async def stats(self, since: float | None = None,
                    role: str | None = None) -> list[ModelStats]:
        return await stats.compute_stats(self.db, since, role)

    async def leaderboard(self, *, players: Players = "model", role: str | None = None,
                          since: float | None = None,
                          min_games: int = DEFAULT_MIN_GAMES) -> Leaderboard:
        """Bradley-Terry boards (judge and human), agreement, and the judges' audit."""
        return await leaderboard.compute_leaderboard(self.db, players=players, role=role,
                                                     since=since, min_games=min_games)

    # -- evals ---------------------------------------------------------------------------
    async def tag_eval_run(self, run_id: str, tag: Mapping[str, Any]) -> None:
        """Mark a recorded run as one of an eval's (``tag["eval"]`` names the eval)."""
        await evals.tag_run(self.db, run_id, tag)

    async def evals(self, limit: int = 50, offset: int = 0) -> list[EvalRecord]:
        """Evals, the most recently started first."""
        return await evals.list_evals(self.db, limit, offset)

    async def eval_runs(self, eval_id: str) -> list[EvalRunRecord]:
        """Every run of an eval (id or unambiguous prefix) with its tag, in run order."""
        return await evals.eval_runs(self.db, eval_id)

    async def export_markdown(self, ident: str) -> str:
        return await export.export_markdown(self.db, ident)

    async def export_json(self, ident: str) -> dict[str, Any]:
        return await export.export_json(self.db, ident)
