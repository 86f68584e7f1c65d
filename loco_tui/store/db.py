"""Opening and closing the database file, and the one error callers catch: StoreError.

Opening checks before it writes anything: a file that is not a database, a database that is
not Loco's, or one written by a newer Loco is refused with a ``StoreError`` and left
byte-for-byte as it was. Only then is the file switched to WAL, migrated forward, and the
runs left ``running`` by a process that no longer exists marked ``interrupted``.

Every connection has ``foreign_keys=ON`` (deleting a session cascades to its runs, calls,
events and verdicts) and a busy timeout (another Loco writing at the same moment makes us
wait a little, not fail).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, cast

import aiosqlite

from loco_tui.store.schema import LATEST, migrate, read_version

DB_NAME = "loco.db"
# Rows come back as plain tuples (sqlite3's default row factory).
Row = tuple[Any, ...]
DEFAULT_BUSY_TIMEOUT_S = 2.0


class StoreError(Exception):
    """The store cannot do what was asked: the file is corrupt, locked, newer than this
    Loco, the disk is full, or an id names nothing. The message is one line for people."""


def default_path() -> Path:
    """``data_dir()/loco.db``: ``$LOCO_HOME`` if set, else the user data dir."""
    from loco_tui.registry.discover import data_dir

    return data_dir() / DB_NAME


def describe(exc: BaseException) -> str:
    """A sqlite error as people read it (sqlite's own words are terse)."""
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError):
        if "locked" in text or "busy" in text:
            return "the database is locked by another program"
        if "not a database" in text or "malformed" in text:
            return "the file is not a Loco database or is damaged"
        if "disk is full" in text or "database or disk is full" in text:
            return "the disk is full"
        if "readonly" in text or "unable to open" in text:
            return f"cannot write the database ({text})"
    return text or type(exc).__name__


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process there
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    except OSError:
        return False
    return True


def _create_private(path: Path) -> None:
    """Create a missing database file readable by its owner only: it holds every prompt
    and answer. SQLite gives the WAL and shared-memory files the same permissions."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _prepare_file(path: Path, busy_timeout_s: float) -> None:
    """Check, migrate and tidy the file with a short-lived connection (run in a thread)."""
    _create_private(path)
    conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    try:
        version = read_version(conn)
        if version is None:
            raise StoreError(
                f"{path} is not a Loco database (it has tables but no schema_version); "
                "not touching it")
        if version > LATEST:
            raise StoreError(
                f"{path} was written by a newer Loco (schema {version}, this Loco knows "
                f"{LATEST}); not touching it")
        # WAL: readers (`loco history` in another terminal) never block the recorder.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        if version < LATEST:
            migrate(conn, version)
        _mark_interrupted(conn)
    finally:
        conn.close()


def _mark_interrupted(conn: sqlite3.Connection) -> None:
    """Runs left ``running`` by a process that is gone were cut short by a crash or a kill.
    Their open calls keep the text streamed so far (rebuilt from the stored deltas)."""
    rows = conn.execute("SELECT id, pid FROM runs WHERE status = 'running'").fetchall()
    dead = [run_id for run_id, pid in rows if pid is None or not _pid_alive(int(pid))]
    if not dead:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for run_id in dead:
            texts = streamed_text(conn.execute(
                "SELECT body FROM events WHERE run_id = ? AND type = 'deltas' ORDER BY seq",
                (run_id,)))
            for member, text in texts.items():
                conn.execute(
                    "UPDATE calls SET text = ? WHERE run_id = ? AND member = ? "
                    "AND outcome IS NULL AND attempt = (SELECT max(attempt) FROM calls "
                    "WHERE run_id = ? AND member = ?)",
                    (text, run_id, member, run_id, member))
            conn.execute("UPDATE calls SET outcome = 'interrupted' "
                         "WHERE run_id = ? AND outcome IS NULL", (run_id,))
            conn.execute("UPDATE runs SET status = 'interrupted' WHERE id = ?", (run_id,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def streamed_text(bodies: Iterable[tuple[str]]) -> dict[str, str]:
    """Member -> the answer text of its latest attempt, from packed ``deltas`` rows."""
    pieces: dict[str, list[str]] = {}
    for (body,) in bodies:
        for member, _t, text, channel in json.loads(body):
            if channel == "answer":
                pieces.setdefault(member, []).append(text)
    return {member: "".join(parts) for member, parts in pieces.items()}


class Database:
    """One aiosqlite connection, with reads that raise StoreError and write transactions
    that never interleave (the recorder and a rename share the connection)."""

    def __init__(self, path: Path, conn: aiosqlite.Connection) -> None:
        self.path = path
        self.conn = conn
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *,
                   busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Database:
        path = Path(path).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(_prepare_file, path, busy_timeout_s)
            conn = await aiosqlite.connect(path, timeout=busy_timeout_s, isolation_level=None)
        except StoreError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open {path}: {describe(exc)}") from exc
        try:
            await conn.execute("PRAGMA foreign_keys=ON")
            # WAL + NORMAL survives a killed process (not a power cut) and syncs far less.
            await conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            await conn.close()
            raise StoreError(f"cannot open {path}: {describe(exc)}") from exc
        return cls(path, conn)

    async def close(self) -> None:
        with suppress(sqlite3.Error, ValueError):
            await self.conn.close()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return cast(list[Row], list(await self.conn.execute_fetchall(sql, params)))
        except (sqlite3.Error, ValueError) as exc:
            raise StoreError(f"cannot read {self.path}: {describe(exc)}") from exc

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error. sqlite errors come
        out as StoreError."""
        async with self._write_lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                    await self.conn.execute("COMMIT")
                except BaseException:
                    if self.conn.in_transaction:
                        with suppress(sqlite3.Error, ValueError):
                            await self.conn.execute("ROLLBACK")
                    raise
            except (sqlite3.Error, ValueError) as exc:
                raise StoreError(f"cannot write {self.path}: {describe(exc)}") from exc
