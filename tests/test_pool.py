"""The provider pool: replicas on two hosts share an ensemble's load, health feeds the
sidebar, a registry reload keeps unchanged providers."""

from __future__ import annotations

from loco_tui.controller import Controller
from loco_tui.events import Event, MemberFinished, MemberStarted, Parse
from loco_tui.orchestrator import RunRequest
from loco_tui.providers.pool import ProviderPool
from loco_tui.registry import load_registry_text
from loco_tui.testing.script import Reply, Script

TWO_HOSTS = """
[providers.gpu1]
kind = "ollama"
host = "{one}"
[providers.gpu2]
kind = "ollama"
host = "{two}"
[models.q-on-1]
provider = "gpu1"
model = "qwen:7b"
[models.q-on-2]
provider = "gpu2"
model = "qwen:7b"
[roles]
coder = ["q-on-1", "q-on-2"]
[ensembles.spread]
members = [{{ role = "coder" }}, {{ role = "coder" }}, {{ role = "coder" }}, {{ role = "coder" }}]
judge = false
"""


def qwen(text: str) -> Script:
    return Script().add("qwen:7b", Reply.text(text, piece_delay_s=0.005))


async def test_members_of_one_ensemble_spread_over_replica_hosts(ollama_server):
    one, two = ollama_server(qwen("from one")), ollama_server(qwen("from two"))
    registry = load_registry_text(TWO_HOSTS.format(one=one.url, two=two.url), "t.toml")
    controller = Controller(registry)
    events: list[Event] = []
    controller.subscribe(events.append)
    status = await controller.run(RunRequest("go", ensemble="spread"))
    await controller.aclose()
    assert status == "ok"
    served = {e.member: e.model for e in events if isinstance(e, MemberStarted)}
    assert served == {"m1": "q-on-1", "m2": "q-on-2", "m3": "q-on-1", "m4": "q-on-2"}
    assert len(one.bodies("/api/chat")) == 2 and len(two.bodies("/api/chat")) == 2
    texts = {e.member: e.text for e in events if isinstance(e, MemberFinished)}
    assert texts == {"m1": "from one", "m2": "from two", "m3": "from one", "m4": "from two"}


async def test_a_dead_replica_falls_back_to_the_other_host(ollama_server):
    two = ollama_server(qwen("from two"))
    registry = load_registry_text(
        TWO_HOSTS.format(one="http://127.0.0.1:9", two=two.url), "t.toml")
    controller = Controller(registry)
    events: list[Event] = []
    controller.subscribe(events.append)
    status = await controller.run(RunRequest("go", ensemble="spread"))
    await controller.aclose()
    assert status == "ok"
    finished = {e.member: e.model for e in events if isinstance(e, MemberFinished)}
    assert finished == {f"m{i}": "q-on-2" for i in range(1, 5)}


async def test_native_tool_calls_from_ollama_reach_the_trace(ollama_server):
    call = {"name": "read_file", "arguments": {"path": "main.go"}}
    server = ollama_server(Script().add("qwen:7b", Reply(pieces=("",), tool_calls=[call])))
    registry = load_registry_text(
        TWO_HOSTS.format(one=server.url, two=server.url), "t.toml")
    controller = Controller(registry)
    events: list[Event] = []
    controller.subscribe(events.append)
    assert await controller.run(RunRequest("read it", role="coder")) == "ok"
    await controller.aclose()
    calls = [e for e in events if isinstance(e, Parse) and e.kind == "call"]
    assert calls and calls[0].detail == {"format": "native", "name": "read_file",
                                         "arguments": {"path": "main.go"},
                                         "index": 0, "native": True}


async def test_health_reports_each_provider_and_reload_keeps_unchanged_ones(ollama_server):
    one = ollama_server(qwen("x"))
    text = TWO_HOSTS.format(one=one.url, two="http://127.0.0.1:9")
    pool = ProviderPool(load_registry_text(text, "t.toml"))
    health = await pool.check_health()
    assert health["gpu1"].up and not health["gpu2"].up
    assert pool.model_up("q-on-1") is True and pool.model_up("q-on-2") is False
    kept = pool.provider("gpu1")
    # A reload that changes only gpu2's address keeps gpu1's provider (and its connections).
    await pool.update(load_registry_text(text.replace("127.0.0.1:9", "127.0.0.1:10"), "t.toml"))
    assert pool.provider("gpu1") is kept
    assert "gpu2" not in pool.health
    await pool.aclose()
