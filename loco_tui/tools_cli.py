"""`loco tools-check SUITE`: a tool-calling comparison, per model and case (right tool? valid
arguments? the values asked for? which dialect?). Registered on the main group by ``cli.py``
(``COMMANDS``); the suite and its scoring are ``loco_tui.tool_suite``.

Only click is imported at module level (`loco --help` stays fast). Names, calls and problems
come from models and files: the terminal gets them neutralised, as Rich ``Text``, never as
markup; ``--json`` prints the whole report as one JSON object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import RenderableType

    from loco_tui.registry import Registry
    from loco_tui.tool_suite import CaseResult, SuiteReport, Target

CONFIG_HELP = "Registry file (default: $LOCO_CONFIG, ./loco.toml, the user config dir, built-in)."


def _target(ensemble: str | None, role: str | None, models: str | None,
            ensembles: list[str]) -> Target:
    from loco_tui.tool_suite import Target

    if sum(x is not None for x in (ensemble, role, models)) > 1:
        raise click.UsageError("choose at most one of --ensemble, --role, --models")
    if role is not None:
        return Target("role", (role,))
    if models is not None:
        names = tuple(m.strip() for m in models.split(",") if m.strip())
        if not names:
            raise click.UsageError("--models takes model ids separated by commas")
        return Target("models", names)
    if ensemble is None:
        if "default" not in ensembles:
            raise click.UsageError("no ensemble named 'default': choose --ensemble, --role "
                                   "or --models")
        ensemble = "default"
    return Target("ensemble", (ensemble,))


def cell(result: CaseResult) -> tuple[str, str]:
    """One member's result on one case, as a table cell: text and style."""
    if not result.answered:
        return (f"✗ failed ({result.category or 'no reply'})", "red")
    mark = "✓" if result.passed else "✗"
    called = ", ".join(c.name for c in result.calls) or "no call"
    if result.right_tool and result.expected_tool is not None:
        text = f"{mark} {result.expected_tool} · {result.dialect}"
    else:
        text = f"{mark} {called}" + (f" · {result.dialect}" if result.dialect else "")
    problems = [p for p in result.problems if p != "no tool call"]  # said by "no call"
    if problems:
        text += "\n" + "\n".join(f"  {p}" for p in problems[:2])
    return (text, "green" if result.passed else "red" if not result.right_tool else "yellow")


def report_table(report: SuiteReport) -> RenderableType:
    from rich.table import Table
    from rich.text import Text

    from loco_tui.safe_text import neutralise, neutralise_line

    summary = report.summary()
    table = Table(title=neutralise_line(f"Tool calls: suite {report.suite} on "
                                        f"{report.target}"),
                  title_justify="left", title_style="bold", header_style="bold",
                  show_lines=True)
    table.add_column("Case")
    for s in summary:
        who = f"{s.member} · {s.model or '?'}" + (f" · {s.persona}" if s.persona else "")
        table.add_column(Text(neutralise_line(who)))
    for case in report.cases:
        want = "no tool" if case.tool is False else str(case.tool)
        row: list[Text] = [Text(neutralise(f"{case.name}\n→ {want}"))]
        for s in summary:
            found = next((r for r in report.results
                          if r.case == case.name and r.member == s.member), None)
            if found is None:
                row.append(Text("—", "dim"))
                continue
            text, style = cell(found)
            row.append(Text(neutralise(text), style))
        table.add_row(*row)
    totals = [Text("score", "bold")]
    for s in summary:
        totals.append(Text(f"{s.passed}/{s.cases} passed\nright tool {s.right_tool}/{s.cases}"
                           f"\nvalid args {s.valid}/{s.right_calls}"
                           + (f"\nfailed {s.failed}" if s.failed else ""), "bold"))
    table.add_row(*totals)
    return table


@click.command("tools-check")
@click.argument("suite", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--ensemble", "-e", help="Run the suite on this ensemble's members "
              "(default: the ensemble 'default').")
@click.option("--role", "-r", help="Run the suite on the model serving this role.")
@click.option("--models", "-m", help="Run it on these models, side by side: ids separated "
              "by commas.")
@click.option("--judge", is_flag=True, help="Also run the ensemble's judge on every case.")
@click.option("--config", type=click.Path(path_type=Path), help=CONFIG_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.pass_context
def tools_check(ctx: click.Context, suite: Path, ensemble: str | None, role: str | None,
                models: str | None, judge: bool, config: Path | None, as_json: bool) -> None:
    """Which model calls tools right? Offer SUITE's tools to each member of the target,
    send every case's prompt, and score per model and case: the right tool, arguments that
    fit its schema, the values expected, and the dialect it wrote the call in. Calls are
    read and checked, never executed. Exit 1 when the suite or the target is wrong."""
    import asyncio

    from loco_tui.registry import RegistryError
    from loco_tui.safe_text import neutralise_line
    from loco_tui.tool_suite import load_suite, run_suite

    try:
        loaded_suite = load_suite(suite)
    except RegistryError as exc:
        for line in exc.lines():
            click.echo(neutralise_line(line), err=True)
        sys.exit(1)
    registry = _registry(config or (ctx.obj or {}).get("config"))
    target = _target(ensemble, role, models, list(registry.ensembles))

    def progress(result: CaseResult) -> None:
        if not as_json:
            text, _ = cell(result)
            click.echo(neutralise_line(f"{result.case} · {result.member}: "
                                       f"{text.splitlines()[0]}"), err=True)

    try:
        report = asyncio.run(run_suite(registry, loaded_suite, target, judge=judge,
                                       on_result=progress))
    except ValueError as exc:
        raise click.ClickException(neutralise_line(str(exc))) from None
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=True, default=str))
        return
    from rich.console import Console

    Console(highlight=False).print(report_table(report))


def _registry(config: Path | None) -> Registry:
    from loco_tui.registry_in_use import registry_in_use

    return registry_in_use(config).registry


COMMANDS = (tools_check,)
