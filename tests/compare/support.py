"""Test support for comparing models: registries over two fake servers (Ollama and
OpenAI-compatible), a run collected with its events, and a recorded run in a store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from loco_tui.controller import Controller
from loco_tui.events import Event, JudgeStarted, Verdict
from loco_tui.orchestrator import RunRequest
from loco_tui.registry import Registry, load_registry_text
from loco_tui.store import Store
from loco_tui.store.records import outcome_json
from loco_tui.testing.script import Reply, Script

TIMEOUTS = "connect_s = 2\nfirst_token_s = 5\nidle_s = 2\n"


def two_servers(ollama_url: str, openai_url: str, body: str, *,
                ollama_parallel: int | None = None, openai_parallel: int | None = None) -> Registry:
    """A registry with provider `local` (the fake Ollama) and `lab` (the fake OpenAI-
    compatible server); ``body`` adds models, roles and ensembles."""
    local = f'[providers.local]\nkind = "ollama"\nhost = "{ollama_url}"\n'
    if ollama_parallel is not None:
        local += f"max_parallel = {ollama_parallel}\n"
    lab = f'[providers.lab]\nkind = "openai"\nbase_url = "{openai_url}"\n'
    if openai_parallel is not None:
        lab += f"max_parallel = {openai_parallel}\n"
    text = (local + "[providers.local.timeouts]\n" + TIMEOUTS + lab
            + "[providers.lab.timeouts]\n" + TIMEOUTS + body)
    return load_registry_text(text, "compare.toml")


def one_server(url: str, body: str, *, kind: str = "ollama") -> Registry:
    """A registry whose provider `local` is one fake server (`kind` ollama or openai)."""
    where = f'host = "{url}"' if kind == "ollama" else f'base_url = "{url}"'
    return load_registry_text(
        f'[providers.local]\nkind = "{kind}"\n{where}\n[providers.local.timeouts]\n'
        + TIMEOUTS + body, "compare.toml")


# Three members and a judge, all on provider `local`.
TRIO = """
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
judge = "arbiter"
[ensembles.trio]
members = [{ model = "alpha" }, { model = "beta" }, { model = "gamma" }]
verdict = "pick"
[ensembles.checked]
members = [{ model = "alpha" }, { model = "beta" }, { model = "gamma" }]
verdict = "pick"
debias = true
"""


def trio(judge: Reply, **members: Reply) -> Script:
    script = Script()
    for name in ("alpha", "beta", "gamma"):
        script.add(name, members.get(name, Reply.text(f"{name.title()} answers the task.")))
    script.add("arbiter", judge)
    return script


async def run(registry: Registry, request: RunRequest, *, seed: int = 7,
              store: Store | None = None) -> list[Event]:
    """Run ``request`` through a real Controller; every event (recorded when ``store``)."""
    controller = Controller(registry, store=store)
    events: list[Event] = []
    controller.subscribe(events.append)
    try:
        await controller.run(request, seed=seed)
    finally:
        await controller.aclose()
    assert controller.history_error is None, controller.history_error
    return events


def verdict_of(events: list[Event]) -> Verdict:
    return next(e for e in events if isinstance(e, Verdict))


def judge_passes(events: list[Event]) -> list[JudgeStarted]:
    return [e for e in events if isinstance(e, JudgeStarted)]


# -- verdicts written straight into a store's file -------------------------------------------
# (member, model, persona, role, result)
Member = tuple[str, str, str | None, str | None, str]


def write_verdicts(db_path: Path, verdicts: list[dict[str, Any]]) -> None:
    """Insert runs and their verdicts into an opened (migrated) store file, as the recorder
    and votes would have: each dict has ``run`` (id), ``by``, ``kind``, ``members``
    (Member tuples), and optionally ``winner``, ``label``, ``judge_model``,
    ``position_consistent``, ``started_at``."""
    conn = sqlite3.connect(db_path)
    with conn:
        for n, v in enumerate(verdicts):
            run_id = v["run"]
            started = v.get("started_at", 1_700_000_000.0 + n)
            conn.execute("INSERT OR IGNORE INTO sessions (id, created_at, updated_at) "
                         "VALUES (?, ?, ?)", (f"s{run_id}", started, started))
            conn.execute("INSERT OR IGNORE INTO runs (id, session_id, turn, prompt, mode, "
                          "target, status, started_at) VALUES (?, ?, 0, 'p', 'ensemble', 'e', "
                          "'ok', ?)", (run_id, f"s{run_id}", started))
            members = v["members"]
            winner = v.get("winner")
            if winner is None and v["kind"] == "pick":
                winner = next(m for m, *_rest, result in members if result == "win")
            outcome = outcome_json([(model, persona, role, result)
                                    for _, model, persona, role, result in members])
            cursor = conn.execute(
                "INSERT INTO verdicts (run_id, by, winner, label, mode, confidence, reason, "
                "parsed_by, candidates, created_at, kind, judge_model, position_consistent, "
                "outcome) VALUES (?, ?, ?, ?, ?, NULL, '', ?, ?, ?, ?, ?, ?, ?)",
                (run_id, v["by"], winner,
                 v.get("label", "A" if v["by"] == "judge" and v["kind"] == "pick" else None),
                 "synthesize" if v["kind"] == "synthesis" else "pick",
                 "human" if v["by"] == "human" else "json",
                 json.dumps([m[0] for m in members]), started, v["kind"],
                 v.get("judge_model"), v.get("position_consistent"), outcome))
            for member, model, persona, role, result in members:
                conn.execute("INSERT INTO verdict_members (verdict_id, member, model, role, "
                             "persona, result) VALUES (?, ?, ?, ?, ?, ?)",
                             (cursor.lastrowid, member, model, role, persona, result))
    conn.close()
