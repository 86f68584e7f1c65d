"""The recorder: an event sink that writes every run to the store in batches.

``recorder(event)`` is what the controller calls for each event, on the event loop: it only
appends to a buffer, so it costs about as much as a list append and never blocks. One
background task turns the buffer into rows and writes them in one transaction: when a run
finishes, and otherwise every ``interval_s`` while events keep coming, so a killed process
loses at most that much of what was streamed. Never a transaction per token.

Deltas are packed: consecutive deltas of a run become one ``events`` row of type ``deltas``
whose body is a JSON list of ``[member, t, text, channel]``; reading them back gives the same
events, in the same order, with the same ``t``.

A storage problem (disk full, the file locked for too long, the connection closed) never
reaches the caller: the recorder rolls back that batch, logs once, turns itself off and keeps
the error in ``error`` so the UI can say "history off". What was committed stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
from pydantic_core import PydanticSerializationError

from loco_tui.events import (
    Delta,
    Event,
    JudgeStarted,
    MemberFailed,
    MemberFinished,
    MemberStarted,
    Parse,
    Route,
    RunFinished,
    RunStarted,
    Verdict,
)
from loco_tui.store.db import Database, StoreError, describe
from loco_tui.store.records import MemberResult, outcome_json

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 0.5
TITLE_CHARS = 80

# SQLite stores UTF-8: a lone surrogate (which a broken stream can produce) cannot be bound.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: str | None) -> str | None:
    if value is None or _SURROGATE.search(value) is None:
        return value
    return _SURROGATE.sub("\ufffd", value)


def _dumps(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if _SURROGATE.search(text) is not None:
        # Escaped, the surrogate survives the round trip: replay stays exact.
        text = json.dumps(value, separators=(",", ":"))
    return text


def _event_body(event: Event) -> str:
    try:
        return event.to_json()
    except PydanticSerializationError:  # lone surrogates: let json escape them
        return _dumps(event.model_dump(mode="json"))


def session_title(prompt: str) -> str:
    """The first non-empty line of the prompt, cut to fit a list row."""
    line = next((ln.strip() for ln in prompt.splitlines() if ln.strip()), "")
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


@dataclass
class _RunState:
    """What the recorder remembers of a run between batches."""

    started_at: float
    seq: int = 0
    attempts: dict[str, int] = field(default_factory=dict)
    open_calls: set[str] = field(default_factory=set)
    # Member -> (model, role, persona) of its latest attempt, and the members that finished
    # well.
    models: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)
    succeeded: set[str] = field(default_factory=set)
    # Answer text streamed by each member's current attempt (kept for a failed call).
    partial: dict[str, list[str]] = field(default_factory=dict)
    # Tool calls found so far in each member's current attempt.
    tool_calls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # The members the pending judgement compares (from judge_started).
    candidates: list[str] | None = None
    # The deltas row being filled: its seq and its items.
    pack_seq: int = 0
    pack: list[list[Any]] | None = None
    finished: bool = False

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


_UPSERT_SESSION = (
    "INSERT INTO sessions (id, title, created_at, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET updated_at = max(updated_at, excluded.updated_at)")
_INSERT_RUN = (
    "INSERT INTO runs (id, session_id, turn, prompt, mode, target, status, started_at, pid) "
    "VALUES (?, ?, coalesce(?, (SELECT count(*) FROM runs WHERE session_id = ?)), ?, ?, ?, "
    "'running', ?, ?)")
_INSERT_CALL = (
    "INSERT INTO calls (run_id, member, attempt, role, model, provider, persona, started_t) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_FINISH_CALL = (
    "INSERT INTO calls (run_id, member, attempt, model, outcome, tokens_in, tokens_out, ttft_s,"
    " tokens_per_s, gen_s, duration_s, finish_reason, text, finished_t) "
    "VALUES (?, ?, ?, ?, 'ok', ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, member, attempt) DO UPDATE SET outcome = 'ok', "
    "tokens_in = excluded.tokens_in, tokens_out = excluded.tokens_out, "
    "ttft_s = excluded.ttft_s, tokens_per_s = excluded.tokens_per_s, gen_s = excluded.gen_s, "
    "duration_s = excluded.duration_s, finish_reason = excluded.finish_reason, "
    "text = excluded.text, finished_t = excluded.finished_t")
_FAIL_CALL = (
    "UPDATE calls SET outcome = ?, category = ?, message = ?, text = ?, finished_t = ? "
    "WHERE run_id = ? AND member = ? AND attempt = ?")
_UPSERT_PARSE = (
    "INSERT INTO parse_results (run_id, member, attempt, kind, reason, tool_calls) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, member, attempt) DO UPDATE SET "
    "kind = excluded.kind, reason = excluded.reason, tool_calls = excluded.tool_calls")
_INSERT_VERDICT = (
    "INSERT INTO verdicts (run_id, by, winner, label, mode, confidence, reason, parsed_by, "
    "candidates, created_at, kind, via, confidence_source, judge_model, position_consistent, "
    "reversed_winner, outcome) VALUES (?, 'judge', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?)")
_INSERT_VERDICT_MEMBER = (
    "INSERT INTO verdict_members (verdict_id, member, model, role, persona, result) "
    "VALUES ((SELECT max(id) FROM verdicts WHERE run_id = ?), ?, ?, ?, ?, ?)")
_FINISH_RUN = (
    "UPDATE runs SET status = ?, finished_at = ?, duration_s = ?, answer = ?, "
    "answer_from = ?, message = ? WHERE id = ?")
_TOUCH_SESSION = (
    "UPDATE sessions SET updated_at = max(updated_at, ?) "
    "WHERE id = (SELECT session_id FROM runs WHERE id = ?)")
_INSERT_EVENT = "INSERT INTO events (run_id, seq, t, type, body) VALUES (?, ?, ?, ?, ?)"


class _Batch:
    """Row operations in the order the events asked for them; event rows go last (they
    refer to their run, which may be inserted by this same batch)."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, tuple[Any, ...]]] = []
        self.events: list[tuple[Any, ...]] = []

    def op(self, sql: str, *params: Any) -> None:
        self.ops.append((sql, params))

    def grouped(self) -> Iterable[tuple[str, list[tuple[Any, ...]]]]:
        """Consecutive operations with the same SQL, as one executemany each."""
        sql: str | None = None
        rows: list[tuple[Any, ...]] = []
        for op_sql, params in self.ops:
            if op_sql != sql and sql is not None:
                yield sql, rows
                rows = []
            sql = op_sql
            rows.append(params)
        if sql is not None:
            yield sql, rows
        if self.events:
            yield _INSERT_EVENT, self.events


