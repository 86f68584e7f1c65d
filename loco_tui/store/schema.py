"""The database schema as an ordered list of forward migrations.

``MIGRATIONS[i]`` turns a schema of version ``i`` into version ``i + 1``; an empty file is
version 0, so opening it applies them all. Each migration runs in its own transaction
together with the bump of ``schema_version``: a failed migration leaves the file as it was.
A migration, once shipped, is never edited; a change is a new entry at the end.

Version 1 holds the core of every run: sessions, runs, calls (one row per model attempt),
the event stream and parse results. Version 2 adds verdicts (backfilled from the stored
``verdict`` events, with the members the judge compared) and FTS5 over prompts and answers.
Version 3 adds what the leaderboard and the judge's audit need: the kind of a verdict (a
person's tie and "all bad" votes), how the judge was read, which model judged, its position
consistency, and the persona of every member compared. Version 4 keeps each verdict's
outcome for its members in one column the leaderboard can group by.

Times are Unix seconds (REAL). Unknown figures are NULL, never 0.
"""

from __future__ import annotations

import sqlite3

V1_CORE = """
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    title        TEXT,
    -- 1 once a person renamed it: later turns never retitle it.
    title_edited INTEGER NOT NULL DEFAULT 0,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE INDEX sessions_by_update ON sessions (updated_at);

CREATE TABLE runs (
    -- An explicit rowid: the FTS index refers to it, and VACUUM may renumber implicit ones.
    num          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    session_id   TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    turn         INTEGER NOT NULL,
    prompt       TEXT NOT NULL,
    mode         TEXT NOT NULL,
    target       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN
                   ('running', 'ok', 'partial', 'failed', 'cancelled', 'interrupted')),
    started_at   REAL NOT NULL,
    finished_at  REAL,
    duration_s   REAL,
    answer       TEXT,
    answer_from  TEXT,
    message      TEXT,
    -- Free for a later eval feature (which benchmark item this run answered).
    eval_tag     TEXT,
    -- The recording process: a run left 'running' by a dead process is interrupted.
    pid          INTEGER
);
CREATE INDEX runs_by_session ON runs (session_id, started_at);
-- Covers `--since`: the ids of the runs in a time range without reading their rows.
CREATE INDEX runs_by_start ON runs (started_at, id);
CREATE INDEX runs_running ON runs (status) WHERE status = 'running';

CREATE TABLE calls (
    run_id        TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    member        TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    role          TEXT,
    model         TEXT NOT NULL,
    provider      TEXT,
    persona       TEXT,
    tokens_in     INTEGER,
    tokens_out    INTEGER,
    ttft_s        REAL,
    tokens_per_s  REAL,
    gen_s         REAL,
    duration_s    REAL,
    -- NULL while the call streams.
    outcome       TEXT CHECK (outcome IN ('ok', 'failed', 'cancelled', 'interrupted')),
    category      TEXT,
    message       TEXT,
    finish_reason TEXT,
    text          TEXT,
    started_t     REAL,
    finished_t    REAL,
    PRIMARY KEY (run_id, member, attempt)
);
-- Covers `loco stats`: the figures are read from the index, never from rows that hold text.
CREATE INDEX calls_for_stats ON calls
    (model, role, outcome, category, duration_s, ttft_s, tokens_per_s, run_id);

CREATE TABLE events (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    t      REAL NOT NULL,
    -- An event type, or 'deltas': consecutive deltas of the run packed as a JSON list of
    -- [member, t, text, channel].
    type   TEXT NOT NULL,
    body   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE parse_results (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    member     TEXT NOT NULL,
    attempt    INTEGER NOT NULL,
    kind       TEXT,
    reason     TEXT,
    -- JSON list of {name, arguments, format}.
    tool_calls TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (run_id, member, attempt)
);
"""

