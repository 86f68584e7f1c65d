"""Headless runs: `loco run PROMPT` as JSONL events (`--json`) or as readable text.

Output is the run's whole point here, so its failures end the run (see the controller's
critical sinks): a reply the sink cannot write, or a stdout closed by `| head`, cancels the
generation and exits non-zero with one line on stderr instead of a traceback or a silently
truncated result. SIGINT and SIGTERM cancel the run the same way (`run_finished cancelled`,
exit 130 or 143).

Text mode is for people, so every piece of model or server text is neutralised (control
sequences shown, never executed) and nothing that is not the answer passes for it: a reply
that failed mid-stream is marked as such before the fallback model's answer, and a reply
cut by the token limit says so. JSON mode is lossless: JSON escapes control characters.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import stat
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from loco_tui.controller import Controller
from loco_tui.describe import confidence_text, verdict_detail
from loco_tui.events import (
    Delta,
    Event,
    MemberFailed,
    MemberFinished,
    MemberStarted,
    Route,
    RunFinished,
    ThreadTrimmed,
    Verdict,
)
from loco_tui.orchestrator import RunRequest
from loco_tui.registry.schema import Registry
from loco_tui.safe_text import neutralise, neutralise_line

if TYPE_CHECKING:
    from loco_tui.sessions import Session
    from loco_tui.store import Store

# Exit codes: a shell's conventions for a run ended by a signal or by a closed pipe.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SIGINT = 130
EXIT_SIGPIPE = 141
EXIT_SIGTERM = 143


class JsonLinesSink:
    """One JSON object per event per line, flushed so a pipe sees events as they happen."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        self.out.write(event.to_json() + "\n")
        self.out.flush()


def describe_stats(finished: MemberFinished, *, rates: bool = True) -> str:
    """A member's figures in one line. Rate and seconds share one interval (generation,
    first token to last); the wait before the first token is given apart."""
    s = finished.stats
    parts = [f"{s.tokens_out} tokens"]
    if rates:
        if s.gen_s is not None and s.tokens_per_s:
            parts.append(f"{s.gen_s:.1f}s at {s.tokens_per_s:.1f} tok/s")
        if s.ttft_s is not None:
            parts.append(f"first token after {s.ttft_s:.1f}s")
        parts.append(f"{s.duration_s:.1f}s in all")
    if finished.cut:
        parts.append("CUT at the token limit")
    return ", ".join(parts)


