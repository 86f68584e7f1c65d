"""Headless runs: `loco run PROMPT` as JSONL events (`--json`) or as readable text."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from loco_tui.controller import Controller
from loco_tui.events import (
    Delta,
    Event,
    MemberFailed,
    MemberFinished,
    MemberStarted,
    Route,
    RunFinished,
    Verdict,
)
from loco_tui.orchestrator import RunRequest
from loco_tui.registry.schema import Registry


class JsonLinesSink:
    """One JSON object per event per line, flushed so a pipe sees events as they happen."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        self.out.write(event.to_json() + "\n")
        self.out.flush()


class TextSink:
    """Readable output. A lone member streams live; concurrent members would interleave,
    so each is printed whole when it finishes."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err
        self.live: set[str] = set()
        self.buffers: dict[str, list[str]] = {}
        self.titles: dict[str, str] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, Route):
            self.err.write(f"» {event.role or '-'} → {event.model} ({event.reason})\n")
        elif isinstance(event, MemberStarted):
            title = event.model + (f" · {event.persona}" if event.persona else "")
            self.titles[event.member] = title
            self.buffers[event.member] = []
        elif isinstance(event, Delta) and event.channel == "answer":
            member = event.member
            if not self.live and len(self.buffers) == 1:
                # Alone: stream it as it comes.
                self.live.add(member)
                self.out.write(f"── {member}: {self.titles.get(member, '')}\n")
                self.out.write("".join(self.buffers[member]))
            if member in self.live:
                self.out.write(event.text)
            else:
                self.buffers.setdefault(member, []).append(event.text)
        elif isinstance(event, MemberFinished):
            text = "".join(self.buffers.pop(event.member, []))
            s = event.stats
            rate = f", {s.tokens_per_s:.1f} tok/s" if s.tokens_per_s else ""
            summary = f"({s.tokens_out} tokens, {s.duration_s:.1f}s{rate})"
            if event.member in self.live:
                self.live.discard(event.member)
                self.out.write(f"\n   {summary}\n")
            else:
                title = self.titles.get(event.member, event.model)
                self.out.write(f"\n── {event.member}: {title} {summary}\n{text.strip()}\n")
        elif isinstance(event, MemberFailed):
            self.buffers.pop(event.member, None)
            self.live.discard(event.member)
            self.err.write(f"✗ {event.member} ({event.model}) failed: "
                           f"{event.category}: {event.message}\n")
        elif isinstance(event, Verdict):
            who = event.winner or "synthesis"
            self.out.write(f"\n★ verdict: {event.mode} {who} (confidence {event.confidence:.2f},"
                           f" {event.parsed_by}): {event.reason}\n")
        elif isinstance(event, RunFinished):
            tail = f": {event.message}" if event.message else ""
            self.err.write(f"run {event.status}{tail}\n")
        self.out.flush()


def run_headless(
    registry: Registry,
    prompt: str,
    *,
    workflow: str | None = None,
    ensemble: str | None = None,
    role: str | None = None,
    as_json: bool = False,
    seed: int | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> str:
    out = out or sys.stdout
    err = err or sys.stderr
    request = RunRequest(prompt, role=role, ensemble=ensemble, workflow=workflow)

    async def main() -> str:
        controller = Controller(registry)
        controller.subscribe(JsonLinesSink(out) if as_json else TextSink(out, err))
        try:
            return await controller.run(request, seed=seed)
        finally:
            await controller.aclose()

    return asyncio.run(main())
