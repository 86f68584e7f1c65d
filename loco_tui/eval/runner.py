"""Running an eval: every case of a suite through every strategy, ``repeat`` times.

Cases run one at a time (local models share the machine: two runs at once would only
slow each other and blur every latency), case by case with every strategy in turn, so an
eval stopped early still has each finished case answered by every strategy, ready to be
compared pair by pair.

Each run goes through the controller like any other: with a store attached it is recorded
(as a turn of one session per eval, so the history lists the eval once), and once recorded
it is tagged with the eval and its graded result, so the workbench can show a past eval
without the suite file. A case never sees another's answer: every run is a first turn.

``stop()`` (Ctrl+C) cancels the case that is running and ends the eval; what finished is
kept, and the result says it is partial.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from loco_tui.controller import Controller
from loco_tui.eval.grading import RunCapture, grade_run
from loco_tui.eval.results import CaseResult, EvalResult
from loco_tui.eval.strategies import Strategy, problem_with, request_for
from loco_tui.eval.suite import Case, Suite
from loco_tui.events import Delta, Event
from loco_tui.orchestrator import new_run_id
from loco_tui.store import StoreError

# A session title is one line of the history list.
_TITLE_CHARS = 120


@dataclass(frozen=True, slots=True)
class StrategyProgress:
    strategy: str
    done: int
    total: int
    right: int
    # Seconds spent on this strategy's finished cases.
    spent_s: float

    @property
    def per_case_s(self) -> float | None:
        return self.spent_s / self.done if self.done else None


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an eval is, after each case (and once before the first)."""

    strategies: tuple[StrategyProgress, ...]
    elapsed_s: float
    # Seconds left at each strategy's pace so far; None until every strategy with cases
    # left has finished one.
    eta_s: float | None
    # The case that just finished (None before the first).
    last: CaseResult | None
    stopping: bool = False

    @property
    def done(self) -> int:
        return sum(s.done for s in self.strategies)

    @property
    def total(self) -> int:
        return sum(s.total for s in self.strategies)


ProgressSink = Callable[[Progress], None]


def prompt_of(case: Case) -> str:
    """What the models are sent for a case. Its system prompt leads the message: a run
    request has no system prompt of its own, and every strategy (the judge too, which reads
    the prompt) sees the instructions the same way."""
    if case.system:
        return f"{case.system}\n\n{case.prompt}"
    return case.prompt


def new_eval_id() -> str:
    return f"eval-{new_run_id()}"