V2_VERDICTS_AND_SEARCH = """
CREATE TABLE verdicts (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    by          TEXT NOT NULL CHECK (by IN ('judge', 'human')),
    winner      TEXT,
    label       TEXT,
    mode        TEXT NOT NULL CHECK (mode IN ('pick', 'synthesize')),
    confidence  REAL,
    reason      TEXT NOT NULL DEFAULT '',
    parsed_by   TEXT,
    -- JSON list of the member ids that were compared (the judge's labels, or the
    -- proposals a person chose among): every one but the winner lost.
    candidates  TEXT NOT NULL DEFAULT '[]',
    created_at  REAL NOT NULL
);
CREATE INDEX verdicts_by_run ON verdicts (run_id);

-- What each verdict meant for each member compared, with the model and role that member
-- ran on: `loco stats` counts wins and losses from here without touching the calls.
CREATE TABLE verdict_members (
    verdict_id  INTEGER NOT NULL REFERENCES verdicts (id) ON DELETE CASCADE,
    member      TEXT NOT NULL,
    model       TEXT NOT NULL,
    role        TEXT,
    result      TEXT NOT NULL CHECK (result IN ('win', 'loss', 'tie')),
    PRIMARY KEY (verdict_id, member)
) WITHOUT ROWID;
CREATE INDEX verdict_members_by_model ON verdict_members (model, role);

-- Judge verdicts recorded before this table existed live in the event stream. The members
-- compared are the labels of the judge_started that opened that judgement.
INSERT INTO verdicts (run_id, by, winner, label, mode, confidence, reason, parsed_by,
                      candidates, created_at)
SELECT e.run_id, 'judge',
       json_extract(e.body, '$.winner'), json_extract(e.body, '$.label'),
       json_extract(e.body, '$.mode'), json_extract(e.body, '$.confidence'),
       coalesce(json_extract(e.body, '$.reason'), ''), json_extract(e.body, '$.parsed_by'),
       coalesce(
         (SELECT json_group_array(l.value)
            FROM events j, json_each(json_extract(j.body, '$.labels')) l
           WHERE j.run_id = e.run_id AND j.type = 'judge_started'
             AND j.seq = (SELECT max(j2.seq) FROM events j2
                           WHERE j2.run_id = e.run_id AND j2.type = 'judge_started'
                             AND j2.seq < e.seq
                             AND NOT EXISTS (SELECT 1 FROM events v2
                                              WHERE v2.run_id = e.run_id
                                                AND v2.type = 'verdict'
                                                AND v2.seq > j2.seq AND v2.seq < e.seq))),
         CASE WHEN json_extract(e.body, '$.winner') IS NULL THEN '[]'
              ELSE json_array(json_extract(e.body, '$.winner')) END),
       r.started_at + e.t
  FROM events e JOIN runs r ON r.id = e.run_id
 WHERE e.type = 'verdict'
 ORDER BY e.run_id, e.seq;

INSERT INTO verdict_members (verdict_id, member, model, role, result)
SELECT v.id, j.value, c.model, c.role,
       CASE WHEN v.mode = 'synthesize' THEN 'tie'
            WHEN j.value = v.winner THEN 'win' ELSE 'loss' END
  FROM verdicts v, json_each(v.candidates) j
  JOIN calls c ON c.run_id = v.run_id AND c.member = j.value AND c.outcome = 'ok';

CREATE VIRTUAL TABLE runs_fts USING fts5 (
    prompt, answer,
    content = 'runs', content_rowid = 'num',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE TRIGGER runs_fts_insert AFTER INSERT ON runs BEGIN
    INSERT INTO runs_fts (rowid, prompt, answer) VALUES (new.num, new.prompt, new.answer);
END;
-- Fires for cascaded deletes too (deleting a session).
CREATE TRIGGER runs_fts_delete AFTER DELETE ON runs BEGIN
    INSERT INTO runs_fts (runs_fts, rowid, prompt, answer)
    VALUES ('delete', old.num, old.prompt, old.answer);
END;
-- A human verdict changes an answer.
CREATE TRIGGER runs_fts_update AFTER UPDATE OF prompt, answer ON runs BEGIN
    INSERT INTO runs_fts (runs_fts, rowid, prompt, answer)
    VALUES ('delete', old.num, old.prompt, old.answer);
    INSERT INTO runs_fts (rowid, prompt, answer) VALUES (new.num, new.prompt, new.answer);
END;
INSERT INTO runs_fts (runs_fts) VALUES ('rebuild');
"""

