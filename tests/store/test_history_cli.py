"""`loco history`, `show`, `export` and `stats` through click's runner, on a database of
real recorded runs in ``$LOCO_HOME``."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from loco_tui.events import event_from_dict
from loco_tui.history_cli import COMMANDS, parse_since
from loco_tui.store import Store
from loco_tui.testing.script import Fault, Reply
from tests.common import registry_for
from tests.store.common import REGISTRY, Recorded, follow_up, script

HOSTILE = "Use a set.\x1b]52;c;cGF3bmVk\x07 \x1b[2J\u202eevil\r\x9b done"


@click.group()
def loco() -> None:
    """The commands as the lead registers them on the main group."""


for command in COMMANDS:
    loco.add_command(command)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(loco, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def seeded(ollama_server) -> dict[str, Recorded]:
    """Two sessions in $LOCO_HOME/loco.db: an ensemble turn and a follow-up, and a routed
    one-off whose reply carries terminal control sequences."""
    server = ollama_server(script(gamma=Reply(pieces=("half", " a"), fault=Fault.DROP,
                                              fault_after=1)))
    registry = registry_for(server.url, REGISTRY)

    async def seed() -> dict[str, Recorded]:
        async with await Store.open() as store:
            one = await follow_up(store, registry, "dedupe a list of emails", None,
                                  ensemble="trio")
            two = await follow_up(store, registry, "make it shorter", one.events[0].session,
                                  role="coder")
            server.script = script(alpha=Reply.text(HOSTILE))
            evil = await follow_up(store, registry, "print \x1b[31mred\x1b[0m", None,
                                   role="coder")
            return {"one": one, "two": two, "evil": evil}

    return asyncio.run(seed())


def test_without_a_database_there_is_no_history_yet():
    assert invoke("history") == (0, "no history yet\n", "")
    assert invoke("history", "--json") == (0, "[]\n", "")
    assert invoke("stats") == (0, "no history yet\n", "")
    code, out, err = invoke("show", "abc")
    assert (code, out) == (1, "") and "no history yet" in err and len(err.splitlines()) == 1
    assert invoke("export", "abc")[0] == 1
    assert not (Path(os.environ["LOCO_HOME"]) / "loco.db").exists()  # reading creates nothing


def test_history_lists_sessions_newest_first(seeded):
    sid = seeded["one"].events[0].session
    evil_sid = seeded["evil"].events[0].session
    code, out, _ = invoke("history")
    assert code == 0
    assert out.index(evil_sid) < out.index(sid)  # the one-off ran last
    assert "dedupe a list of emails" in out and "alpha, arbiter, beta" in out
    assert "\x1b" not in out and "␛[31mred␛[0m" in out

    code, out, _ = invoke("history", "--json", "--limit", "1")
    (row,) = json.loads(out)
    assert row["id"] == evil_sid and row["turns"] == 1 and row["last_status"] == "ok"

    code, out, _ = invoke("history", "--search", "emails", "--json")
    assert [r["id"] for r in json.loads(out)] == [sid]
    assert invoke("history", "--search", "nothing-like-this") == (0, "no session matches\n", "")


def test_show_a_session_and_a_run(seeded):
    one, two = seeded["one"], seeded["two"]
    sid = one.events[0].session
    code, out, _ = invoke("show", sid[:-2])
    assert code == 0
    assert "Turn 1" in out and "Turn 2" in out
    assert "> dedupe a list of emails" in out and "> make it shorter" in out
    assert f"answer from {one.events[-1].answer_from}:" in out

    code, out, _ = invoke("show", one.run_id)
    assert code == 0
    for text in ("m1", "alpha", "skeptic", "beta", "gamma", "failed (dropped)", "arbiter",
                 "verdict", "clearest", "answer (from"):
        assert text in out, text

    data = json.loads(invoke("show", sid, "--json")[1])
    assert data["kind"] == "session" and [r["id"] for r in data["runs"]] == [one.run_id,
                                                                             two.run_id]
    assert set(data["runs"][0]["proposals"]) == {"m1", "m2"}
    data = json.loads(invoke("show", one.run_id, "--json")[1])
    assert data["kind"] == "run" and {c["member"] for c in data["calls"]} == {
        "m1", "m2", "m3", "judge"}


def test_text_from_models_never_reaches_the_terminal_raw(seeded):
    evil = seeded["evil"]
    for args in (("show", evil.run_id), ("show", evil.events[0].session),
                 ("export", evil.run_id), ("history",), ("stats",)):
        code, out, _ = invoke(*args)
        assert code == 0
        for raw in ("\x1b", "\x07", "\u202e", "\r", "\x9b"):
            assert raw not in out, (args, raw)
    assert "␛]52;c;cGF3bmVk␇" in invoke("show", evil.run_id)[1]
    # JSON keeps the text but escapes what a terminal would act on.
    out = invoke("show", evil.run_id, "--json")[1]
    assert "\u202e" not in out and "\x9b" not in out and "\x1b" not in out
    assert json.loads(out)["answer"] == HOSTILE


def test_an_unknown_id_exits_1_with_one_line(seeded):
    for command in ("show", "export"):
        code, out, err = invoke(command, "zzz")
        assert (code, out) == (1, "")
        assert err == "Error: no session or run with id 'zzz'\n"


def test_export_markdown_and_json(seeded, tmp_path):
    one = seeded["one"]
    sid = one.events[0].session
    code, out, _ = invoke("export", sid)
    assert code == 0 and out.startswith("# dedupe a list of emails\n")
    assert "### m1 · alpha · skeptic" in out and "**Verdict**" in out

    target = tmp_path / "session.json"
    code, out, err = invoke("export", sid, "--format", "json", "-o", str(target))
    assert (code, out, err) == (0, "", f"wrote {target}\n")
    data = json.loads(target.read_text("utf-8"))
    assert [event_from_dict(e) for e in data["runs"][0]["events"]] == one.events

    md = tmp_path / "run.md"
    assert invoke("export", one.run_id, "-o", str(md))[0] == 0
    assert md.read_text("utf-8").startswith("# dedupe a list of emails\n")


def test_stats_table_and_json(seeded):
    code, out, _ = invoke("stats")
    assert code == 0
    header = next(line for line in out.splitlines() if "Model" in line)
    for column in ("Calls", "OK", "Failures", "Median", "p90", "TTFT", "Tok/s", "Judge W/L/T",
                   "Human W/L/T"):
        assert column in header
    assert "dropped 1" in out
    rows = json.loads(invoke("stats", "--json")[1])
    gamma = next(r for r in rows if r["model"] == "gamma")
    assert (gamma["calls"], gamma["failed"], gamma["failures"]) == (1, 1, {"dropped": 1})
    coder = json.loads(invoke("stats", "--json", "--role", "coder")[1])
    assert {(r["model"], r["role"]) for r in coder} == {("alpha", "coder")}
    assert json.loads(invoke("stats", "--json", "--since", "1d")[1]) == rows
    assert invoke("stats", "--since", "2999-01-01") == (0, "no calls in that range\n", "")
    code, _, err = invoke("stats", "--since", "last tuesday")
    assert code == 2 and "is not a date" in err


def test_since_reads_dates_times_and_ages():
    from datetime import datetime

    now = datetime(2026, 11, 20, 12, 0, 0)
    assert parse_since("7d", now) == datetime(2026, 11, 13, 12, 0, 0).timestamp()
    assert parse_since("24h", now) == datetime(2026, 11, 19, 12, 0, 0).timestamp()
    assert parse_since("2w", now) == datetime(2026, 11, 6, 12, 0, 0).timestamp()
    assert parse_since("2026-11-01") == datetime(2026, 11, 1).timestamp()
    assert parse_since("2026-11-01T09:30") == datetime(2026, 11, 1, 9, 30).timestamp()


def test_a_damaged_database_is_one_clear_line_and_exit_1():
    path = Path(os.environ["LOCO_HOME"]) / "loco.db"
    path.write_bytes(b"not a database at all\n" * 100)
    for args in (("history",), ("stats",), ("show", "abc"), ("export", "abc")):
        code, out, err = invoke(*args)
        assert (code, out) == (1, ""), args
        assert err == f"Error: cannot open {path}: the file is not a Loco database or is " \
                      "damaged\n"
