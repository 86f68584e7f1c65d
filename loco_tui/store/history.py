"""The read side of sessions and runs: listing, search, one session as turns, one run in
full, and the few edits people make (rename, delete, choose another member's answer).

Ids are accepted by unambiguous prefix: people type them.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Literal

from loco_tui.sessions import Session, Turn
from loco_tui.store.db import Database, Row, StoreError
from loco_tui.store.records import (
    CallRecord,
    ParseRecord,
    RunDetail,
    RunRecord,
    SessionSummary,
    VerdictRecord,
    outcome_json,
)

IdKind = Literal["session", "run"]

# A top-level ensemble member: what a session's `proposals` and a human verdict speak of.
_PROPOSER = re.compile(r"m\d+")
_WORD = re.compile(r"\w+", re.UNICODE)
_RUN_COLUMNS = ("id, session_id, turn, prompt, mode, target, status, started_at, finished_at, "
                "duration_s, answer, answer_from, message, eval_tag")


# -- ids ---------------------------------------------------------------------------------
async def _matching(db: Database, table: str, prefix: str) -> list[str]:
    # A range over the primary key index; LIKE would scan and treat `_` as a wildcard.
    rows = await db.fetchall(
        f"SELECT id FROM {table} WHERE id >= ? AND id < ? ORDER BY id LIMIT 6",
        (prefix, prefix + "\U0010ffff"))
    return [r[0] for r in rows]


async def resolve(db: Database, text: str, kind: IdKind | None = None) -> tuple[IdKind, str]:
    """The session or run an id (or an unambiguous prefix of one) names.

    An exact id wins over longer ids it is a prefix of. Raises StoreError when nothing or
    more than one thing matches.
    """
    prefix = text.strip()
    if not prefix:
        raise StoreError("an empty id names nothing")
    kinds: tuple[IdKind, ...] = (kind,) if kind else ("session", "run")
    found: list[tuple[IdKind, str]] = []
    for k in kinds:
        for full in await _matching(db, "sessions" if k == "session" else "runs", prefix):
            if full == prefix:
                return k, full
            found.append((k, full))
    what = kind or "session or run"
    if not found:
        raise StoreError(f"no {what} with id {prefix!r}")
    if len(found) > 1:
        shown = ", ".join(full for _, full in found[:5])
        raise StoreError(f"{prefix!r} names more than one {what}: {shown}")
    return found[0]


# -- sessions ----------------------------------------------------------------------------
def fts_query(text: str) -> str | None:
    """User input as a safe FTS5 query: every word must appear (the last one as a prefix,
    since people search as they type). Quotes, operators and column filters in the input
    are taken as plain words. None when the input holds no word."""
    words = _WORD.findall(text)
    if not words:
        return None
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


async def list_sessions(db: Database, limit: int = 50, offset: int = 0,
                        search: str | None = None) -> list[SessionSummary]:
    """Sessions, most recently active first; ``search`` keeps those whose prompts or
    answers hold every word of it."""
    if search is None or not search.strip():
        return await _summaries(db, "", (), limit, offset)
    query = fts_query(search)
    if query is None:
        return []
    return await _summaries(
        db, "WHERE s.id IN (SELECT r.session_id FROM runs_fts "
        "JOIN runs r ON r.num = runs_fts.rowid WHERE runs_fts MATCH ?)", (query,), limit, offset)


async def session_summary(db: Database, session_id: str) -> SessionSummary:
    """The history row of one session."""
    _, full = await resolve(db, session_id, "session")
    found = await _summaries(db, "WHERE s.id = ?", (full,), 1, 0)
    if not found:  # pragma: no cover - deleted between the two reads
        raise StoreError(f"no session with id {session_id!r}")
    return found[0]


async def _summaries(db: Database, where: str, params: tuple[Any, ...], limit: int,
                     offset: int) -> list[SessionSummary]:
    rows = await db.fetchall(
        "SELECT s.id, s.title, s.created_at, s.updated_at, "
        "(SELECT prompt FROM runs WHERE session_id = s.id ORDER BY started_at, num LIMIT 1), "
        "(SELECT status FROM runs WHERE session_id = s.id "
        " ORDER BY started_at DESC, num DESC LIMIT 1), "
        "(SELECT count(*) FROM runs WHERE session_id = s.id) "
        f"FROM sessions s {where} ORDER BY s.updated_at DESC, s.id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset))
    if not rows:
        return []
    ids = [r[0] for r in rows]
    models: dict[str, list[str]] = {}
    for session_id, model in await db.fetchall(
        "SELECT DISTINCT r.session_id, c.model FROM runs r JOIN calls c ON c.run_id = r.id "
        f"WHERE r.session_id IN ({','.join('?' * len(ids))}) AND c.outcome = 'ok' "
        "ORDER BY c.model", ids):
        models.setdefault(session_id, []).append(model)
    return [
        SessionSummary(id=r[0], title=r[1], first_prompt=r[4], models=tuple(models.get(r[0], ())),
                       created_at=r[2], updated_at=r[3], last_status=r[5], turns=r[6])
        for r in rows
    ]


async def last_session_id(db: Database) -> str | None:
    """The session with the most recent activity (what `loco run --continue` continues)."""
    row = await db.fetchone("SELECT id FROM sessions ORDER BY updated_at DESC, id DESC LIMIT 1")
    return str(row[0]) if row else None


async def load_session(db: Database, session_id: str) -> Session:
    """A session as the orchestrator and the workbench know it: its turns, oldest first,
    with each turn's answer (a person's choice over the judge's) and its proposals."""
    _, full = await resolve(db, session_id, "session")
    head = await db.fetchone("SELECT title FROM sessions WHERE id = ?", (full,))
    runs = await runs_of(db, full)
    proposals: dict[str, dict[str, str]] = {}
    for run_id, member, text in await db.fetchall(
        "SELECT c.run_id, c.member, c.text FROM calls c JOIN runs r ON r.id = c.run_id "
        "WHERE r.session_id = ? AND c.outcome = 'ok' ORDER BY c.run_id, c.member, c.attempt",
        (full,)):
        if _PROPOSER.fullmatch(member) and text is not None:
            proposals.setdefault(run_id, {})[member] = text
    turns = [Turn(r.prompt, r.answer, r.answer_from, proposals.get(r.id, {}), r.id) for r in runs]
    return Session(id=full, title=head[0] if head else None, turns=turns)