V3_VOTES_AND_JUDGES = """
-- What a verdict says: a pick of one member, a tie of all compared (a person's `=`), all bad
-- (a person's `0`: no winner), or a judge's synthesis. The leaderboard reads picks and ties.
ALTER TABLE verdicts ADD COLUMN kind TEXT
    CHECK (kind IN ('pick', 'tie', 'all_bad', 'synthesis'));
-- How the judge was read and how sure it was: 'schema' | 'text', 'logprob' | 'stated'.
ALTER TABLE verdicts ADD COLUMN via TEXT;
ALTER TABLE verdicts ADD COLUMN confidence_source TEXT;
-- The registry id of the model that judged: reliability is counted per judge model.
ALTER TABLE verdicts ADD COLUMN judge_model TEXT;
-- Debiased judging: 1 when the pass with the order reversed picked the same member, 0 when
-- it did not (a position inconsistency, and then reversed_winner is its pick), NULL unknown.
ALTER TABLE verdicts ADD COLUMN position_consistent INTEGER;
ALTER TABLE verdicts ADD COLUMN reversed_winner TEXT;
-- Players can be (model, persona).
ALTER TABLE verdict_members ADD COLUMN persona TEXT;

UPDATE verdicts SET kind = CASE WHEN mode = 'synthesize' THEN 'synthesis' ELSE 'pick' END;
UPDATE verdicts SET judge_model = (
    SELECT c.model FROM calls c
     WHERE c.run_id = verdicts.run_id AND c.outcome = 'ok'
       AND (c.member = 'judge' OR c.member LIKE '%/judge')
     ORDER BY c.finished_t DESC LIMIT 1)
 WHERE by = 'judge' AND label IS NOT NULL;
UPDATE verdict_members SET persona = (
    SELECT c.persona FROM calls c JOIN verdicts v ON v.id = verdict_members.verdict_id
     WHERE c.run_id = v.run_id AND c.member = verdict_members.member AND c.outcome = 'ok'
     ORDER BY c.attempt DESC LIMIT 1);
-- A person's new vote replaces their last one on the same proposals (a run, or one phase of
-- a workflow): earlier Locos kept every vote and counted the last.
DELETE FROM verdicts
 WHERE by = 'human' AND EXISTS (
    SELECT 1 FROM verdicts h
     WHERE h.run_id = verdicts.run_id AND h.by = 'human' AND h.id > verdicts.id
       AND substr(h.winner, 1, instr(h.winner, '/'))
           = substr(verdicts.winner, 1, instr(verdicts.winner, '/')));

-- The leaderboard reads a board's verdicts by kind; their members are clustered by verdict.
CREATE INDEX verdicts_for_board ON verdicts (by, kind, label, run_id);
"""

V4_OUTCOME_PATTERNS = """
-- Every member a verdict compared, with what it meant for it, as one JSON array of
-- [model, persona, role, result], sorted: the leaderboard groups 100,000 verdicts by this
-- column in an index (a few hundred distinct patterns) instead of joining their members.
ALTER TABLE verdicts ADD COLUMN outcome TEXT NOT NULL DEFAULT '[]';
UPDATE verdicts SET outcome = (
    SELECT json_group_array(json_array(model, persona, role, result))
      FROM (SELECT model, persona, role, result FROM verdict_members
             WHERE verdict_id = verdicts.id ORDER BY 1, 2, 3, 4));
DROP INDEX verdicts_for_board;
CREATE INDEX verdicts_outcomes ON verdicts (by, outcome, kind, label, run_id);
-- Covers the judges' audit: per judge model, how its verdicts were read.
CREATE INDEX verdicts_by_judge ON verdicts
    (by, judge_model, kind, label, via, confidence_source, position_consistent, parsed_by,
     run_id);
"""

MIGRATIONS: tuple[str, ...] = (
    V1_CORE, V2_VERDICTS_AND_SEARCH, V3_VOTES_AND_JUDGES, V4_OUTCOME_PATTERNS)
LATEST = len(MIGRATIONS)


def read_version(conn: sqlite3.Connection) -> int | None:
    """The schema version of an open file: 0 for an empty file, None for a database that
    holds tables but no ``schema_version`` (not Loco's)."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if "schema_version" not in names:
        return 0 if not names else None
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(conn: sqlite3.Connection, current: int, target: int = LATEST) -> None:
    """Apply the migrations from ``current`` up to ``target``, one transaction each.

    ``conn`` must be in autocommit mode (``isolation_level=None``): the transactions here are
    explicit, so a DDL statement never commits half a migration.
    """
    for version in range(current, target):
        try:
            conn.execute("BEGIN IMMEDIATE")
            if version == 0:
                conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            # executescript() would COMMIT first; running statement by statement keeps the
            # whole migration in this transaction.
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version + 1,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _statements(script: str) -> list[str]:
    """Split a script into complete statements (trigger bodies hold semicolons)."""
    out: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {pending[:60]!r}")
    return out
