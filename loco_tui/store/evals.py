"""Eval runs in the history: the runs `loco eval` made, found by their ``eval_tag``.

An eval's runs are ordinary runs (recorded by the recorder like any other, so `loco stats`
and the history count them); once a run is recorded, `loco eval` writes its tag: a JSON
object whose ``eval`` key names the eval. The rest of the tag (the suite, the plan, the
graded result) belongs to ``loco_tui.eval`` and comes back exactly as it was written.

A tag that is not such an object (another program's, a damaged one) is ignored, never an
error: SQLite's ``json_extract`` would fail the whole query on one bad row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loco_tui.store.db import Database, StoreError
from loco_tui.store.records import RunStatus, iso

_SURROGATE = re.compile("[\ud800-\udfff]")
# The eval id of a run, NULL for a run without a usable tag.
_EVAL_ID = ("CASE WHEN json_valid(eval_tag) AND json_type(eval_tag) = 'object' "
            "THEN json_extract(eval_tag, '$.eval') END")


@dataclass(frozen=True, slots=True)
class EvalRecord:
    """One eval, as a line of a list: its id, suite, how many runs and when."""

    id: str
    suite: str | None
    runs: int
    started_at: float
    # When its last run ended (None while that run is unfinished).
    finished_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "suite": self.suite, "runs": self.runs,
                "started_at": iso(self.started_at), "finished_at": iso(self.finished_at)}


@dataclass(frozen=True, slots=True)
class EvalRunRecord:
    """One run of an eval, with its tag as written."""

    run_id: str
    status: RunStatus
    started_at: float
    duration_s: float | None
    tag: dict[str, Any]


async def tag_run(db: Database, run_id: str, tag: Mapping[str, Any]) -> None:
    """Write ``tag`` (a JSON object with a string ``eval``) on the recorded run ``run_id``."""
    if not isinstance(tag.get("eval"), str) or not tag["eval"]:
        raise StoreError("an eval tag names its eval (a non-empty string under 'eval')")
    body = json.dumps(dict(tag), ensure_ascii=False, separators=(",", ":"))
    if _SURROGATE.search(body) is not None:
        # SQLite stores UTF-8, which a lone surrogate (from a broken stream, quoted in a
        # grade's detail) cannot be: escaped, it survives the round trip.
        body = json.dumps(dict(tag), separators=(",", ":"))
    async with db.transaction() as conn:
        cursor = await conn.execute("UPDATE runs SET eval_tag = ? WHERE id = ?",
                                    (body, run_id))
        changed = cursor.rowcount
    if changed != 1:
        raise StoreError(f"no recorded run {run_id} to tag")


async def list_evals(db: Database, limit: int = 50, offset: int = 0) -> list[EvalRecord]:
    """Evals, the most recently started first."""
    rows = await db.fetchall(
        f"SELECT e, min(json_extract(eval_tag, '$.suite')), count(*), min(started_at), "
        f"CASE WHEN count(finished_at) = count(*) THEN max(finished_at) END "
        f"FROM (SELECT {_EVAL_ID} AS e, eval_tag, started_at, finished_at FROM runs "
        "WHERE eval_tag IS NOT NULL) WHERE e IS NOT NULL "
        "GROUP BY e ORDER BY min(started_at) DESC, e LIMIT ? OFFSET ?", (limit, offset))
    return [EvalRecord(str(e), None if suite is None else str(suite), int(n), float(start),
                       None if end is None else float(end))
            for e, suite, n, start, end in rows]


async def resolve_eval(db: Database, ident: str) -> str:
    """The full id of the eval ``ident`` names (itself, or an unambiguous prefix)."""
    rows = await db.fetchall(
        f"SELECT DISTINCT e FROM (SELECT {_EVAL_ID} AS e FROM runs "
        "WHERE eval_tag IS NOT NULL) WHERE e IS NOT NULL AND substr(e, 1, length(?)) = ? "
        "LIMIT 2", (ident, ident))
    exact = [r[0] for r in rows if r[0] == ident]
    if exact:
        return str(exact[0])
    if not rows:
        raise StoreError(f"no eval {ident}")
    if len(rows) > 1:
        raise StoreError(f"{ident} names more than one eval; give more of its id")
    return str(rows[0][0])


async def eval_runs(db: Database, ident: str) -> list[EvalRunRecord]:
    """Every run of one eval (id or unambiguous prefix), in the order they started."""
    eval_id = await resolve_eval(db, ident)
    rows = await db.fetchall(
        f"SELECT id, status, started_at, duration_s, eval_tag FROM runs "
        f"WHERE eval_tag IS NOT NULL AND {_EVAL_ID} = ? ORDER BY started_at, num",
        (eval_id,))
    return [EvalRunRecord(str(run_id), status, float(started), duration, json.loads(tag))
            for run_id, status, started, duration, tag in rows]
