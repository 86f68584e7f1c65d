"""`loco history`, `loco show`, `loco export`, `loco stats`: the stored history from the
command line. Registered on the main group by ``cli.py``.

Only click is imported at module level (`loco --help` stays fast); the store, Rich and the
rest load inside the commands. Everything read from the database is untrusted model text:
terminal output goes through ``neutralise``/``neutralise_line`` and Rich ``Text`` objects,
never markup; JSON output escapes what a terminal would act on.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from loco_tui.events import Event
    from loco_tui.store import Leaderboard, ModelStats, RunDetail, SessionSummary, Store

T = TypeVar("T")

NO_HISTORY = "no history yet"
# JSON leaves these raw; a terminal acts on them (C1 controls, DEL, bidi overrides), and a
# lone surrogate cannot even be written. Escaped, the JSON stays the same value.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_RELATIVE = re.compile(r"(\d+)\s*([mhdw])", re.IGNORECASE)


def _run_with_store(body: Callable[[Store], Awaitable[T]]) -> T | None:
    """Open the database (None when there is none yet), run ``body``, close. A StoreError
    becomes one line on stderr and exit status 1."""
    import asyncio

    from loco_tui.safe_text import neutralise_line
    from loco_tui.store import Store, StoreError, default_path

    path = default_path()
    if not path.exists():
        return None

    async def main() -> T:
        store = await Store.open(path)
        try:
            return await body(store)
        finally:
            await store.aclose()

    try:
        return asyncio.run(main())
    except StoreError as exc:
        raise click.ClickException(neutralise_line(str(exc))) from None


def _dumps(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _console() -> Console:
    from rich.console import Console

    # Wide enough when piped that ids and tables are not folded.
    return Console(markup=False, highlight=False, emoji=False,
                   width=None if sys.stdout.isatty() else 160)


def _when(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _cell(text: str | None, style: str = "") -> Text:
    from rich.text import Text

    from loco_tui.safe_text import neutralise_line

    return Text(neutralise_line(text) if text else "—", style=style)


def _num(value: float | int | None, fmt: str = "{:.2f}") -> str:
    return "—" if value is None else fmt.format(value)


_STATUS_STYLE = {"ok": "green", "partial": "yellow", "failed": "red", "cancelled": "dim",
                 "interrupted": "magenta", "running": "cyan"}


# -- loco history --------------------------------------------------------------------------
@click.command("history")
@click.option("--search", "-s", metavar="TEXT", help="Only sessions whose prompts or answers "
              "hold every word of TEXT.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many sessions to list, newest first.")
def history(search: str | None, as_json: bool, limit: int) -> None:
    """List past sessions, most recently active first."""

    async def body(store: Store) -> list[SessionSummary]:
        return await store.sessions(limit=limit, search=search)

    sessions = _run_with_store(body)
    if as_json:
        click.echo(_dumps([s.to_dict() for s in sessions or []]))
        return
    if sessions is None:
        click.echo(NO_HISTORY)
        return
    if not sessions:
        click.echo("no session matches" if search else NO_HISTORY)
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for name, kw in (("Session", {"no_wrap": True}), ("Updated", {"no_wrap": True}),
                     ("Turns", {"justify": "right"}), ("Status", {}), ("Models", {}),
                     ("Title", {})):
        table.add_column(name, **kw)
    for s in sessions:
        status = s.last_status or ""
        table.add_row(_cell(s.id, "cyan"), _cell(_when(s.updated_at)), _cell(str(s.turns)),
                      _cell(status, _STATUS_STYLE.get(status, "")), _cell(", ".join(s.models)),
                      _cell(s.title or s.first_prompt))
    _console().print(table)


# -- loco show -----------------------------------------------------------------------------
@click.command("show")
@click.argument("ident", metavar="SESSION|RUN")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(ident: str, as_json: bool) -> None:
    """Show a session's turns, or a run's members, figures, verdicts and answer.

    Ids may be shortened to any prefix that names one session or run. A run's JSON holds
    each member's parse trace (``parse_traces``), as the workbench's inspector shows it."""

    async def body(store: Store) -> dict[str, Any]:
        kind, full = await store.resolve(ident)
        if kind == "run":
            return {"kind": "run", "run": await store.run(full),
                    "events": await store.events(full)}
        session = await store.session(full)
        proposals = {t.run_id: t.proposals for t in session.turns}
        return {"kind": "session", "session": await store.session_summary(full),
                "runs": await store.runs_of(full), "proposals": proposals}

    found = _run_with_store(body)
    if found is None:
        raise click.ClickException(f"{NO_HISTORY}: nothing to show")
    if found["kind"] == "run":
        detail: RunDetail = found["run"]
        traces = parse_traces(found["events"])
        if as_json:
            click.echo(_dumps({"kind": "run", **detail.to_dict(), "parse_traces": traces}))
        else:
            _print_run(detail, traces)
        return
    if as_json:
        click.echo(_dumps({
            "kind": "session", **found["session"].to_dict(),
            "runs": [{**r.to_dict(), "proposals": found["proposals"].get(r.id, {})}
                     for r in found["runs"]],
        }))
        return
    _print_session(found["session"], found["runs"])


def _print_session(summary: SessionSummary, runs: list[Any]) -> None:
    from rich.text import Text

    from loco_tui.safe_text import neutralise, neutralise_line

    console = _console()
    head = Text()
    head.append(neutralise_line(summary.title or summary.first_prompt or "(untitled)"), "bold")
    head.append(f"\nsession {summary.id} · {summary.turns} turn"
                f"{'' if summary.turns == 1 else 's'} · updated {_when(summary.updated_at)}",
                "dim")
    console.print(head)
    for number, run in enumerate(runs, start=1):
        line = Text()
        line.append(f"\nTurn {number}", "bold")
        line.append(f" · run {run.id} · {run.mode} {neutralise_line(run.target)} · ", "dim")
        line.append(run.status, _STATUS_STYLE.get(run.status, ""))
        console.print(line)
        console.print(Text("> " + neutralise(run.prompt).replace("\n", "\n> "), "italic"))
        if run.answer is not None:
            console.print(Text(f"answer from {neutralise_line(run.answer_from or '?')}:",
                               "dim"))
            console.print(Text(neutralise(run.answer).strip()))
        elif run.message:
            console.print(Text(neutralise_line(run.message), "dim"))


def parse_traces(events: list[Event]) -> list[dict[str, Any]]:
    """Each member attempt's parse trace, in the order the attempts started: the member, the
    attempt, the model, the raw text the parser read (its offsets index it) and its parse
    events (``kind``, ``offset``, ``detail``) without the previews of calls as they streamed
    (the final calls replace them). The judge's text is shown without its fence markers,
    so the judge's offsets may not fit it."""
    from loco_tui.events import Delta, MemberStarted, Parse

    traces: list[dict[str, Any]] = []
    current: dict[str, dict[str, Any]] = {}
    texts: dict[int, list[str]] = {}
    for event in events:
        if isinstance(event, MemberStarted):
            trace = {"member": event.member, "attempt": event.attempt, "model": event.model,
                     "text": "", "events": []}
            current[event.member] = trace
            traces.append(trace)
            texts[id(trace)] = []
        elif isinstance(event, Delta) and event.channel == "answer":
            found = current.get(event.member)
            if found is not None:
                texts[id(found)].append(event.text)
        elif isinstance(event, Parse) and event.kind != "call_delta":
            found = current.get(event.member)
            if found is None:  # a parse event before its member started: keep it anyway
                found = current[event.member] = {"member": event.member, "attempt": None,
                                                 "model": None, "text": "", "events": []}
                traces.append(found)
                texts[id(found)] = []
            detail = dict(event.detail)
            offset = detail.pop("offset", None)
            found["events"].append({"kind": event.kind, "offset": offset, "detail": detail})
    for trace in traces:
        trace["text"] = "".join(texts[id(trace)])
    return traces


