"""Opening the database file: created from nothing, migrated from an older schema, refused
when newer, corrupt, someone else's or locked (and then left exactly as it was)."""

from __future__ import annotations

import sqlite3
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from loco_tui.orchestrator import RunRequest
from loco_tui.store import Store, StoreError, Tally
from loco_tui.store.schema import LATEST, MIGRATIONS, migrate
from tests.common import registry_for
from tests.store.common import REGISTRY, record, script

V1_TABLES = ("sessions", "runs", "calls", "events", "parse_results")


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT version FROM schema_version").fetchone()[0])


async def test_an_empty_file_gets_the_latest_schema_in_wal_mode(db_path):
    db_path.touch()  # zero bytes: a valid, empty database
    store = await Store.open(db_path)
    await store.aclose()
    assert version(db_path) == LATEST == len(MIGRATIONS) == 4
    assert {*V1_TABLES, "verdicts", "runs_fts", "schema_version"} <= tables(db_path)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_missing_file_and_its_folder_are_created(tmp_path):
    path = tmp_path / "deep" / "er" / "loco.db"
    async with await Store.open(path) as store:
        assert await store.sessions() == []
    assert version(path) == LATEST


async def test_an_older_schema_migrates_forward_keeping_its_runs(ollama_server, tmp_path):
    # A real run recorded by this Loco, then copied into a file at schema version 1 (what a
    # Loco from before verdicts and search wrote: the same core tables).
    server = ollama_server(script())
    source = tmp_path / "source.db"
    async with await Store.open(source) as store:
        recorded = await record(store, registry_for(server.url, REGISTRY),
                                RunRequest("dedupe a list of emails", ensemble="trio"))
        await store.record_human_verdict(recorded.run_id, "m3")
        original = await store.run(recorded.run_id)
        original_stats = await store.stats()
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old, isolation_level=None)
    migrate(conn, 0, target=1)
    conn.execute("ATTACH DATABASE ? AS src", (str(source),))
    for table in V1_TABLES:
        conn.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
    conn.execute("DETACH DATABASE src")
    conn.close()
    assert version(old) == 1 and "verdicts" not in tables(old)

    async with await Store.open(old) as store:
        assert version(old) == LATEST
        migrated = await store.run(recorded.run_id)
        # A human verdict lived only in the verdicts table: v1 never had it.
        assert [v.by for v in original.verdicts] == ["judge", "human"]
        original = replace(original, verdicts=original.verdicts[:1])
        # Verdicts are rebuilt from the stored events, with the members the judge compared.
        assert [(v.by, v.winner, v.label, v.mode, v.confidence, v.reason, v.parsed_by,
                 sorted(v.candidates)) for v in migrated.verdicts] == \
               [(v.by, v.winner, v.label, v.mode, v.confidence, v.reason, v.parsed_by,
                 sorted(v.candidates)) for v in original.verdicts]
        assert sorted(migrated.verdicts[0].candidates) == ["m1", "m2", "m3"]
        assert migrated.verdicts[0].created_at == pytest.approx(
            original.verdicts[0].created_at, abs=1e-3)
        # Search covers the runs that were there before it existed.
        found = await store.sessions(search="emails")
        assert [s.id for s in found] == [original.run.session_id]
        assert await store.events(recorded.run_id) == recorded.events
        # The leaderboard reads the same, judge verdicts included (human ones were not kept).
        assert [replace(s, human=Tally()) for s in await store.stats()] == [
            replace(s, human=Tally()) for s in original_stats]
        assert any(s.judge != Tally() for s in original_stats)


async def test_a_newer_schema_is_refused_and_never_rewritten(db_path):
    async with await Store.open(db_path):
        pass
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE schema_version SET version = ?", (LATEST + 3,))
    before = db_path.read_bytes()
    with pytest.raises(StoreError) as caught:
        await Store.open(db_path)
    assert str(caught.value) == (
        f"{db_path} was written by a newer Loco (schema {LATEST + 3}, this Loco knows "
        f"{LATEST}); not touching it")
    assert db_path.read_bytes() == before


async def test_a_file_that_is_not_a_database_gives_one_store_error(db_path):
    garbage = b"this is a text file, not SQLite\n" * 200
    db_path.write_bytes(garbage)
    with pytest.raises(StoreError, match="not a Loco database or is damaged"):
        await Store.open(db_path)
    assert db_path.read_bytes() == garbage


async def test_another_programs_database_is_refused_and_left_alone(db_path):
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('mine')")
    before = db_path.read_bytes()
    with pytest.raises(StoreError, match="is not a Loco database"):
        await Store.open(db_path)
    assert db_path.read_bytes() == before


async def test_a_locked_database_gives_one_store_error(db_path):
    async with await Store.open(db_path):
        pass
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked by another program"):
            await Store.open(db_path, busy_timeout_s=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    async with await Store.open(db_path) as store:  # usable once the lock is gone
        assert await store.sessions() == []


async def test_a_new_database_is_readable_by_its_owner_only(ollama_server, db_path):
    server = ollama_server(script())
    async with await Store.open(db_path) as store:
        await record(store, registry_for(server.url, REGISTRY), RunRequest("x", role="coder"))
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in db_path.parent.glob("loco.db*")}
    assert modes["loco.db"] == 0o600 and modes["loco.db-wal"] == 0o600
