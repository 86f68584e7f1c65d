"""Hostile text never reaches a terminal live: model replies, server error text, model names
from servers and registry values echoed back, in every output path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from loco_tui.safe_text import has_controls, neutralise, neutralise_line
from loco_tui.testing.script import Fault, Reply, Script
from tests.common import Terminal, loco, write_config

# What a hostile model (or server) sends: a window title, a clipboard write (paste-jacking:
# base64 of `rm -rf ~`), a screen clear and recolour, C1 CSI, text hidden by CR and BS, a
# bidi override, and markup that must stay text.
HOSTILE = (
    "Run this:\x1b]0;PWNED-TITLE\x07 then \x1b]52;c;cm0gLXJmIH4=\x07 paste it. "
    "\x1b[2J\x1b[31mred\x1b[0m, \x9b31mC1\x9bm, hidden\rOVERWRITE, back\x08\x08XX "
    "\u202eevil\u202c. [bold]markup[/bold] [@click=app.quit]click[/]"
)
# Byte strings that may only appear if the payload went through raw. (Textual draws with
# escape sequences of its own, so the checks name the payload's.)
LIVE = [b"\x1b]0;PWNED", b"\x1b]52;c;cm0g", b"\x1b[31mred", b"\xc2\x9b31m", b"\x07 then",
        b"\xe2\x80\xaeevil", b"\rOVERWRITE"]


def hostile_script(reply: Reply | None = None) -> Script:
    return Script().add("evil:1b", reply or Reply.text(HOSTILE), parameter_size="1B")


ROLE = """
[models.evil]
provider = "local"
model = "evil:1b"
[roles]
coder = ["evil"]
"""


def test_neutralise_shows_every_control_except_newline_and_tab():
    shown = neutralise(HOSTILE + "\n\tnext line")
    assert not has_controls(shown)
    assert "␛]0;PWNED-TITLE␇" in shown and "␛]52;c;" in shown and "\\x9b31m" in shown
    assert "hidden␍OVERWRITE" in shown and "back␈␈XX" in shown and "<U+202E>evil" in shown
    assert shown.endswith("\n\tnext line")
    assert "[bold]markup[/bold]" in shown  # markup is left as text, for Text() to show
    assert neutralise_line("a\nb\tc") == "a␤b␉c"
    assert neutralise("plain text stays the same object") == "plain text stays the same object"


def test_lone_surrogates_become_replacement_characters():
    assert neutralise("ok \ud83d done") == "ok \ufffd done"


def test_loco_run_text_mode_on_a_terminal_shows_the_sequences_instead_of_running_them(
    ollama_server, tmp_path
):
    server = ollama_server(hostile_script())
    config = write_config(tmp_path, server.url, ROLE)
    term = Terminal("run", "hello", "--role", "coder", "--config", str(config))
    try:
        code = term.wait(timeout=20)
    finally:
        term.close()
    out = bytes(term.output)
    assert b"run ok" in out, out[-2000:]
    assert code == 0
    assert b"\x1b" not in out and b"\xc2\x9b" not in out and b"\x07" not in out
    assert re.search(rb"\r(?!\n)", out) is None, "a bare CR would hide text already printed"
    text = out.decode()
    assert "␛]0;PWNED-TITLE␇" in text and "␛]52;c;cm0gLXJmIH4=␇" in text
    assert "hidden␍OVERWRITE" in text and "[@click=app.quit]click[/]" in text


def test_loco_run_json_stays_lossless(ollama_server, tmp_path):
    server = ollama_server(hostile_script())
    config = write_config(tmp_path, server.url, ROLE)
    result = loco("run", "hello", "--role", "coder", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout  # JSON escapes it: \u001b
    events = [json.loads(line) for line in result.stdout.splitlines()]
    text = "".join(e["text"] for e in events if e["type"] == "delta")
    assert text == HOSTILE
    assert events[-1]["answer"] == HOSTILE


def test_loco_models_shows_server_names_and_errors_as_text(ollama_server, tmp_path):
    evil_name = "qwen\x1b]0;PWNED\x07[red]x[/red]:7b"
    server = ollama_server(Script().add(evil_name, Reply(), parameter_size="7B"))
    as_toml = json.dumps(evil_name)  # a TOML basic string is JSON-compatible here
    config = write_config(tmp_path, server.url, f"""