async def runs_of(db: Database, session_id: str) -> list[RunRecord]:
    _, full = await resolve(db, session_id, "session")
    rows = await db.fetchall(
        f"SELECT {_RUN_COLUMNS} FROM runs WHERE session_id = ? ORDER BY started_at, num",
        (full,))
    return [_run_record(r) for r in rows]


def _run_record(r: Row) -> RunRecord:
    return RunRecord(
        id=r[0], session_id=r[1], turn=r[2], prompt=r[3], mode=r[4], target=r[5], status=r[6],
        started_at=r[7], finished_at=r[8], duration_s=r[9], answer=r[10], answer_from=r[11],
        message=r[12], eval_tag=r[13])


# -- runs --------------------------------------------------------------------------------
async def load_run(db: Database, run_id: str) -> RunDetail:
    """A run with its calls (every attempt), verdicts (judge and human) and parse results."""
    _, full = await resolve(db, run_id, "run")
    row = await db.fetchone(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (full,))
    if row is None:  # pragma: no cover - deleted between the two reads
        raise StoreError(f"no run with id {run_id!r}")
    calls = await db.fetchall(
        "SELECT member, attempt, role, model, provider, persona, tokens_in, tokens_out, "
        "ttft_s, tokens_per_s, gen_s, duration_s, outcome, category, message, finish_reason, "
        "text FROM calls WHERE run_id = ? ORDER BY started_t, member, attempt", (full,))
    verdicts = await db.fetchall(
        "SELECT by, winner, label, mode, confidence, reason, parsed_by, candidates, created_at, "
        "kind, via, confidence_source, judge_model, position_consistent, reversed_winner "
        "FROM verdicts WHERE run_id = ? ORDER BY id", (full,))
    parses = await db.fetchall(
        "SELECT member, attempt, kind, reason, tool_calls FROM parse_results WHERE run_id = ? "
        "ORDER BY member, attempt", (full,))
    return RunDetail(
        run=_run_record(row),
        calls=tuple(CallRecord(*c) for c in calls),
        verdicts=tuple(
            VerdictRecord(by=v[0], winner=v[1], label=v[2], mode=v[3], confidence=v[4],
                          reason=v[5], parsed_by=v[6], candidates=tuple(json.loads(v[7])),
                          created_at=v[8], kind=v[9] or "pick", via=v[10],
                          confidence_source=v[11], judge_model=v[12],
                          position_consistent=None if v[13] is None else bool(v[13]),
                          reversed_winner=v[14])
            for v in verdicts),
        parses=tuple(ParseRecord(p[0], p[1], p[2], p[3], tuple(json.loads(p[4])))
                     for p in parses),
    )


# -- edits -------------------------------------------------------------------------------
async def rename_session(db: Database, session_id: str, title: str) -> None:
    """Give a session a title of a person's choosing; later turns keep it."""
    _, full = await resolve(db, session_id, "session")
    async with db.transaction() as conn:
        await conn.execute("UPDATE sessions SET title = ?, title_edited = 1 WHERE id = ?",
                           (title.strip() or None, full))


async def delete_session(db: Database, session_id: str) -> None:
    """Delete a session with its runs, calls, events, verdicts and search entries."""
    _, full = await resolve(db, session_id, "session")
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM sessions WHERE id = ?", (full,))


VoteKind = Literal["pick", "tie", "all_bad"]
_VOTE_REASON = {"pick": "chosen by the user: continue with {member}",
                "tie": "the user rated the proposals a tie",
                "all_bad": "the user rated every proposal bad"}


