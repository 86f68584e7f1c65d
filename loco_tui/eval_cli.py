"""`loco eval SUITE`: every case of a suite through each strategy, and whether the
differences are more than noise. Registered on the main group by ``cli.py`` (``COMMANDS``).

While it runs, a live view says per strategy how many cases are done and right, the time
spent and the time left (Rich ``Live`` when stdout is a terminal, else one plain line per
case on stderr, so `--json > out.json` stays clean). Ctrl+C stops it: the running case is
cancelled, the finished ones are kept, and the report says it is partial (exit 130).

Only click is imported at module level (`loco --help` stays fast). Names from the suite
and the registry are untrusted text: the terminal gets them through ``neutralise`` and Rich
``Text``, never markup.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from rich.console import RenderableType

    from loco_tui.eval import EvalResult, EvalRunner, EvalSummary, Progress, Strategy, Suite
    from loco_tui.registry import LoadedRegistry
    from loco_tui.store import Store

EXIT_SIGINT = 130
EXIT_SIGTERM = 143
CONFIG_HELP = "Registry file (default: $LOCO_CONFIG, ./loco.toml, the user config dir, built-in)."
STRATEGIES_HELP = (
    "Comma-separated: single:ROLE, auto, ensemble:NAME[:pick|:synthesize|"
    ":pick_or_synthesize][+debias], workflow:NAME. Default: the suite's `strategies`, else "
    "the default role and the first ensemble.")


def clock(seconds: float | None) -> str:
    """``m:ss`` (or ``h:mm:ss``); ``—`` when unknown."""
    if seconds is None:
        return "—"
    total = max(round(seconds), 0)
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# -- what to run -----------------------------------------------------------------------------
def load_registry(config: Path | None) -> LoadedRegistry:
    """The registry `loco run` would use."""
    from loco_tui.registry_in_use import registry_in_use

    return registry_in_use(config)


def find_suite(text: str) -> Path:
    """SUITE as given, else a shipped suite by name (``arithmetic`` is
    ``config/eval/arithmetic.toml`` here)."""
    path = Path(text)
    if path.exists() or path.suffix:
        return path
    shipped = Path("config") / "eval" / f"{text}.toml"
    return shipped if shipped.exists() else path


def choose_strategies(option: str | None, suite: Suite,
                      loaded: LoadedRegistry) -> list[Strategy]:
    from loco_tui.eval import default_strategies, parse_strategies, parse_strategy
    from loco_tui.eval.strategies import problem_with

    try:
        if option:
            strategies = parse_strategies(option)
        elif suite.strategies:
            strategies = [parse_strategy(s) for s in suite.strategies]
        else:
            strategies = default_strategies(loaded.registry)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--strategies") from None
    if not strategies:
        raise click.UsageError("the registry has no role or ensemble to evaluate")
    problems = [p for s in strategies if (p := problem_with(s, loaded.registry))]
    if problems:
        raise click.BadParameter("; ".join(problems), param_hint="--strategies")
    return strategies


# -- the progress view ---------------------------------------------------------------------
class ProgressView:
    """The live view: one row per strategy (done / total, right, a bar, seconds per case),
    elapsed and time left below. The clock runs between cases too: Live re-renders it."""

    def __init__(self, title: str, now: float | None = None) -> None:
        self.title = title
        self.progress: Progress | None = None
        self.received = now if now is not None else time.monotonic()

    def update(self, progress: Progress) -> None:
        self.progress = progress
        self.received = time.monotonic()

    def __rich__(self) -> RenderableType:
        return self.render(time.monotonic())

    def render(self, now: float) -> RenderableType:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        from loco_tui.eval.report import share_bar
        from loco_tui.safe_text import neutralise_line

        title = Text(neutralise_line(self.title), style="bold")
        table = Table(box=None, pad_edge=False, header_style="bold")
        for name in ("Strategy", "Done", "Right", "", "s/case"):
            table.add_column(name, justify="right" if name in ("Done", "Right", "s/case")
                             else "left")
        progress = self.progress
        if progress is None:
            return Group(title, table)
        for row in progress.strategies:
            fraction = row.done / row.total if row.total else None
            per_case = "—" if row.per_case_s is None else f"{row.per_case_s:.1f}"
            table.add_row(Text(neutralise_line(row.strategy)), Text(f"{row.done}/{row.total}"),
                          Text(str(row.right)), Text(share_bar(fraction), style="cyan"),
                          Text(per_case))
        since = now - self.received
        eta = None if progress.eta_s is None else max(progress.eta_s - since, 0.0)
        status = Text(f"{progress.done}/{progress.total} runs · elapsed "
                      f"{clock(progress.elapsed_s + since)} · left "
                      f"{'estimating…' if eta is None and not progress.stopping else clock(eta)}",
                      style="dim")
        if progress.stopping:
            status.append(" · stopping: the running case is being cancelled", style="yellow")
        lines: list[RenderableType] = [title, table, status]
        last = progress.last
        if last is not None:
            lines.append(Text(f"last: {neutralise_line(last.case)} · "
                              f"{neutralise_line(last.strategy)} · {last.outcome}",
                              style="green" if last.right else "dim"))
        return Group(*lines)


def progress_line(progress: Progress) -> str | None:
    """One plain line per finished case (for a pipe or a log), or None."""
    from loco_tui.safe_text import neutralise_line

    if progress.stopping and progress.last is None:
        return "stopping: the running case is being cancelled; finished cases are kept"
    last = progress.last
    if last is None:
        return None
    took = "" if last.latency_s is None else f" ({last.latency_s:.1f} s)"
    left = "" if progress.eta_s is None else f" · ~{clock(progress.eta_s)} left"
    return (f"[{progress.done}/{progress.total}] {neutralise_line(last.strategy)} · "
            f"{neutralise_line(last.case)}: {last.outcome}{took} · elapsed "
            f"{clock(progress.elapsed_s)}{left}")


# -- the command -----------------------------------------------------------------------------
@click.command("eval")
@click.argument("suite_path", metavar="SUITE")
@click.option("--strategies", "-s", "strategies_option", metavar="LIST", help=STRATEGIES_HELP)
@click.option("--repeat", "-n", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run each case this many times per strategy.")
@click.option("--json", "as_json", is_flag=True,
              help="Print every figure and case result as JSON on stdout.")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the Markdown report to this file (default: stdout, unless --json).")
@click.option("--config", type=click.Path(path_type=Path), help=CONFIG_HELP)
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the judge's label shuffles (case by case).")
@click.option("--no-history", is_flag=True, help="Do not record the runs.")
@click.pass_context
def eval_command(ctx: click.Context, suite_path: str, strategies_option: str | None,
                 repeat: int, as_json: bool, output: Path | None, config: Path | None,
                 seed: int, no_history: bool) -> None:
    """Run every case of SUITE (a TOML file, or the name of a suite in config/eval) through
    each strategy and report accuracy with 95% intervals, latency, tokens, failures, the
    ensembles' oracle and judge figures, and paired comparisons (McNemar). Ctrl+C stops it
    and keeps what finished. The runs are recorded in the history as one session."""
    from loco_tui.eval import SuiteError, load_suite
    from loco_tui.safe_text import neutralise_line

    try:
        suite = load_suite(find_suite(suite_path))
    except SuiteError as exc:
        for issue in exc.issues:
            click.echo(neutralise_line(str(issue)), err=True)
        sys.exit(1)
    parent = ctx.parent.params.get("config") if ctx.parent is not None else None
    loaded = load_registry(config or parent)
    strategies = choose_strategies(strategies_option, suite, loaded)
    code = asyncio.run(_run(suite, strategies, loaded, repeat=repeat, seed=seed,
                            record=not no_history, as_json=as_json, output=output))
    sys.exit(code)


async def _open_store(err: TextIO) -> Store | None:
    from loco_tui.safe_text import neutralise_line
    from loco_tui.store import Store, StoreError

    try:
        return await Store.open()
    except StoreError as exc:
        err.write(f"loco: history off: {neutralise_line(str(exc))}\n")
        return None


async def _run(suite: Suite, strategies: list[Strategy], loaded: LoadedRegistry, *,
               repeat: int, seed: int, record: bool, as_json: bool,
               output: Path | None) -> int:
    from loco_tui.controller import Controller
    from loco_tui.eval import EvalRunner

    out, err = sys.stdout, sys.stderr
    store = await _open_store(err) if record else None
    controller = Controller(loaded.registry, store=store)
    notes = {"Registry": loaded.source, "Seed": str(seed)}
    runner = EvalRunner(controller, suite, strategies, repeat=repeat, seed=seed, notes=notes)
    stopped_by: list[int] = []
    loop = asyncio.get_running_loop()

    def stop(signum: int) -> None:
        stopped_by.append(signum)
        runner.stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop, signum)
    try:
        result = await _with_progress(runner, out, err)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
        await controller.aclose()
        if store is not None:
            await store.aclose()
    from loco_tui.eval import summarise

    summary = summarise(result)
    _deliver(summary, as_json=as_json, output=output, out=out, err=err)
    _say_where(runner, summary, record=record and store is not None, err=err)
    if stopped_by:
        return EXIT_SIGTERM if stopped_by[0] == signal.SIGTERM else EXIT_SIGINT
    return 0


async def _with_progress(runner: EvalRunner, out: TextIO, err: TextIO) -> EvalResult:
    from loco_tui.safe_text import neutralise_line

    title = (f"eval {runner.suite.name} · {len(runner.suite.cases)} cases × "
             f"{len(runner.strategies)} strategies" +
             (f" × {runner.repeat}" if runner.repeat > 1 else "") + f" · {runner.eval_id}")
    if not _is_terminal(out):
        err.write(neutralise_line(title) + " (Ctrl+C stops and keeps what finished)\n")

        def line(progress: Progress) -> None:
            text = progress_line(progress)
            if text is not None:
                err.write(text + "\n")
                err.flush()

        runner.on_progress = line
        return await runner.run()
    from rich.console import Console
    from rich.live import Live

    view = ProgressView(title)
    runner.on_progress = view.update
    console = Console(file=out, markup=False, highlight=False, emoji=False)
    console.print("Ctrl+C stops and keeps what finished", style="dim")
    with Live(view, console=console, refresh_per_second=2, transient=False):
        return await runner.run()


def _deliver(summary: EvalSummary, *, as_json: bool, output: Path | None, out: TextIO,
             err: TextIO) -> None:
    from loco_tui.eval import json_text, markdown_report
    from loco_tui.safe_text import neutralise

    if output is not None:
        try:
            output.write_text(markdown_report(summary), encoding="utf-8")
        except OSError as exc:
            err.write(f"loco: cannot write {neutralise(str(output))}: "
                      f"{exc.strerror or exc}\n")
        else:
            err.write(f"wrote {neutralise(str(output))}\n")
    if as_json:
        out.write(json_text(summary) + "\n")
    elif output is None:
        out.write(neutralise(markdown_report(summary)))
    out.flush()


def _say_where(runner: EvalRunner, summary: EvalSummary, *, record: bool,
               err: TextIO) -> None:
    from loco_tui.safe_text import neutralise_line

    result = summary.result
    if result.partial:
        err.write(f"partial: {result.done} of {result.planned} runs finished\n")
    if not record:
        return
    if runner.history_error is not None:
        err.write(f"loco: history off: {neutralise_line(runner.history_error)}\n")
        return
    err.write(f"recorded as session {runner.eval_id} (loco show {runner.eval_id}; the "
              "workbench's eval screen compares it)\n")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


COMMANDS = (eval_command,)

if __name__ == "__main__":  # `python -m loco_tui.eval_cli SUITE`, before `loco eval` is wired
    eval_command()