[providers.broken]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
[models.named]
provider = "local"
model = {as_toml}
[roles]
coder = ["named"]
""")
    result = loco("models", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "␛]0;PWNED␇[red]x[/red]" in result.stdout.replace("\n", "")
    as_json = loco("models", "--config", str(config), "--json")
    data = json.loads(as_json.stdout)
    assert evil_name in data["providers"]["local"]["models"]


def test_loco_check_echoes_registry_values_neutralised(tmp_path):
    path = tmp_path / "evil.toml"
    path.write_text('[roles]\ncoder = ["no\\u001b]52;c;cm0g\\u0007such"]\n')
    result = loco("check", str(path))
    assert result.returncode == 1
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "no␛]52;c;cm0g␇such" in result.stderr and "evil.toml:2" in result.stderr


def test_the_workbench_never_writes_the_payload_to_the_terminal(ollama_server, tmp_path):
    server = ollama_server(hostile_script(Reply.text(HOSTILE, piece_delay_s=0.005)))
    config = write_config(tmp_path, server.url, ROLE)
    home = tmp_path / "home"
    term = Terminal("--config", str(config), cols=140, rows=40,
                    env={**_env(), "LOCO_HOME": str(home)})
    try:
        term.read_until(lambda b: b"Ask the models" in b, timeout=20)
        # The target list starts with auto-route here (no ensemble): type and send.
        term.write(b"hello")
        term.read(0.3)
        term.write(b"\r")
        out = term.read_until(lambda b: b"run ok" in b, timeout=20)
        term.read(0.5)
        out = bytes(term.output)
    finally:
        term.write(b"\x11")  # ctrl+q
        term.read(1.0)
        term.close()
    assert b"run ok" in out, out[-3000:].decode(errors="replace")
    for live in LIVE:
        assert live not in out, f"{live!r} reached the terminal"
    assert "␛]0;PWNED-TITLE␇".encode() in out


def _env() -> dict[str, str]:
    from tests.common import loco_env

    return loco_env()


async def test_the_workbench_screen_shows_hostile_text_in_panes_titles_and_trace(ollama_server):
    from loco_tui.app import LocoApp, UiSettings
    from loco_tui.registry import LoadedRegistry
    from tests.common import registry_for

    evil_model = "evil\x1b]0;T\x07[b]:1b"
    script = Script().add(evil_model, Reply.text(HOSTILE), parameter_size="1B")
    script.add("judge:1b", Reply(fault=Fault.MODEL_MISSING))
    server = ollama_server(script)
    registry = registry_for(server.url, """
[models."ev[i]l\\u001b[2J"]
provider = "local"
model = "evil\\u001b]0;T\\u0007[b]:1b"
[roles]
coder = ["ev[i]l\\u001b[2J"]
""")
    app = LocoApp(LoadedRegistry(registry, Path("loco.toml")),
                  settings=UiSettings(show_rates=False, watch_config=False,
                                      health_interval_s=3600))
    async with app.run_test(size=(140, 40)) as pilot:
        while app.controller is None:
            await pilot.pause(0.01)
        await pilot.press(*"hi", "enter")
        for _ in range(200):
            await pilot.pause(0.05)
            if not app.controller.active_runs:
                break
        await pilot.pause(0.2)
        app._drain()
        await pilot.pause()
        screen = app.export_screenshot()
        assert app.is_running  # [@click=app.quit] in a reply did nothing
    assert "\x1b" not in screen and "\x07" not in screen and "\x9b" not in screen
    assert "␛]0;PWNED-TITLE␇" in screen.replace("&#160;", " ")
    assert "[@click=app.quit]click[/]" in screen.replace("&#160;", " ")


@pytest.mark.parametrize("bad", ["/[/", "[@click=app.quit]x[/]", "[bold]"])
async def test_a_registry_error_with_markup_in_it_is_shown_as_typed(ollama_server, tmp_path, bad):
    """A routing regex like `[/` used to crash the workbench in the reload notification."""
    import asyncio

    from textual.widgets._toast import Toast

    from loco_tui.app import LocoApp, UiSettings
    from loco_tui.registry import LoadedRegistry, load_registry
    from tests.common import ENSEMBLE, provider_toml, trio_script

    server = ollama_server(trio_script())
    path = tmp_path / "loco.toml"
    good = provider_toml(server.url) + ENSEMBLE
    path.write_text(good)
    app = LocoApp(LoadedRegistry(load_registry(path), path=path),
                  settings=UiSettings(show_rates=False, watch_config=True,
                                      health_interval_s=3600))
    async with app.run_test(size=(130, 40), notifications=True) as pilot:
        while app.controller is None:
            await pilot.pause(0.01)
        await pilot.pause(0.5)
        bad_toml = bad.replace("\\", "\\\\").replace('"', '\\"')
        # The bad text comes back in the error: as a regex that does not compile, or as
        # the name of a role that does not exist.
        path.write_text(good + f'\n[[routing.rules]]\nwhen = ["{bad_toml}"]\n'
                        f'role = "{bad_toml}"\n')
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 8
        while app.registry_error is None and loop.time() < deadline:
            await pilot.pause(0.05)
        assert app.registry_error is not None
        await pilot.pause(0.3)
        assert app.is_running
        toasts = [str(t.render()) for t in app.screen.query(Toast)]
        assert any(bad in t for t in toasts), toasts


def test_every_notification_in_the_code_is_plain_text():
    """A notification shows text from files, servers or models more often than not: every
    call says `markup=False`, so none can parse `[/` or `[@click=...]` (a new one must too)."""
    import ast

    root = Path(__file__).resolve().parents[2] / "loco_tui"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "notify"):
                markup = next((k.value for k in node.keywords if k.arg == "markup"), None)
                if not (isinstance(markup, ast.Constant) and markup.value is False):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