async def record_vote(db: Database, run_id: str, kind: VoteKind, member: str | None = None,
                      phase: str | None = None) -> VerdictRecord:
    """A person's verdict on a run's proposals, stored beside the judge's; a new vote on the
    same proposals replaces the last one.

    - ``pick`` (keys 1-9, "continue with m2"): ``member`` is best; the run's answer becomes
      that proposal, so the next turn sees it (a workflow phase's member, ``plan/m2``, is
      recorded but leaves the run's answer, the last phase's output, alone);
    - ``tie`` (key ``=``): every proposal is as good as the others;
    - ``all_bad`` (key ``0``): none is good. The leaderboard is head-to-head, so this gives
      no pairwise outcome; ``loco stats`` counts it as a loss for every member, and the
      human board shows it per model.

    ``phase`` names the workflow phase whose proposals a tie or "all bad" is about (a pick
    says it by its member). Raises StoreError for a member without a finished proposal, or
    proposals that are not there."""
    _, full = await resolve(db, run_id, "run")
    if kind == "pick":
        if member is None:
            raise StoreError("a pick names the member chosen")
        prefix = member.rsplit("/", 1)[0] + "/" if "/" in member else ""
    else:
        prefix = f"{phase.strip('/')}/" if phase else ""
    row = None
    if kind == "pick":
        row = await db.fetchone(
            "SELECT text FROM calls WHERE run_id = ? AND member = ? AND outcome = 'ok' "
            "ORDER BY attempt DESC LIMIT 1", (full, member))
        if row is None or row[0] is None:
            raise StoreError(f"run {full} has no finished proposal by {member!r}")
    siblings = [m for (m,) in await db.fetchall(
        "SELECT DISTINCT member FROM calls WHERE run_id = ? AND outcome = 'ok' ORDER BY member",
        (full,))
        if m.startswith(prefix) and _PROPOSER.fullmatch(m[len(prefix):])]
    if kind == "pick":
        assert member is not None
        candidates = siblings if member in siblings else [member, *siblings]
    else:
        candidates = siblings
        if len(candidates) < 2:
            where = f" in phase {phase!r}" if phase else ""
            raise StoreError(f"run {full} has no proposals{where} to rate together")
    verdict = VerdictRecord(
        by="human", winner=member if kind == "pick" else None, label=None, mode="pick",
        confidence=None, reason=_VOTE_REASON[kind].format(member=member),
        parsed_by="human", candidates=tuple(candidates), created_at=time.time(), kind=kind)
    # What the vote means for the chosen member, and for every other one.
    chosen, others = {"pick": ("win", "loss"), "tie": ("tie", "tie"),
                      "all_bad": ("loss", "loss")}[kind]
    compared = await db.fetchall(
        "SELECT member, model, role, persona FROM calls c WHERE run_id = ? AND outcome = 'ok' "
        f"AND member IN ({','.join('?' * len(candidates))}) "
        "AND attempt = (SELECT max(attempt) FROM calls WHERE run_id = c.run_id "
        "AND member = c.member AND outcome = 'ok')", (full, *candidates))
    results = [(m, (model, persona, role, chosen if m == member else others))
               for m, model, role, persona in compared]
    async with db.transaction() as conn:
        for verdict_id, earlier in await conn.execute_fetchall(
                "SELECT id, candidates FROM verdicts WHERE run_id = ? AND by = 'human'",
                (full,)):
            shown = json.loads(earlier)
            if not shown or _prefix_of(shown[0]) == prefix:
                await conn.execute("DELETE FROM verdicts WHERE id = ?", (verdict_id,))
        cursor = await conn.execute(
            "INSERT INTO verdicts (run_id, by, winner, label, mode, confidence, reason, "
            "parsed_by, candidates, created_at, kind, outcome) "
            "VALUES (?, 'human', ?, NULL, 'pick', NULL, ?, ?, ?, ?, ?, ?)",
            (full, verdict.winner, verdict.reason, verdict.parsed_by, json.dumps(candidates),
             verdict.created_at, kind, outcome_json([r for _, r in results])))
        verdict_id = cursor.lastrowid
        await conn.executemany(
            "INSERT INTO verdict_members (verdict_id, member, model, role, persona, result) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(verdict_id, m, model, role, persona, result)
             for m, (model, persona, role, result) in results])
        if kind == "pick" and not prefix:
            assert row is not None
            await conn.execute("UPDATE runs SET answer = ?, answer_from = ? WHERE id = ?",
                               (row[0], member, full))
        await conn.execute(
            "UPDATE sessions SET updated_at = max(updated_at, ?) "
            "WHERE id = (SELECT session_id FROM runs WHERE id = ?)", (verdict.created_at, full))
    return verdict


def _prefix_of(member: str) -> str:
    return member.rsplit("/", 1)[0] + "/" if "/" in member else ""


async def record_human_verdict(db: Database, run_id: str, member: str) -> VerdictRecord:
    """A person chose ``member``'s proposal ("continue with m2"): ``record_vote`` of a pick."""
    return await record_vote(db, run_id, "pick", member)