def _print_run(detail: RunDetail, traces: list[dict[str, Any]] | None = None) -> None:
    from rich.table import Table
    from rich.text import Text

    from loco_tui.safe_text import neutralise, neutralise_line

    run = detail.run
    console = _console()
    head = Text()
    head.append(f"run {run.id}", "bold cyan")
    head.append(f" · session {run.session_id} · {run.mode} {neutralise_line(run.target)} · ")
    head.append(run.status, _STATUS_STYLE.get(run.status, ""))
    duration = f" · {run.duration_s:.2f} s" if run.duration_s is not None else ""
    head.append(f" · {_when(run.started_at)}{duration}", "dim")
    console.print(head)
    console.print(Text("> " + neutralise(run.prompt).replace("\n", "\n> "), "italic"))
    if run.message:
        console.print(Text(neutralise_line(run.message), "dim"))
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("Member", "Model", "Persona", "Role", "Try", "Outcome", "In", "Out", "TTFT",
                 "Tok/s", "Time"):
        right = name in ("Try", "In", "Out", "TTFT", "Tok/s", "Time")
        table.add_column(name, justify="right" if right else "left")
    for c in detail.calls:
        outcome: str = c.outcome or "running"
        if c.category:
            outcome += f" ({c.category})"
        table.add_row(
            _cell(c.member), _cell(c.model), _cell(c.persona), _cell(c.role),
            _cell(str(c.attempt)),
            _cell(outcome, "green" if c.outcome == "ok" else "red" if c.outcome else "cyan"),
            _cell(_num(c.tokens_in, "{}")), _cell(_num(c.tokens_out, "{}")),
            _cell(_num(c.ttft_s)), _cell(_num(c.tokens_per_s, "{:.1f}")),
            _cell(_num(c.duration_s)))
    console.print(table)
    for c in detail.calls:
        if c.outcome in ("failed", "cancelled") and c.message:
            console.print(Text(f"{neutralise_line(c.member)} ({neutralise_line(c.model)}): "
                               f"{neutralise_line(c.message)}", "red"))
    for p in detail.parses:
        if p.tool_calls:
            names = ", ".join(str(call.get("name")) for call in p.tool_calls)
            console.print(Text(f"{neutralise_line(p.member)} called: {neutralise_line(names)}",
                               "dim"))
    for trace in traces or ():
        for event in trace["events"]:
            if event["kind"] != "schema_check":
                continue
            check = event["detail"]
            problems = [str(p.get("message", "")) for p in check.get("problems") or ()
                        if isinstance(p, dict)]
            verdict = "fits its schema" if not problems else "; ".join(problems)
            console.print(Text(neutralise_line(
                f"{trace['member']} {'✓' if not problems else '✗'} {check.get('name')}: "
                f"{verdict}"), "green" if not problems else "red"))
    for v in detail.verdicts:
        line = Text()
        line.append("verdict " if v.by == "judge" else "your vote ", "bold")
        if v.mode == "synthesize":
            line.append("synthesis")
        elif v.kind == "tie":
            line.append("a tie")
        elif v.kind == "all_bad":
            line.append("all bad")
        else:
            line.append(f"{neutralise_line(v.winner or '?')}")
            if v.label:
                line.append(f" (label {neutralise_line(v.label)})", "dim")
        if v.confidence is not None:
            source = f" ({v.confidence_source})" if v.confidence_source else ""
            line.append(f" · confidence {v.confidence:.2f}{source}", "dim")
        if v.parsed_by and v.by == "judge":
            via = f" via {v.via}" if v.via else ""
            line.append(f" · read by {neutralise_line(v.parsed_by)}{via}", "dim")
        if v.position_consistent is not None:
            line.append(" · same pick in reverse order" if v.position_consistent else
                        " · position inconsistent", "dim" if v.position_consistent else "red")
        if v.reason:
            line.append(f" · {neutralise_line(v.reason)}")
        console.print(line)
    if run.answer is not None:
        console.print(Text(f"\nanswer (from {neutralise_line(run.answer_from or '?')}):",
                           "bold"))
        console.print(Text(neutralise(run.answer).strip()))


