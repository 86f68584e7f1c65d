"""A past eval read back from the store: the runs tagged with it become an ``EvalResult``
again (the tags carry the plan and every graded result, so no suite file is needed)."""

from __future__ import annotations

from typing import Any

from loco_tui.eval.results import CANCELLED, CaseResult, EvalResult
from loco_tui.store import Store, StoreError
from loco_tui.store.evals import EvalRunRecord


async def load_eval(store: Store, ident: str) -> EvalResult:
    """The eval ``ident`` (an id or an unambiguous prefix) as it was recorded. StoreError
    when there is no such eval."""
    return eval_from_runs(await store.eval_runs(ident))


def eval_from_runs(runs: list[EvalRunRecord]) -> EvalResult:
    if not runs:
        raise StoreError("no runs in that eval")
    first = runs[0].tag
    plan = _table(first.get("plan"))
    results = [r for r in (_result(run.tag) for run in runs) if r is not None]
    strategies = _strings(plan.get("strategies")) or _unique(r.strategy for r in results)
    cases = _unique(r.case for r in results)
    n_cases = _count(plan.get("cases"), len(cases))
    ends = [run.started_at + run.duration_s for run in runs if run.duration_s is not None]
    suite_path = first.get("suite_path")
    return EvalResult(
        eval_id=str(first["eval"]), suite=str(first.get("suite") or "?"),
        strategies=tuple(strategies), cases=tuple(cases), n_cases=n_cases,
        repeat=max(_count(plan.get("repeat"), 1), 1),
        started_at=min(run.started_at for run in runs),
        finished_at=max(ends) if ends else None, results=tuple(results),
        suite_path=suite_path if isinstance(suite_path, str) else None,
        stopped=any(r.outcome == CANCELLED for r in results),
        notes={str(k): str(v) for k, v in _table(first.get("notes")).items()})


def _result(tag: dict[str, Any]) -> CaseResult | None:
    data = tag.get("result")
    if not isinstance(data, dict):
        return None
    try:
        return CaseResult.from_dict(data)
    except (KeyError, TypeError, ValueError):  # a tag this Loco cannot read: left out
        return None


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))