class TextSink:
    """Readable output. With stdout on a terminal, a lone member streams live; concurrent
    members would interleave, and a pipe should receive answers, not attempts, so otherwise
    each member is printed whole when it finishes."""

    def __init__(self, out: TextIO, err: TextIO, *, live: bool | None = None) -> None:
        self.out, self.err = out, err
        self.can_stream = _is_terminal(out) if live is None else live
        self.live: set[str] = set()
        self.buffers: dict[str, list[str]] = {}
        self.titles: dict[str, str] = {}
        self.failed_attempts: dict[str, list[str]] = {}

    def _header(self, member: str, note: str = "") -> str:
        tail = f" ({note})" if note else ""
        return f"── {neutralise_line(member)}: {self.titles.get(member, '')}{tail}\n"

    def __call__(self, event: Event) -> None:
        match event:
            case Route():
                role, model = neutralise_line(event.role or "-"), neutralise_line(event.model)
                self.err.write(f"» {role} → {model} ({neutralise_line(event.reason)})\n")
            case MemberStarted():
                self._started(event)
            case Delta(channel="answer"):
                self._delta(event)
            case MemberFinished():
                self._finished(event)
            case MemberFailed():
                self.buffers.pop(event.member, None)
                self.live.discard(event.member)
                self.err.write(f"✗ {neutralise_line(event.member)} "
                               f"({neutralise_line(event.model)}) failed: {event.category}: "
                               f"{neutralise_line(event.message)}\n")
            case ThreadTrimmed():
                self.err.write(f"✂ {neutralise_line(event.member)}: {event.dropped} earlier "
                               f"turn(s) left out to fit {neutralise_line(event.model)}'s "
                               f"{event.budget_tokens}-token context\n")
            case Verdict():
                self._verdict(event)
            case RunFinished():
                tail = f": {neutralise_line(event.message)}" if event.message else ""
                self.err.write(f"run {event.status}{tail}\n")
            case _:
                pass
        self.out.flush()

    def _started(self, event: MemberStarted) -> None:
        member = event.member
        title = neutralise_line(event.model) + (
            f" · {neutralise_line(event.persona)}" if event.persona else "")
        previous = self.titles.get(member)
        self.titles[member] = title
        if event.attempt > 1:
            # The last attempt failed (its member_failed never came: the chain went on).
            note = f"after {previous} failed" if previous else "fallback"
            self.failed_attempts.setdefault(member, []).append(previous or "?")
            if member in self.live:
                self.out.write(f"\n   ✗ {previous} stopped before finishing: the text above "
                               "is incomplete and is not the answer\n")
                self.out.write(self._header(member, f"fallback, {note}"))
            self.buffers[member] = []
            return
        self.buffers[member] = []

    def _delta(self, event: Delta) -> None:
        member = event.member
        text = neutralise(event.text)
        if self.can_stream and not self.live and len(self.buffers) == 1 \
                and member in self.buffers:
            # Alone, on a terminal: stream it as it comes.
            self.live.add(member)
            self.out.write(self._header(member))
            self.out.write("".join(self.buffers[member]))
        if member in self.live:
            self.out.write(text)
        else:
            self.buffers.setdefault(member, []).append(text)

    def _finished(self, event: MemberFinished) -> None:
        text = "".join(self.buffers.pop(event.member, []))
        summary = describe_stats(event)
        if event.member in self.live:
            self.live.discard(event.member)
            self.out.write(f"\n   ({summary})\n")
            return
        failed = self.failed_attempts.get(event.member)
        note = f"fallback after {', '.join(failed)} failed" if failed else ""
        self.out.write("\n" + self._header(event.member, note).rstrip("\n")
                       + f" ({summary})\n{text.strip()}\n")

    def _verdict(self, event: Verdict) -> None:
        who = neutralise_line(event.winner or "synthesis")
        self.out.write(f"\n★ verdict: {event.mode} {who} ({confidence_text(event.confidence)}, "
                       f"{verdict_detail(event)}): {neutralise_line(event.reason)}\n")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _pipe_fd(stream: TextIO) -> int | None:
    """stdout's descriptor when it is a pipe or socket (whose reader can go away)."""
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, ValueError, OSError):
        return None
    return fd if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) else None


async def _watch_reader_gone(fd: int, on_gone: Callable[[], None]) -> None:
    """Call ``on_gone`` when the reader of pipe ``fd`` has closed it. Text mode may print
    nothing for a while (members are printed when they finish): without this, closing the
    pipe would only be noticed after generating everything for nobody."""
    poller = select.poll()
    poller.register(fd, 0)  # POLLERR and POLLHUP are always reported
    while True:
        if poller.poll(0):
            on_gone()
            return
        await asyncio.sleep(0.2)


class SessionNotFound(Exception):
    """`--continue` or `--session` named a session the history does not have."""


async def _open_history(err: TextIO) -> Store | None:
    """The store, or None (said once on stderr) when it cannot be used: a run is never
    refused because its history cannot be written."""
    from loco_tui.store import Store, StoreError

    try:
        return await Store.open()
    except StoreError as exc:
        err.write(f"loco: history off: {neutralise_line(str(exc))}\n")
        return None