# -- loco export ---------------------------------------------------------------------------
@click.command("export")
@click.argument("ident", metavar="SESSION|RUN")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md",
              show_default=True, help="Markdown to paste into a PR or a note; JSON: all of it.")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to this file instead of standard output.")
def export(ident: str, fmt: str, output: Path | None) -> None:
    """Export a session or a run as Markdown or JSON."""

    async def body(store: Store) -> str:
        if fmt == "json":
            return _dumps(await store.export_json(ident)) + "\n"
        return await store.export_markdown(ident)

    text = _run_with_store(body)
    if text is None:
        raise click.ClickException(f"{NO_HISTORY}: nothing to export")
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output}", err=True)


# -- loco stats ----------------------------------------------------------------------------
def parse_since(value: str, now: datetime | None = None) -> float:
    """A date (``2026-11-01``, local midnight), an ISO time, or an age (``7d``, ``24h``,
    ``30m``, ``2w``) as a Unix time."""
    text = value.strip()
    match = _RELATIVE.fullmatch(text)
    if match:
        n, unit = int(match.group(1)), match.group(2).lower()
        delta = {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n),
                 "w": timedelta(weeks=n)}[unit]
        return ((now or datetime.now()) - delta).timestamp()
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date (2026-11-01), a time (2026-11-01T09:30) or an age "
            "(7d, 24h)", param_hint="--since") from None


