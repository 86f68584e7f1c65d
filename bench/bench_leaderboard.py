"""What the leaderboard costs, against a baseline in the same process.

The store holds 100,000 verdicts (``--quick``: 20,000) over as many runs, as the recorder and
votes write them: judge picks among two or three of eight models (Bradley-Terry odds from
fixed strengths, a few unreadable fallbacks, some debiased), a person's vote on one run in
ten (picks, ties, "all bad"). Measured, medians of interleaved repeats, each opening the file
afresh as `loco stats --leaderboard` does:

1. baselines: opening the store alone, and opening it and reading every verdict member row
   (model, result), what a leaderboard joining the members would read at the least;
2. ``Store.leaderboard()``: both boards fitted with intervals, agreement, the judges' audit
   (it groups the verdicts by their stored outcome in an index instead).

Target: the leaderboard on 100,000 verdicts < 300 ms.

Run: .venv/bin/python bench/bench_leaderboard.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loco_tui.store import Store
from loco_tui.store.records import outcome_json

STRENGTH = {"qwen-7b": 1.0, "llama-8b": 0.7, "mistral-7b": 0.4, "gemma-4b": 0.1,
            "phi-3": -0.1, "qwen-1.5b": -0.4, "smol": -1.2, "hermes-8b": 0.5}
JUDGES = ("qwen-judge", "smol-judge")
# A judge's reason as long as real ones are: rows are read at their real width.
REASON = ("B is correct and handles the empty input; A forgets the edge case and C answers "
          "another question entirely.")


def populate(path: Path, verdicts: int, seed: int = 1) -> None:
    """Write ``verdicts`` runs, each with a judge verdict, into a migrated store file."""
    rng = random.Random(seed)
    models = sorted(STRENGTH)
    sessions, runs, rows, members = [], [], [], []
    start = 1_700_000_000.0
    verdict_id = 0
    for n in range(verdicts):
        run_id = f"r{n:06d}"
        at = start + n * 60
        sessions.append((f"s{run_id}", at, at))
        runs.append((run_id, f"s{run_id}", at))
        chosen = rng.sample(models, rng.choice((2, 3, 3)))
        ids = [f"m{i}" for i in range(1, len(chosen) + 1)]
        weights = [math.exp(STRENGTH[m]) for m in chosen]
        winner = rng.choices(ids, weights)[0]
        judge = JUDGES[n % 2]
        readable = rng.random() > 0.03
        debiased = n % 5 == 0
        consistent = None if not debiased else int(rng.random() > 0.2)
        verdict_id += 1
        results = [(member, model, "win" if member == winner else "loss")
                   for member, model in zip(ids, chosen, strict=True)]
        rows.append((verdict_id, run_id, "judge", winner, "A" if readable else None, "pick",
                     0.7, REASON, "json", json.dumps(ids), at, "pick", judge, consistent,
                     outcome_json([(model, None, None, r) for _, model, r in results])))
        members += [(verdict_id, member, model, None, None, r) for member, model, r in results]
        if n % 10 == 0:
            verdict_id += 1
            kind = rng.choice(("pick", "pick", "pick", "tie", "all_bad"))
            voted = rng.choices(ids, weights)[0] if kind == "pick" else None
            results = [(member, model, {"pick": "win" if member == voted else "loss",
                                        "tie": "tie", "all_bad": "loss"}[kind])
                       for member, model in zip(ids, chosen, strict=True)]
            rows.append((verdict_id, run_id, "human", voted, None, "pick", None,
                         "chosen by the user", "human", json.dumps(ids), at + 5, kind, None,
                         None, outcome_json([(model, None, None, r) for _, model, r in results])))
            members += [(verdict_id, member, model, None, None, r)
                        for member, model, r in results]
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany("INSERT INTO sessions (id, created_at, updated_at) VALUES (?, ?, ?)",
                         sessions)
        conn.executemany("INSERT INTO runs (id, session_id, turn, prompt, mode, target, "
                         "status, started_at) VALUES (?, ?, 0, 'p', 'ensemble', 'e', 'ok', ?)",
                         runs)
        conn.executemany("INSERT INTO verdicts (id, run_id, by, winner, label, mode, "
                         "confidence, reason, parsed_by, candidates, created_at, kind, "
                         "judge_model, position_consistent, outcome) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO verdict_members (verdict_id, member, model, role, "
                         "persona, result) VALUES (?, ?, ?, ?, ?, ?)", members)
    conn.execute("ANALYZE")
    conn.close()


async def open_only(path: Path) -> float:
    t0 = time.perf_counter()
    async with await Store.open(path):
        pass
    return time.perf_counter() - t0


async def baseline(path: Path) -> float:
    t0 = time.perf_counter()
    async with await Store.open(path) as store:
        rows = await store.db.fetchall("SELECT m.model, m.result FROM verdicts v "
                                       "JOIN verdict_members m ON m.verdict_id = v.id")
    elapsed = time.perf_counter() - t0
    assert rows
    return elapsed


async def leaderboard(path: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    async with await Store.open(path) as store:
        board = await store.leaderboard()
    elapsed = time.perf_counter() - t0
    return elapsed, board.judge.verdicts + board.human.verdicts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    verdicts = 20_000 if args.quick else 100_000
    repeats = 3 if args.quick else 7
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "loco.db"
        asyncio.run(_create(path))
        t0 = time.perf_counter()
        populate(path, verdicts)
        print(f"{verdicts:,} runs with a judge verdict, a vote on one in ten "
              f"(written in {time.perf_counter() - t0:.1f} s)")
        opened, base, board = [], [], []
        counted = 0
        for _ in range(repeats):  # interleaved, so drift in machine load hits all alike
            opened.append(asyncio.run(open_only(path)))
            base.append(asyncio.run(baseline(path)))
            elapsed, counted = asyncio.run(leaderboard(path))
            board.append(elapsed)
    o, b, lb = statistics.median(opened), statistics.median(base), statistics.median(board)
    print(f"  open the store alone                        {o * 1000:8.1f} ms")
    print(f"  open + read every verdict member (baseline) {b * 1000:8.1f} ms")
    print(f"  open + leaderboard ({counted:,} verdicts with outcomes) {lb * 1000:8.1f} ms   "
          f"ratio {lb / b:.2f}x   (target < 300 ms on 100,000)")


async def _create(path: Path) -> None:
    """An empty store file at the latest schema."""
    store = await Store.open(path)
    await store.aclose()


if __name__ == "__main__":
    main()