class EvalRunner:
    """Runs ``suite`` through ``strategies`` on ``controller`` (its registry, its store).

    Args:
        controller: Runs the cases; with a store attached, every run is recorded and
            tagged. The runner never closes it.
        suite: The cases.
        strategies: What answers them (checked against the controller's registry: a
            ValueError names every strategy the registry cannot run).
        repeat: How many times each case runs through each strategy.
        seed: Seeds the judge's label shuffle (case by case, so a rerun shows the judge
            the same orders).
        on_progress: Called after every case (and once at the start).
        clock: Seconds, monotonic (tests fix it).
    """

    def __init__(self, controller: Controller, suite: Suite, strategies: Sequence[Strategy],
                 *, repeat: int = 1, seed: int = 0, on_progress: ProgressSink | None = None,
                 eval_id: str | None = None, notes: dict[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if repeat < 1:
            raise ValueError("repeat must be at least 1")
        if not strategies:
            raise ValueError("no strategy to run")
        problems = [p for s in strategies if (p := problem_with(s, controller.registry))]
        if problems:
            raise ValueError("; ".join(problems))
        self.controller = controller
        self.suite = suite
        self.strategies = list(strategies)
        self.repeat = repeat
        self.seed = seed
        self.on_progress = on_progress
        self.eval_id = eval_id or new_eval_id()
        self.notes = dict(notes or {})
        self.clock = clock
        self.results: list[CaseResult] = []
        # Why runs stopped being tagged in the store (None while they are, or no store).
        self.history_error: str | None = None
        self._stopping = False
        self._current: str | None = None
        self._events: dict[str, list[Event]] = {}
        self._spent: dict[str, float] = {s.label: 0.0 for s in self.strategies}
        self._started = 0.0
        self._titled = False
        self._cancels: set[asyncio.Task[None]] = set()

    # -- control -------------------------------------------------------------------------
    def stop(self) -> None:
        """End the eval: the running case is cancelled, finished cases are kept. Safe to
        call from a signal handler on the event loop, and more than once."""
        if self._stopping:
            return
        self._stopping = True
        if self._current is not None:
            task = asyncio.get_running_loop().create_task(
                self.controller.cancel(self._current, reason="the eval was stopped"))
            self._cancels.add(task)
            task.add_done_callback(self._cancels.discard)
        self._report(None)

    @property
    def stopping(self) -> bool:
        return self._stopping

    # -- running -------------------------------------------------------------------------
    async def run(self) -> EvalResult:
        """Run every case (until ``stop()``) and return what finished."""
        started_at = time.time()
        self._started = self.clock()
        unsubscribe = self.controller.subscribe(self._collect)
        self._report(None)
        try:
            for repeat, index, case, strategy in self._plan():
                if self._stopping:
                    break
                seed = self.seed + repeat * len(self.suite.cases) + index
                result = await self._one(case, strategy, repeat, seed)
                self.results.append(result)
                self._report(result)
        finally:
            unsubscribe()
            if self._cancels:
                await asyncio.gather(*self._cancels, return_exceptions=True)
        return self.result(started_at, time.time())

    def _plan(self) -> Iterator[tuple[int, int, Case, Strategy]]:
        for repeat in range(self.repeat):
            for index, case in enumerate(self.suite.cases):
                for strategy in self.strategies:
                    yield repeat, index, case, strategy

    def result(self, started_at: float, finished_at: float | None) -> EvalResult:
        suite = self.suite
        return EvalResult(
            eval_id=self.eval_id, suite=suite.name,
            strategies=tuple(s.label for s in self.strategies),
            cases=tuple(c.id for c in suite.cases), n_cases=len(suite.cases),
            repeat=self.repeat, started_at=started_at, finished_at=finished_at,
            results=tuple(self.results),
            suite_path=None if suite.path is None else str(suite.path),
            stopped=self._stopping, notes=dict(self.notes))

    def _collect(self, event: Event) -> None:
        # Deltas are most of a run's events and none of its grade: member_finished
        # carries each member's whole text.
        if type(event) is not Delta:
            self._events.setdefault(event.run_id, []).append(event)

    async def _one(self, case: Case, strategy: Strategy, repeat: int, seed: int) -> CaseResult:
        begun = self.clock()
        request = request_for(strategy, self.controller.registry, prompt_of(case),
                              session=self.eval_id)
        run_id = self.controller.start(request, seed=seed)
        self._current = run_id
        try:
            await self.controller.wait(run_id)
        finally:
            self._current = None
        capture = RunCapture.of(run_id, self._events.pop(run_id, []))
        result = grade_run(capture, case.check, strategy=strategy.label, case=case.id,
                           repeat=repeat, ensemble=strategy.kind == "ensemble")
        await self._record(result)
        if result.finished:
            self._spent[strategy.label] += self.clock() - begun
        return result

    async def _record(self, result: CaseResult) -> None:
        """Tag the recorded run with the eval and its grade (never fails the eval)."""
        store = self.controller.store
        if store is None or result.run_id is None or self.history_error is not None:
            return
        await self.controller.flush_history()
        if self.controller.history_error is not None:
            self.history_error = self.controller.history_error
            return
        try:
            await store.tag_eval_run(result.run_id, self.tag(result))
            if not self._titled:
                self._titled = True
                await store.rename_session(self.eval_id, self.title()[:_TITLE_CHARS])
        except StoreError as exc:
            self.history_error = str(exc)

    def tag(self, result: CaseResult) -> dict[str, Any]:
        """What a recorded run is tagged with: the eval, its plan, the graded result."""
        suite = self.suite
        return {"eval": self.eval_id, "suite": suite.name,
                "suite_path": None if suite.path is None else str(suite.path),
                "plan": {"strategies": [s.label for s in self.strategies],
                         "cases": len(suite.cases), "repeat": self.repeat},
                "notes": self.notes, "result": result.to_dict()}

    def title(self) -> str:
        return f"eval {self.suite.name}: {', '.join(s.label for s in self.strategies)}"

    # -- progress ------------------------------------------------------------------------
    def progress(self, last: CaseResult | None = None) -> Progress:
        per_strategy = len(self.suite.cases) * self.repeat
        rows = []
        for strategy in self.strategies:
            label = strategy.label
            mine = [r for r in self.results if r.strategy == label and r.finished]
            rows.append(StrategyProgress(label, len(mine), per_strategy,
                                         sum(r.right for r in mine), self._spent[label]))
        eta: float | None = 0.0
        for row in rows:
            left = row.total - row.done
            if left and row.per_case_s is None:
                eta = None
                break
            if left and eta is not None and row.per_case_s is not None:
                eta += left * row.per_case_s
        if self._stopping:
            eta = None
        return Progress(tuple(rows), self.clock() - self._started, eta, last, self._stopping)

    def _report(self, last: CaseResult | None) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress(last))


