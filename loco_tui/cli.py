"""The `loco` command. Heavy imports live inside the commands: `loco --help` stays fast."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from loco_tui.registry_in_use import CONFIG_HELP, registry_in_use
from loco_tui.safe_text import neutralise_line

if TYPE_CHECKING:
    pass



@click.group(invoke_without_command=True)
@click.option("--config", type=click.Path(path_type=Path), help=CONFIG_HELP)
@click.version_option(package_name="loco-tui", prog_name="loco")
@click.pass_context
def main(ctx: click.Context, config: Path | None) -> None:
    """Loco: orchestrate several local LLMs at once. With no command, opens the workbench."""
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    if ctx.invoked_subcommand is None:
        loaded = registry_in_use(config)
        from loco_tui.app import LocoApp

        LocoApp(loaded).run()


@main.command()
@click.argument("prompt")
@click.option("--workflow", "-w", help="Run a workflow of phases.")
@click.option("--ensemble", "-e", help="Run an ensemble and its judge.")
@click.option("--role", "-r", help="Send to one role (default: the router picks).")
@click.option("--config", type=click.Path(path_type=Path), help=CONFIG_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
@click.option("--seed", type=int, default=None, help="Seed the judge's label shuffle.")
@click.option("--continue", "-c", "continue_last", is_flag=True,
              help="A follow-up turn of the last session (the models see the conversation).")
@click.option("--session", "-s", "session_id", default=None,
              help="A follow-up turn of session ID (or an unambiguous prefix of it).")
@click.option("--no-history", is_flag=True, help="Do not record this run.")
@click.pass_context
def run(
    ctx: click.Context,
    prompt: str,
    workflow: str | None,
    ensemble: str | None,
    role: str | None,
    config: Path | None,
    as_json: bool,
    seed: int | None,
    continue_last: bool,
    session_id: str | None,
    no_history: bool,
) -> None:
    """Run PROMPT headless. Exit 0 when the run finished ok or partial, 1 when it failed,
    130/143 when interrupted, 141 when the output was closed. Every run is a turn of a
    session kept in the history: `-c` continues the last one."""
    if sum(x is not None for x in (workflow, ensemble, role)) > 1:
        raise click.UsageError("choose at most one of --workflow, --ensemble, --role")
    if continue_last and session_id is not None:
        raise click.UsageError("choose one of --continue and --session")
    loaded = registry_in_use(config or ctx.obj.get("config"))
    from loco_tui.headless import run_headless

    code = run_headless(
        loaded.registry, prompt, workflow=workflow, ensemble=ensemble, role=role,
        as_json=as_json, seed=seed, continue_last=continue_last, session_id=session_id,
        record=not no_history,
    )
    sys.exit(code)


@main.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--config", type=click.Path(path_type=Path), help=CONFIG_HELP)
@click.pass_context
def check(ctx: click.Context, file: Path | None, config: Path | None) -> None:
    """Validate a registry (FILE, else the one Loco would use): exit 1 with
    `file:line: message` lines on error."""
    if file is not None and config is not None and file != config:
        raise click.UsageError("give the registry as FILE or --config, not both")
    # Checks files only: what servers happen to answer is not a registry to validate.
    loaded = registry_in_use(file or config or ctx.obj.get("config"), autodetect=False)
    # Problems in the files Loco owns beside the registry (saved ensembles, role switches)
    # do not fail the check, but they are said.
    for warning in loaded.warnings:
        click.echo(f"warning: {neutralise_line(warning)}", err=True)
    source = neutralise_line(str(loaded.path)) if loaded.path else "built-in default registry"
    reg = loaded.registry
    click.echo(
        f"{source}: ok ({len(reg.providers)} providers, {len(reg.models)} models, "
        f"{len(reg.roles)} roles, {len(reg.ensembles)} ensembles, {len(reg.workflows)} workflows)"
    )


@main.command()
@click.option("--config", type=click.Path(path_type=Path), help=CONFIG_HELP)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def models(ctx: click.Context, config: Path | None, as_json: bool) -> None:
    """Show providers, models, the role mapping and what is reachable."""
    loaded = registry_in_use(config or ctx.obj.get("config"))
    from loco_tui.inventory import print_inventory

    print_inventory(loaded.registry, as_json=as_json)


@main.command()
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("loco.toml"),
              show_default=True, help="Where to write the registry.")
@click.option("--ollama", "ollama_hosts", multiple=True,
              help="Ollama host to ask (default: $OLLAMA_HOST or 127.0.0.1:11434).")
@click.option("--openai", "openai_urls", multiple=True,
              help="OpenAI-compatible base URL to ask (e.g. http://127.0.0.1:1234/v1).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(output: Path, ollama_hosts: tuple[str, ...], openai_urls: tuple[str, ...],
         force: bool) -> None:
    """Write a registry from what the reachable model servers offer."""
    if output.exists() and not force:
        raise click.ClickException(f"{output} exists; pass --force to overwrite it")
    from loco_tui.inventory import InitError, write_initial_registry

    try:
        summary = write_initial_registry(output, list(ollama_hosts), list(openai_urls))
    except InitError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary)


@main.command()
@click.argument("run_id")
@click.option("--speed", type=float, default=1.0, show_default=True,
              help="2 = twice as fast; 0 = everything at once.")
@click.option("--config", type=click.Path(path_type=Path), help=CONFIG_HELP)
@click.pass_context
def replay(ctx: click.Context, run_id: str, speed: float, config: Path | None) -> None:
    """Re-stream a stored run (RUN_ID or a prefix of it) into the workbench, with its
    original timing; a follow-up typed then continues its session."""
    if speed < 0:
        raise click.UsageError("--speed must be 0 or more")
    loaded = registry_in_use(config or ctx.obj.get("config"))
    from loco_tui.app import LocoApp, ReplayRequest

    LocoApp(loaded, replay=ReplayRequest(run_id, speed)).run()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--config", type=click.Path(path_type=Path), help=CONFIG_HELP)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, config: Path | None) -> None:
    """Serve the workbench in a browser (extra `web`)."""
    try:
        from textual_serve.server import Server
    except ImportError:
        raise click.ClickException(
            "`loco serve` needs the `web` extra: pip install 'loco-tui[web]'") from None
    command = serve_command(config or ctx.obj.get("config"))
    # Ctrl+C is how a server is stopped: no traceback.
    with contextlib.suppress(KeyboardInterrupt):
        Server(command, host=host, port=port, title="Loco").serve()


def serve_command(config: Path | None) -> str:
    """The shell command textual-serve starts for each browser session. The config path
    is made absolute (the server may start sessions elsewhere) and quoted (a space or a
    quote in it must not split the command)."""
    import shlex

    parts = [sys.executable, "-m", "loco_tui"]
    if config is not None:
        parts += ["--config", str(Path(config).expanduser().absolute())]
    return shlex.join(parts)


def _register_commands() -> None:
    """Commands kept in modules of their own (each imports only click at load time)."""
    from loco_tui import eval_cli, history_cli, tools_cli

    for command in (*history_cli.COMMANDS, *tools_cli.COMMANDS, *eval_cli.COMMANDS):
        main.add_command(command)


_register_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
