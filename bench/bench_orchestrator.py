"""Orchestration costs, against baselines run in the same process.

1. Overhead per streamed token: one member through the orchestrator (events, parser, a
   no-op sink) versus iterating the same in-process provider alone. Target <= 20 us/token.
2. Parallel ensemble wall time versus (slowest member + judge), three members with scripted
   latencies streaming over real HTTP from the fake Ollama. Target <= 1.05x.
3. The same ensemble with `max_parallel = 1` on its provider: members queue, so the wall time
   follows (sum of the members + judge) instead; ratio to that sum, target <= 1.05x.

Run: .venv/bin/python bench/bench_orchestrator.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loco_tui.controller import Controller
from loco_tui.orchestrator import RunContext, RunRequest
from loco_tui.orchestrator.member import MemberSpec, stream_member
from loco_tui.orchestrator.thread import Conversation
from loco_tui.providers.pool import ProviderPool
from loco_tui.registry import load_registry_text
from loco_tui.testing.fake_ollama import FakeOllama
from loco_tui.testing.fake_provider import ScriptedProvider
from loco_tui.testing.script import Reply, Script

WORDS = ("the quick brown fox jumps over a lazy dog while the model keeps on writing plain "
         "prose about nothing in particular").split()

REGISTRY = """
[providers.local]
kind = "ollama"
host = "{url}"
{limit}
[models.a]
provider = "local"
model = "a"
[models.b]
provider = "local"
model = "b"
[models.c]
provider = "local"
model = "c"
[models.j]
provider = "local"
model = "j"
[roles]
judge = "j"
[ensembles.trio]
members = [{{ model = "a" }}, {{ model = "b" }}, {{ model = "c" }}]
judge = "judge"
"""


def token_script(n: int) -> Script:
    pieces = tuple(" " + WORDS[i % len(WORDS)] for i in range(n))
    return Script().add("a", Reply(pieces=pieces))


async def raw_stream(provider: ScriptedProvider) -> float:
    t0 = time.perf_counter()
    async for _ in provider.stream_chat("a", [{"role": "user", "content": "go"}]):
        pass
    return time.perf_counter() - t0


async def orchestrated_stream(provider: ScriptedProvider, registry_text: str) -> float:
    registry = load_registry_text(registry_text, "bench.toml")
    pool = ProviderPool(registry, factory=lambda pid, cfg: provider)
    ctx = RunContext(lambda event: None)
    spec = MemberSpec("m1", [pool.target("a")], Conversation("go"))
    t0 = time.perf_counter()
    outcome = await stream_member(ctx, spec)
    elapsed = time.perf_counter() - t0
    assert outcome.ok
    return elapsed


def overhead(n: int, repeats: int) -> dict[str, float]:
    provider = ScriptedProvider("local", token_script(n))
    text = REGISTRY.format(url="http://unused", limit="")
    raw, orch = [], []
    for _ in range(repeats):  # interleaved, so drift in machine load hits both alike
        raw.append(asyncio.run(raw_stream(provider)))
        orch.append(asyncio.run(orchestrated_stream(provider, text)))
    raw_us = statistics.median(raw) / n * 1e6
    orch_us = statistics.median(orch) / n * 1e6
    return {"raw_us": raw_us, "orch_us": orch_us, "overhead_us": orch_us - raw_us,
            "ratio": orch_us / raw_us}


def ensemble_wall(repeats: int, max_parallel: int | None = None) -> dict[str, float]:
    # Members take ~0.4 s, ~0.7 s and ~1.0 s; the judge ~0.3 s.
    def member(first: float, n: int, gap: float) -> Reply:
        return Reply(pieces=tuple(f" w{i}" for i in range(n)), first_token_delay_s=first,
                     piece_delay_s=gap)

    script = Script()
    script.add("a", member(0.1, 31, 0.01))
    script.add("b", member(0.2, 51, 0.01))
    script.add("c", member(0.3, 71, 0.01))
    script.add("j", Reply.text('B is best. {"winner": "B", "mode": "pick", "confidence": 0.9, '
                               '"reason": "x"}', first_token_delay_s=0.2, piece_delay_s=0.01))
    ratios, walls, ideals = [], [], []
    with FakeOllama(script) as server:
        limit = f"max_parallel = {max_parallel}" if max_parallel else ""
        registry = load_registry_text(REGISTRY.format(url=server.url, limit=limit),
                                      "bench.toml")
        for _ in range(repeats):
            durations: dict[str, float] = {}

            def sink(event, durations=durations) -> None:
                if event.type == "member_finished":
                    durations[event.member] = event.stats.duration_s

            async def one() -> float:
                controller = Controller(registry)
                controller.subscribe(sink)
                t0 = time.perf_counter()
                status = await controller.run(RunRequest("go", ensemble="trio"), seed=1)
                wall = time.perf_counter() - t0
                await controller.aclose()
                assert status == "ok", status
                return wall

            wall = asyncio.run(one())
            members = [durations[m] for m in ("m1", "m2", "m3")]
            # In parallel the slowest member bounds the wait; queued, all of them in turn.
            ideal = (sum(members) if max_parallel == 1 else max(members)) + durations["judge"]
            walls.append(wall)
            ideals.append(ideal)
            ratios.append(wall / ideal)
    return {"wall_s": statistics.median(walls), "ideal_s": statistics.median(ideals),
            "ratio": statistics.median(ratios)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 5000 if args.quick else 20000
    repeats = 3 if args.quick else 7
    o = overhead(n, repeats)
    print(f"orchestration overhead ({n} tokens, median of {repeats}):")
    print(f"  provider alone      {o['raw_us']:8.2f} us/token")
    print(f"  through orchestrator{o['orch_us']:8.2f} us/token")
    print(f"  overhead            {o['overhead_us']:8.2f} us/token   (target <= 20)   "
          f"ratio {o['ratio']:.2f}x")
    e = ensemble_wall(3 if args.quick else 5)
    print("parallel ensemble (3 members + judge over loopback HTTP):")
    print(f"  wall {e['wall_s']:.3f} s vs slowest member + judge {e['ideal_s']:.3f} s  "
          f"ratio {e['ratio']:.3f}x   (target <= 1.05)")
    q = ensemble_wall(3 if args.quick else 5, max_parallel=1)
    print("the same with max_parallel = 1 (members queue for the provider):")
    print(f"  wall {q['wall_s']:.3f} s vs sum of members + judge {q['ideal_s']:.3f} s  "
          f"ratio {q['ratio']:.3f}x   (target <= 1.05; {q['wall_s'] / e['wall_s']:.2f}x the "
          "parallel wall)")


if __name__ == "__main__":
    main()
