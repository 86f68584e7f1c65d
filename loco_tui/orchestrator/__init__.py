"""Routing, ensembles, the judge and workflows: turns a request into a stream of events."""

from loco_tui.orchestrator.context import RunContext, new_run_id
from loco_tui.orchestrator.run import Orchestrator, RunError, RunRequest

__all__ = ["Orchestrator", "RunContext", "RunError", "RunRequest", "new_run_id"]
