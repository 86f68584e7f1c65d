"""Small things a new user runs into: `loco check FILE`, `loco serve` with an awkward path,
`loco init` with no server or a wrong host, a one-model ensemble that still disagrees, and
pane figures that add up."""

from __future__ import annotations

import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from loco_tui.cli import serve_command
from loco_tui.events import CallStats
from loco_tui.registry import default_registry, load_registry
from loco_tui.widgets.member_pane import stats_line
from tests.common import loco, loco_env


def test_loco_check_takes_the_file_as_an_argument(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[providers.b]\nkind = "embedded"\n[models.s]\nprovider = "b"\n'
                    'model = "smollm2"\n[roles]\ncoder = ["s"]\n')
    result = loco("check", str(good))
    assert result.returncode == 0, result.stderr
    assert f"{good}: ok" in result.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[roles]\ncoder = ["missing"]\n')
    result = loco("check", str(bad))
    assert result.returncode == 1 and "bad.toml:2" in result.stderr


def test_serve_quotes_the_config_path_and_makes_it_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    odd = Path("my configs") / "it's loco.toml"
    command = serve_command(odd)
    argv = shlex.split(command)
    assert argv[:3] == [sys.executable, "-m", "loco_tui"]
    assert argv[3:] == ["--config", str(tmp_path / "my configs" / "it's loco.toml")]
    assert shlex.split(serve_command(None)) == [sys.executable, "-m", "loco_tui"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_honours_the_group_config_and_stops_on_ctrl_c_without_a_traceback(tmp_path):
    config = tmp_path / "with space.toml"
    config.write_text(default_registry_path().read_text())
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "loco_tui", "--config", str(config), "serve", "--port",
         str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=loco_env(),
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("loco serve did not listen")
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in err.decode() and "KeyboardInterrupt" not in err.decode()


def default_registry_path() -> Path:
    import loco_tui.registry

    return Path(loco_tui.registry.__file__).parent / "default.toml"


def test_init_with_no_server_writes_the_built_in_shape(tmp_path):
    out = tmp_path / "loco.toml"
    result = loco("init", "-o", str(out), env={**loco_env(),
                                              "OLLAMA_HOST": f"127.0.0.1:{_free_port()}"})
    assert result.returncode == 0, result.stderr
    written = load_registry(out)
    builtin = default_registry()
    assert written.ensembles == builtin.ensembles and written.roles == builtin.roles
    assert len(written.ensembles["default"].members) == 3
    assert written.ensembles["default"].verdict == "pick"


def test_init_with_an_unreachable_named_host_fails_and_writes_nothing(tmp_path):
    out = tmp_path / "loco.toml"
    result = loco("init", "-o", str(out), "--ollama", f"http://127.0.0.1:{_free_port()}")
    assert result.returncode != 0
    assert "nothing written" in result.stderr
    assert not out.exists()


def test_the_built_in_personas_have_distinct_temperatures():
    personas = default_registry().personas
    temperatures = [p.temperature for p in personas.values()]
    assert None not in temperatures and len(set(temperatures)) == len(temperatures)


def test_pane_figures_share_one_interval():
    stats = CallStats(tokens_in=40, tokens_out=212, ttft_s=0.7, tokens_per_s=35.0,
                      duration_s=6.8, gen_s=6.06)
    line = stats_line(stats, rates=True)
    assert line == "✓ 212 tok · 6.1s gen @ 35 t/s · 1st 0.7s"
    # A reader can check one figure against the other: 212 tokens over 6.1 s is 35 t/s
    # (seconds in all, 6.8, would give 31).
    assert round(212 / 6.1) == 35
    assert stats_line(stats, rates=False, cut=True) == "✓ 212 tok · cut at 212 tok"
