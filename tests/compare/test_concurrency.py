"""`max_parallel` per provider: members beyond it wait in Loco's queue (announced, with their
place in line) while another provider's members run in parallel, as the fake servers' own
clocks show; and the queue itself, in order, under cancellation and resizing."""

from __future__ import annotations

import asyncio
import itertools

from loco_tui.controller import Controller
from loco_tui.events import MemberFinished, MemberQueued, MemberStarted, RunFinished
from loco_tui.orchestrator import RunRequest
from loco_tui.providers.slots import CallSlots
from loco_tui.testing.script import Generation, Reply, Script
from tests.compare.support import run, two_servers

MIXED = """
[models.alpha]
provider = "local"
model = "alpha"
[models.beta]
provider = "local"
model = "beta"
[models.gamma]
provider = "local"
model = "gamma"
[models.delta]
provider = "lab"
model = "delta"
[models.omega]
provider = "lab"
model = "omega"
[ensembles.spread]
members = [{ model = "alpha" }, { model = "beta" }, { model = "gamma" },
           { model = "delta" }, { model = "omega" }]
judge = false
"""

SLOW = dict(first_token_delay_s=0.15, piece_delay_s=0.03)


def script() -> Script:
    out = Script()
    for name in ("alpha", "beta", "gamma", "delta", "omega"):
        out.add(name, Reply.text(f"{name} says one two three four five", **SLOW))
    return out


def overlapping(generations: list[Generation]) -> bool:
    return any(a.received < (b.finished or 0) and b.received < (a.finished or 0)
               for a, b in itertools.combinations(generations, 2))


async def test_max_parallel_one_serialises_a_provider_while_another_runs_in_parallel(
        ollama_server, openai_server):
    local, lab = ollama_server(script()), openai_server(script())
    registry = two_servers(local.url, lab.base_url, MIXED, ollama_parallel=1)
    events = await run(registry, RunRequest("go", ensemble="spread"))
    assert isinstance(events[-1], RunFinished) and events[-1].status == "ok"

    # The Ollama host saw one generation at a time: each arrived after the last finished.
    on_local = sorted(local.generations, key=lambda g: g.received)
    assert [g.model for g in on_local] == ["alpha", "beta", "gamma"]
    assert all(g.finished is not None for g in on_local)
    for before, after in itertools.pairwise(on_local):
        assert after.received >= before.finished  # type: ignore[operator]
    # The OpenAI-compatible server, without a limit, ran its two at once.
    assert len(lab.generations) == 2 and overlapping(lab.generations)
    # ... and they overlapped the first local member too: the limit is per provider.
    assert overlapping([on_local[0], *lab.generations])

    queued = [e for e in events if isinstance(e, MemberQueued)]
    assert {e.member for e in queued} == {"m2", "m3"}
    assert all(e.provider == "local" and e.limit == 1 for e in queued)
    # m2 waits first in line; m3 behind it, then first once m2 is running.
    assert [(e.member, e.ahead) for e in queued] == [("m2", 0), ("m3", 1), ("m3", 0)]
    assert queued[0].running == 1
    order = [(type(e).__name__, getattr(e, "member", None)) for e in events]
    for member in ("m2", "m3"):
        # A queued member starts only after it left the line.
        assert order.index(("MemberQueued", member)) < order.index(("MemberStarted", member))
    started = {e.member: e.t for e in events if isinstance(e, MemberStarted)}
    finished = {e.member: e.t for e in events if isinstance(e, MemberFinished)}
    assert started["m2"] >= finished["m1"] and started["m3"] >= finished["m2"]


async def test_without_a_limit_nobody_queues(ollama_server, openai_server):
    local, lab = ollama_server(script()), openai_server(script())
    events = await run(two_servers(local.url, lab.base_url, MIXED),
                       RunRequest("go", ensemble="spread"))
    assert not any(isinstance(e, MemberQueued) for e in events)
    assert overlapping(local.generations)


async def test_a_run_cancelled_while_members_queue_leaves_nothing_behind(
        ollama_server, openai_server):
    local, lab = ollama_server(script()), openai_server(script())
    controller = Controller(two_servers(local.url, lab.base_url, MIXED, ollama_parallel=1))
    events: list = []
    controller.subscribe(events.append)
    run_id = controller.start(RunRequest("go", ensemble="spread"))
    while not any(isinstance(e, MemberQueued) for e in events):
        await asyncio.sleep(0.01)
    await controller.cancel(run_id)
    await controller.aclose()
    failed = {e.member: e.message for e in events if type(e).__name__ == "MemberFailed"}
    assert "queued" in failed["m2"] and "queued" in failed["m3"]
    slots = controller.pool.slots("local")
    assert (slots.running, slots.waiting) == (0, 0)
    assert isinstance(events[-1], RunFinished) and events[-1].status == "cancelled"


# -- the queue on its own --------------------------------------------------------------------
async def test_slots_serve_in_arrival_order_and_report_places():
    slots = CallSlots(2)
    started: list[str] = []
    places: dict[str, list[int]] = {}
    release = asyncio.Event()

    async def call(name: str) -> None:
        async with slots.slot(lambda ahead: places.setdefault(name, []).append(ahead)):
            started.append(name)
            await release.wait()

    tasks = [asyncio.create_task(call(n)) for n in "abcde"]
    await asyncio.sleep(0.01)
    assert started == ["a", "b"] and (slots.running, slots.waiting) == (2, 3)
    assert places == {"c": [0], "d": [1], "e": [2]}
    release.set()
    await asyncio.gather(*tasks)
    assert started == list("abcde")
    # Each waiter heard its place again whenever the line moved.
    assert places == {"c": [0], "d": [1, 0], "e": [2, 1, 0]}
    assert (slots.running, slots.waiting) == (0, 0)


async def test_a_cancelled_waiter_leaves_the_line_and_the_rest_move_up():
    slots = CallSlots(1)
    places: dict[str, list[int]] = {}
    hold = asyncio.Event()

    async def call(name: str) -> None:
        async with slots.slot(lambda ahead: places.setdefault(name, []).append(ahead)):
            await hold.wait()

    first = asyncio.create_task(call("a"))
    waiting = [asyncio.create_task(call(n)) for n in "bcd"]
    await asyncio.sleep(0.01)
    waiting[0].cancel()
    await asyncio.sleep(0.01)
    assert places["c"] == [1, 0] and places["d"] == [2, 1]
    assert slots.waiting == 2
    hold.set()
    await asyncio.gather(first, *waiting[1:])
    assert (slots.running, slots.waiting) == (0, 0)


async def test_a_larger_limit_starts_waiters_at_once():
    slots = CallSlots(1)
    hold = asyncio.Event()
    running: list[str] = []

    async def call(name: str) -> None:
        async with slots.slot():
            running.append(name)
            await hold.wait()

    tasks = [asyncio.create_task(call(n)) for n in "abc"]
    await asyncio.sleep(0.01)
    assert running == ["a"]
    slots.resize(3)
    await asyncio.sleep(0.01)
    assert running == ["a", "b", "c"]
    hold.set()
    await asyncio.gather(*tasks)
    slots.resize(None)
    assert slots.free()
