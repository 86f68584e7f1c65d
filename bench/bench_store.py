"""What the store costs, against baselines run in the same process.

1. Recorder cost per event: the same ensemble run (three members and a judge streaming from
   the in-process scripted provider, no I/O) with and without a Recorder subscribed,
   including the final flush. Medians of interleaved repeats; ratio and us/event.
2. `stats()` over 10,000 stored runs (target < 200 ms).
3. The first page of `sessions()` over 10,000 sessions, including opening the file
   (target < 300 ms), and the same with a search.

The 10,000 runs are copies of a few dozen real recorded runs (ensembles with failures, a
synthesis, fallbacks, human verdicts) spread over 90 days, with their event streams.

Run: .venv/bin/python bench/bench_store.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loco_tui.controller import Controller
from loco_tui.events import Event, Verdict
from loco_tui.orchestrator import RunRequest
from loco_tui.providers.pool import ProviderPool
from loco_tui.registry import Registry, load_registry_text
from loco_tui.store import Store
from loco_tui.testing.fake_provider import scripted_factory
from loco_tui.testing.script import Fault, Reply, Script

REGISTRY = """
[providers.local]
kind = "ollama"
host = "http://unused"
[models.alpha]
provider = "local"
model = "alpha"
[models.beta]
provider = "local"
model = "beta"
[models.gamma]
provider = "local"
model = "gamma"
[models.arbiter]
provider = "local"
model = "arbiter"
[roles]
coder = ["alpha", "beta"]
judge = "arbiter"
[ensembles.trio]
members = [{ model = "alpha" }, { model = "beta" }, { model = "gamma" }]
judge = "judge"
"""
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "the",
         "model", "keeps", "on", "writing", "plain", "prose", "about", "nothing", "much"]
PROMPTS = ["dedupe a list of emails", "parse a csv file with quotes", "explain python sets",
           "write a retry loop with backoff", "why does my regex not match",
           "review this sql migration", "summarise the design doc", "fix the flaky test"]
VERDICT = ('B reads best.\n{"winner": "B", "mode": "pick", "confidence": 0.8, '
           '"reason": "clearest"}')
SYNTHESIS = ('Merged.\n{"winner": null, "mode": "synthesize", "confidence": 0.6, '
             '"reason": "both"}')
TARGET_RUNS = 10_000


def pieces(n: int) -> tuple[str, ...]:
    return tuple(" " + WORDS[i % len(WORDS)] for i in range(n))


def trio_script(tokens: int, **overrides: Reply) -> Script:
    replies = {"alpha": Reply(pieces=pieces(tokens)), "beta": Reply(pieces=pieces(tokens)),
               "gamma": Reply(pieces=pieces(tokens)), "arbiter": Reply.text(VERDICT)}
    replies.update(overrides)
    script = Script()
    for name, reply in replies.items():
        script.add(name, reply)
    return script


def registry() -> Registry:
    return load_registry_text(REGISTRY, "bench.toml")


# -- 1. recorder cost per event --------------------------------------------------------
async def one_run(script: Script, store: Store | None) -> tuple[float, int]:
    controller = Controller(registry(), pool=ProviderPool(
        registry(), factory=scripted_factory(script)), store=store)
    count = 0

    def counter(event: Event) -> None:
        nonlocal count
        count += 1

    controller.subscribe(counter)
    t0 = time.perf_counter()
    status = await controller.run(RunRequest("go", ensemble="trio"), seed=1)
    if controller.recorder is not None:  # its last batch is part of the recorder's cost
        await controller.recorder.aclose()
    elapsed = time.perf_counter() - t0
    await controller.aclose()
    assert status == "ok", status
    assert controller.history_error is None, controller.history_error
    return elapsed, count


def recorder_cost(tokens: int, repeats: int, workdir: Path) -> dict[str, float]:
    script = trio_script(tokens)
    bare, recorded, events = [], [], 0

    async def with_store(i: int) -> tuple[float, int]:
        async with await Store.open(workdir / f"cost-{i}.db") as store:
            return await one_run(script, store)

    for i in range(repeats):  # interleaved, so drift in machine load hits both alike
        seconds, events = asyncio.run(one_run(script, None))
        bare.append(seconds)
        seconds, _ = asyncio.run(with_store(i))
        recorded.append(seconds)
    b, r = statistics.median(bare), statistics.median(recorded)
    return {"events": events, "bare_us": b / events * 1e6, "recorded_us": r / events * 1e6,
            "cost_us": (r - b) / events * 1e6, "ratio": r / b}


# -- 2, 3. a history of 10,000 runs ------------------------------------------------------
async def record_templates(path: Path) -> int:
    """A few dozen real runs of every shape, recorded into ``path``."""
    shapes: list[tuple[RunRequest, Script]] = []
    for i, prompt in enumerate(PROMPTS):
        shapes.append((RunRequest(prompt, ensemble="trio"), trio_script(40 + i)))
        shapes.append((RunRequest(prompt + " again", ensemble="trio"), trio_script(
            30, beta=Reply(pieces=pieces(10), fault=Fault.DROP, fault_after=4))))
        shapes.append((RunRequest(prompt + " briefly", ensemble="trio"),
                       trio_script(20, arbiter=Reply.text(SYNTHESIS))))
        shapes.append((RunRequest(prompt + " in one go", role="coder"), trio_script(
            50, alpha=Reply(fault=Fault.MODEL_MISSING))))
    async with await Store.open(path) as store:
        for n, (request, script) in enumerate(shapes):
            controller = Controller(registry(), pool=ProviderPool(
                registry(), factory=scripted_factory(script)), store=store)
            verdicts: list[Verdict] = []
            controller.subscribe(lambda e, v=verdicts: v.append(e) if isinstance(e, Verdict)
                                 else None)
            run_id = controller.start(request, seed=n)
            await controller.wait(run_id)
            await controller.aclose()
            if n % 3 == 0 and verdicts and verdicts[0].winner:
                await store.record_human_verdict(run_id, "m3" if verdicts[0].winner != "m3"
                                                 else "m1")
    return len(shapes)


def replicate(path: Path, templates: int) -> None:
    """Copy the template runs (with their sessions, calls, events, verdicts and parse
    results) until the file holds TARGET_RUNS runs, spread over the last 90 days."""
    copies = -(-TARGET_RUNS // templates)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("CREATE TEMP TABLE t_runs AS SELECT * FROM runs")
    for table in ("sessions", "calls", "events", "verdicts", "parse_results"):
        conn.execute(f"CREATE TEMP TABLE t_{table} AS SELECT * FROM {table}")
    now = time.time()
    conn.execute("BEGIN")
    for i in range(1, copies):
        sfx = f"-{i:05d}"
        shift = (copies - i) / copies * 90 * 86400
        conn.execute("INSERT INTO sessions SELECT id || ?, title, title_edited, "
                     "created_at - ?, updated_at - ? FROM t_sessions", (sfx, shift, shift))
        conn.execute(
            "INSERT INTO runs (id, session_id, turn, prompt, mode, target, status, started_at, "
            "finished_at, duration_s, answer, answer_from, message, eval_tag, pid) "
            "SELECT id || ?1, session_id || ?1, turn, prompt, mode, target, status, "
            "started_at - ?2, finished_at - ?2, duration_s, answer, answer_from, message, "
            "eval_tag, pid FROM t_runs", (sfx, shift))
        conn.execute("INSERT INTO calls SELECT run_id || ?, member, attempt, role, model, "
                     "provider, persona, tokens_in, tokens_out, ttft_s, tokens_per_s, gen_s, "
                     "duration_s, outcome, category, message, finish_reason, text, started_t, "
                     "finished_t FROM t_calls", (sfx,))
        conn.execute("INSERT INTO events SELECT run_id || ?, seq, t, type, body FROM t_events",
                     (sfx,))
        conn.execute("INSERT INTO verdicts (run_id, by, winner, label, mode, confidence, "
                     "reason, parsed_by, candidates, created_at) SELECT run_id || ?, by, "
                     "winner, label, mode, confidence, reason, parsed_by, candidates, "
                     "created_at - ? FROM t_verdicts", (sfx, shift))
        conn.execute("INSERT INTO parse_results SELECT run_id || ?, member, attempt, kind, "
                     "reason, tool_calls FROM t_parse_results", (sfx,))
    conn.execute("COMMIT")
    conn.execute("UPDATE sessions SET updated_at = min(updated_at, ?)", (now,))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = await fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


async def history_figures(path: Path, repeats: int) -> dict[str, float]:
    async def first_page(search: str | None = None):
        async with await Store.open(path) as store:
            return await store.sessions(limit=50, search=search)

    out: dict[str, float] = {}
    out["page_s"], page = await timed(first_page, repeats)
    assert len(page) == 50
    out["search_s"], found = await timed(lambda: first_page("emails"), repeats)
    assert found and all("emails" in (s.first_prompt or "") for s in found)
    async with await Store.open(path) as store:
        out["stats_s"], rows = await timed(store.stats, repeats)
        assert sum(r.calls for r in rows) > TARGET_RUNS
        out["stats_role_s"], _ = await timed(lambda: store.stats(role="coder"), repeats)
        week = time.time() - 7 * 86400
        out["stats_since_s"], _ = await timed(lambda: store.stats(since=week), repeats)
        (count,) = (await store.db.fetchall("SELECT count(*) FROM runs"))[0]
        out["runs"] = count
        sid = page[0].id
        out["session_s"], _ = await timed(lambda: store.session(sid), repeats)
    out["mb"] = path.stat().st_size / 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    tokens = 500 if args.quick else 2000
    repeats = 3 if args.quick else 7
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        c = recorder_cost(tokens, repeats, work)
        print(f"recorder cost (ensemble of 3 x {tokens} tokens + judge, {c['events']:.0f} "
              f"events, median of {repeats}):")
        print(f"  run without recorder  {c['bare_us']:7.2f} us/event")
        print(f"  run with recorder     {c['recorded_us']:7.2f} us/event "
              "(final flush included)")
        print(f"  recorder cost         {c['cost_us']:7.2f} us/event   ratio {c['ratio']:.2f}x")

        path = work / "history.db"
        t0 = time.perf_counter()
        templates = asyncio.run(record_templates(path))
        replicate(path, templates)
        seeded_s = time.perf_counter() - t0
        h = asyncio.run(history_figures(path, repeats))
        print(f"history of {h['runs']:.0f} runs / sessions ({h['mb']:.0f} MB, seeded in "
              f"{seeded_s:.1f} s), median of {repeats}:")
        print(f"  stats()                          {h['stats_s'] * 1e3:7.1f} ms  (target < 200)")
        print(f"  stats(role='coder')              {h['stats_role_s'] * 1e3:7.1f} ms")
        print(f"  stats(since=a week ago)          {h['stats_since_s'] * 1e3:7.1f} ms")
        print(f"  open + sessions() first page     {h['page_s'] * 1e3:7.1f} ms  (target < 300)")
        print(f"  open + sessions(search=) page    {h['search_s'] * 1e3:7.1f} ms")
        print(f"  session(id) as turns             {h['session_s'] * 1e3:7.1f} ms")


if __name__ == "__main__":
    main()