async def _session_for(store: Store | None, continue_last: bool, session_id: str | None,
                       ) -> Session:
    """The session this run is a turn of: the last one, a named one, or a new one."""
    from loco_tui.sessions import Session

    if not continue_last and session_id is None:
        return Session()
    if store is None:
        raise SessionNotFound("the history cannot be read, so there is no session to continue")
    from loco_tui.store import StoreError

    try:
        wanted = session_id if session_id is not None else await store.last_session_id()
        if wanted is None:
            raise SessionNotFound("no session to continue yet: run a prompt first")
        return await store.session(wanted)
    except StoreError as exc:
        raise SessionNotFound(str(exc)) from None


def run_headless(
    registry: Registry,
    prompt: str,
    *,
    workflow: str | None = None,
    ensemble: str | None = None,
    role: str | None = None,
    as_json: bool = False,
    seed: int | None = None,
    continue_last: bool = False,
    session_id: str | None = None,
    record: bool = True,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run ``prompt`` and write its output; returns the process exit code. The run is a
    turn of the last session (``continue_last``), of ``session_id``, or of a new one, and
    is recorded in the history unless ``record`` is False."""
    out = out or sys.stdout
    err = err or sys.stderr

    async def main() -> int:
        store = await _open_history(err) if record or continue_last or session_id else None
        try:
            return await _run(store)
        finally:
            if store is not None:
                await store.aclose()

    async def _run(store: Store | None) -> int:
        try:
            session = await _session_for(store, continue_last, session_id)
        except SessionNotFound as exc:
            err.write(f"loco: {neutralise_line(str(exc))}\n")
            return EXIT_FAILED
        request = RunRequest(prompt, role=role, ensemble=ensemble, workflow=workflow,
                             session=session.id, turn=len(session.turns),
                             thread=tuple(session.turns))
        if not as_json:
            turn = f", turn {len(session.turns) + 1}" if session.turns else ""
            err.write(f"session {session.id}{turn} (continue it with `loco run -c`)\n")
        controller = Controller(registry, store=store if record else None)
        sink = JsonLinesSink(out) if as_json else TextSink(out, err)
        controller.subscribe(sink, critical=True)
        loop = asyncio.get_running_loop()
        stopped_by: list[int] = []
        cancelling: set[asyncio.Task[None]] = set()

        def cancel(reason: str) -> None:
            task = loop.create_task(controller.cancel(reason=reason))
            cancelling.add(task)
            task.add_done_callback(cancelling.discard)

        def stop(signum: int) -> None:
            stopped_by.append(signum)
            cancel(f"cancelled ({signal.Signals(signum).name})")

        def reader_gone() -> None:
            controller.sink_error = controller.sink_error or BrokenPipeError("output closed")
            cancel("cancelled: the output was closed")

        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop, signum)
        fd = _pipe_fd(out)
        watcher = loop.create_task(_watch_reader_gone(fd, reader_gone)) if fd is not None \
            else None
        try:
            status = await controller.run(request, seed=seed)
        finally:
            if watcher is not None:
                watcher.cancel()
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(signum)
            await controller.aclose()
        if controller.history_error is not None:
            err.write(f"loco: history off: {neutralise_line(controller.history_error)}\n")
        if controller.sink_error is not None:
            return _report_output_failure(controller.sink_error, out, err)
        if stopped_by:
            return EXIT_SIGTERM if stopped_by[0] == signal.SIGTERM else EXIT_SIGINT
        return EXIT_OK if status in ("ok", "partial") else EXIT_FAILED

    return asyncio.run(main())


def _report_output_failure(exc: BaseException, out: TextIO, err: TextIO) -> int:
    if isinstance(exc, BrokenPipeError | ConnectionResetError):
        # Nobody reads stdout any more: point it at /dev/null so the interpreter's final
        # flush cannot print a BrokenPipeError traceback at exit.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
        err.write("loco: the output was closed; the run was cancelled\n")
        return EXIT_SIGPIPE
    err.write(f"loco: could not write the output ({type(exc).__name__}: "
              f"{neutralise_line(str(exc))[:200]}); the run was cancelled\n")
    return EXIT_FAILED