class Recorder:
    """A synchronous event sink that records runs into ``database`` (see module docs).

    Call ``await flush()`` when a run ends if its rows must be readable at once (the
    recorder also flushes by itself at ``run_finished``), and ``await aclose()`` before
    closing the store.
    """

    def __init__(self, database: Database, *, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.database = database
        self.interval_s = interval_s
        # Set after the first storage problem; the recorder then ignores every event.
        self.error: StoreError | None = None
        self._pending: list[Event] = []
        self._runs: dict[str, _RunState] = {}
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._pid = os.getpid()

    @property
    def enabled(self) -> bool:
        return self.error is None and not self._closed

    # -- the sink ------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        if self.error is not None or self._closed:
            return
        if not self._pending:
            self._wake.set()
        self._pending.append(event)
        kind = event.type
        if kind == "run_started":
            # Wall-clock start of the run, taken when its first event arrives.
            self._runs[event.run_id] = _RunState(started_at=time.time() - event.t)
        elif kind == "run_finished":
            self._urgent.set()
        if self._task is None:
            try:
                self._task = asyncio.get_running_loop().create_task(
                    self._loop(), name="loco-recorder")
            except RuntimeError as exc:  # no loop: nothing can write; say so once
                self._disable(StoreError(f"the recorder needs a running event loop ({exc})"))

    # -- writing -------------------------------------------------------------------------
    async def flush(self) -> None:
        """Write everything received so far. Never raises."""
        async with self._lock:
            await self._write_pending()

    async def aclose(self) -> None:
        """Write everything received so far and stop the background task; events that
        arrive later are ignored. Never raises."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            # Let the writer finish its batch (cancelling it mid-transaction would lose it).
            self._wake.set()
            self._urgent.set()
            await self._task
            self._task = None
        await self.flush()

    async def _loop(self) -> None:
        while self.error is None and not self._closed:
            await self._wake.wait()
            # Batch for up to interval_s, or less when a run just finished.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._urgent.wait(), self.interval_s)
            self._wake.clear()
            self._urgent.clear()
            async with self._lock:
                await self._write_pending()

    async def _write_pending(self) -> None:
        if not self._pending or self.error is not None:
            return
        events, self._pending = self._pending, []
        try:
            batch = self._translate(events)
            async with self.database.transaction() as conn:
                await _execute(conn, batch)
        except StoreError as exc:
            self._disable(exc)
        except Exception as exc:  # a bug must not take the run down either
            log.exception("recording failed")
            self._disable(StoreError(f"recording failed: {describe(exc)}"))
        finally:
            for run_id in [rid for rid, st in self._runs.items() if st.finished]:
                del self._runs[run_id]

    def _disable(self, error: StoreError) -> None:
        if self.error is None:
            self.error = error
            log.warning("history is off: %s", error)
        self._pending = []
        self._runs.clear()

    # -- events -> rows ------------------------------------------------------------------
    def _translate(self, events: list[Event]) -> _Batch:
        batch = _Batch()
        runs = self._runs
        for event in events:
            state = runs.get(event.run_id)
            if state is None or state.finished:
                continue  # a run whose start this recorder did not see
            if type(event) is Delta:  # most events: kept inline, this loop is the hot path
                if state.pack is None:
                    state.pack_seq = state.next_seq()
                    state.pack = []
                state.pack.append([event.member, event.t, event.text, event.channel])
                if event.channel == "answer":
                    partial = state.partial.get(event.member)
                    if partial is None:
                        state.partial[event.member] = [event.text]
                    else:
                        partial.append(event.text)
                continue
            self._close_pack(batch, event.run_id, state)
            self._record(batch, state, event)
            batch.events.append(
                (event.run_id, state.next_seq(), event.t, event.type, _event_body(event)))
        for run_id, state in self._runs.items():
            self._close_pack(batch, run_id, state)
        return batch

    @staticmethod
    def _close_pack(batch: _Batch, run_id: str, state: _RunState) -> None:
        if state.pack:
            batch.events.append(
                (run_id, state.pack_seq, state.pack[0][1], "deltas", _dumps(state.pack)))
        state.pack = None

    def _record(self, batch: _Batch, state: _RunState, event: Event) -> None:
        run_id = event.run_id
        match event:
            case RunStarted():
                session = event.session or f"s{run_id}"  # a one-off run is its own session
                prompt = _text(event.prompt) or ""
                batch.op(_UPSERT_SESSION, session, session_title(prompt), state.started_at,
                         state.started_at)
                batch.op(_INSERT_RUN, run_id, session, event.turn, session, prompt,
                         event.mode, event.target, state.started_at, self._pid)
            case MemberStarted():
                attempt = event.attempt
                if state.attempts.get(event.member, 0) >= attempt:
                    attempt = state.attempts[event.member] + 1  # never overwrite a call
                state.attempts[event.member] = attempt
                state.open_calls.add(event.member)
                state.models[event.member] = (event.model, event.role, event.persona)
                state.succeeded.discard(event.member)
                state.partial.pop(event.member, None)
                state.tool_calls.pop(event.member, None)
                batch.op(_INSERT_CALL, run_id, event.member, attempt, event.role, event.model,
                         event.provider, event.persona, event.t)
            case Route(member=str() as member, category=category) if category is not None:
                # The member's attempt failed and the next model of its chain takes over.
                self._fail_call(batch, state, run_id, member, "failed", str(category),
                                event.reason, event.t)
            case MemberFinished():
                attempt = state.attempts.setdefault(event.member, 1)
                state.open_calls.discard(event.member)
                state.succeeded.add(event.member)
                state.models.setdefault(event.member, (event.model, None, None))
                state.partial.pop(event.member, None)
                s = event.stats
                batch.op(_FINISH_CALL, run_id, event.member, attempt, event.model,
                         s.tokens_in, s.tokens_out, s.ttft_s, s.tokens_per_s, s.gen_s,
                         s.duration_s, event.finish_reason, _text(event.text), event.t)
            case MemberFailed():
                outcome = "cancelled" if event.category == "cancelled" else "failed"
                self._fail_call(batch, state, run_id, event.member, outcome,
                                str(event.category), event.message, event.t)
            case Parse():
                self._parse(batch, state, event)
            case JudgeStarted(order="shuffled"):
                # A debiased judge's reversed pass shows the same members again.
                state.candidates = list(event.labels.values())
            case Verdict():
                self._verdict(batch, state, event)
            case RunFinished():
                state.finished = True
                finished_at = state.started_at + event.t
                batch.op(_FINISH_RUN, event.status, finished_at, event.t, _text(event.answer),
                         event.answer_from, _text(event.message), run_id)
                batch.op(_TOUCH_SESSION, finished_at, run_id)
            case _:
                pass  # kept in the event stream only (phases, routes, trims)

    @staticmethod
    def _fail_call(batch: _Batch, state: _RunState, run_id: str, member: str, outcome: str,
                   category: str, message: str, t: float) -> None:
        if member not in state.open_calls:
            return  # no call started (e.g. nothing configured for the member)
        state.open_calls.discard(member)
        partial = "".join(state.partial.pop(member, [])) or None
        batch.op(_FAIL_CALL, outcome, category, _text(message), _text(partial), t, run_id,
                 member, state.attempts[member])

    @staticmethod
    def _verdict(batch: _Batch, state: _RunState, event: Verdict) -> None:
        candidates = state.candidates
        if candidates is None:  # no judge compared anything (a single survivor)
            candidates = [event.winner] if event.winner else []
        state.candidates = None
        consistent = event.position_consistent
        # A position-inconsistent judge picked two members, one per order: both "win", which
        # the leaderboard scores as a tie between them, each ahead of the rest.
        picked = {event.winner}
        if consistent is False and event.reversed_winner:
            picked.add(event.reversed_winner)
        members: list[tuple[str, MemberResult]] = []
        for member in candidates:
            if member not in state.succeeded:
                continue
            model, role, persona = state.models[member]
            result = ("tie" if event.mode == "synthesize"
                      else "win" if member in picked else "loss")
            members.append((member, (model, persona, role, result)))
        batch.op(_INSERT_VERDICT, event.run_id, event.winner, event.label, event.mode,
                 event.confidence, _text(event.reason), event.parsed_by,
                 json.dumps(candidates), state.started_at + event.t,
                 "synthesis" if event.mode == "synthesize" else "pick", event.via,
                 event.confidence_source, event.judge_model,
                 None if consistent is None else int(consistent), event.reversed_winner,
                 outcome_json([r for _, r in members]))
        for member, (model, persona, role, result) in members:
            batch.op(_INSERT_VERDICT_MEMBER, event.run_id, member, model, role, persona,
                     result)

    @staticmethod
    def _parse(batch: _Batch, state: _RunState, event: Parse) -> None:
        found = state.tool_calls.setdefault(event.member, [])
        detail = event.detail
        if event.kind == "call":
            found.append({"name": detail.get("name"), "arguments": detail.get("arguments"),
                          "format": detail.get("format")})
        elif event.kind == "retract":
            found.clear()
        elif event.kind == "classification":
            batch.op(_UPSERT_PARSE, event.run_id, event.member,
                     state.attempts.get(event.member, 1), detail.get("kind"),
                     detail.get("reason"), _dumps(found))
            state.tool_calls.pop(event.member, None)


async def _execute(conn: aiosqlite.Connection, batch: _Batch) -> None:
    for sql, rows in batch.grouped():
        if len(rows) == 1:
            await conn.execute(sql, rows[0])
        else:
            await conn.executemany(sql, rows)