@click.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--since", metavar="DATE", help="Only runs since DATE: 2026-11-01, an ISO time, "
              "or an age such as 7d or 24h.")
@click.option("--role", "-r", metavar="ROLE", help="Only calls made in this role.")
@click.option("--leaderboard", "-l", "board", is_flag=True,
              help="Bradley-Terry ratings from head-to-head verdicts, with 95% intervals: "
              "the judge's board, yours, how often the judge agrees with you, and how "
              "reliable each judge is.")
@click.option("--personas", is_flag=True, help="With --leaderboard: rate each (model, "
              "persona) apart.")
@click.option("--min-games", type=click.IntRange(min=1), default=None, metavar="N",
              help="With --leaderboard: games a model needs before its rating counts "
              "(default 10).")
def stats(as_json: bool, since: str | None, role: str | None, board: bool, personas: bool,
          min_games: int | None) -> None:
    """Per model and role: calls, success rate, failures, latency, speed, wins and losses
    (judge and human verdicts kept apart). With --leaderboard: which model is best."""
    since_ts = parse_since(since) if since else None
    if board:
        _leaderboard(as_json, since_ts, role, personas, min_games)
        return
    if personas or min_games is not None:
        raise click.UsageError("--personas and --min-games go with --leaderboard")

    async def body(store: Store) -> list[ModelStats]:
        return await store.stats(since=since_ts, role=role)

    rows = _run_with_store(body)
    if as_json:
        click.echo(_dumps([r.to_dict() for r in rows or []]))
        return
    if not rows:
        click.echo(NO_HISTORY if rows is None else "no calls in that range")
        return
    _print_stats(rows)


def _print_stats(rows: list[ModelStats]) -> None:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold",
                  caption="times in seconds over successful calls · W/L/T: wins/losses/ties",
                  caption_style="dim")
    for name in ("Model", "Role", "Calls", "OK", "Failures", "Median", "p90", "TTFT", "Tok/s",
                 "Judge W/L/T", "Human W/L/T"):
        table.add_column(name, justify="left" if name in ("Model", "Role", "Failures")
                         else "right")
    for r in rows:
        rate = r.success_rate
        style = "" if rate is None else "green" if rate >= 0.95 else "yellow" if rate >= 0.8 \
            else "red"
        failures = ", ".join(f"{cat} {n}" for cat, n in r.failures.items())
        table.add_row(
            _cell(r.model, "bold"), _cell(r.role), _cell(str(r.calls)),
            _cell(_num(None if rate is None else rate * 100, "{:.0f}%"), style),
            _cell(failures, "red" if failures else ""),
            _cell(_num(r.median_s)), _cell(_num(r.p90_s)), _cell(_num(r.median_ttft_s)),
            _cell(_num(r.median_tokens_per_s, "{:.1f}")),
            _cell(f"{r.judge.wins}/{r.judge.losses}/{r.judge.ties}"),
            _cell(f"{r.human.wins}/{r.human.losses}/{r.human.ties}"))
    _console().print(table)


def _leaderboard(as_json: bool, since: float | None, role: str | None, personas: bool,
                 min_games: int | None) -> None:
    from loco_tui.store.leaderboard import DEFAULT_MIN_GAMES

    async def body(store: Store) -> Leaderboard:
        return await store.leaderboard(players="model_persona" if personas else "model",
                                       role=role, since=since,
                                       min_games=min_games or DEFAULT_MIN_GAMES)

    found = _run_with_store(body)
    if as_json:
        if found is None:  # no history yet: the same shape, empty
            from loco_tui.store.leaderboard import empty_leaderboard

            found = empty_leaderboard(min_games or DEFAULT_MIN_GAMES, role, since)
        click.echo(_dumps(found.to_dict()))
        return
    if found is None:
        click.echo(NO_HISTORY)
        return
    _print_leaderboard(found)


def _print_leaderboard(board: Leaderboard) -> None:
    from loco_tui.tables import leaderboard_renderables

    console = _console()
    for renderable in leaderboard_renderables(board):
        console.print(renderable)


COMMANDS = (history, show, export, stats)
