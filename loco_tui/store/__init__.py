"""Loco's memory: a SQLite file (``data_dir()/loco.db``) that records every run's events and
answers what history, replay, export and stats ask.

Modules, one job each: ``db`` (open/close, pragmas, StoreError), ``schema`` (DDL and forward
migrations), ``recorder`` (the event sink), ``history`` (sessions and runs: list, search,
read back, rename, delete, a person's votes), ``stats`` (per model and role),
``leaderboard`` (head-to-head ratings, judge-human agreement, the judges' audit) over
``bradley_terry`` (the fit), ``export`` (Markdown and JSON), ``replay`` (a run's events back
with their timing), ``records`` (the values returned), ``store`` (the ``Store`` handle over
all of them).

Wiring it in (controller, ``loco run``, workbench)::

    store = await Store.open()               # StoreError: say "history off", carry on
    recorder = store.recorder()               # a sink: recorder(event), never raises
    controller.subscribe(recorder)
    status = await controller.run(request)
    await recorder.flush()                    # the run's rows are readable now
    ...
    await recorder.aclose()                   # at exit: flush, stop the writer task
    await store.aclose()

Flush before acting on a run that just ended (``record_human_verdict`` needs its calls on
disk). ``recorder.error`` (a StoreError, or None) tells the UI that recording stopped (disk full,
database locked for too long); what was committed before stays. The recorder ignores
events of runs whose ``run_started`` it did not see, so subscribe it before starting a run.
Never subscribe it to a replay: a replayed run is already stored.

Read side (all async, ids accepted by unambiguous prefix, errors as StoreError)::

    await store.sessions(limit=50, offset=0, search=None)  # [SessionSummary], newest first
    await store.session(id)            # sessions.Session with its turns (reopen, --continue)
    await store.last_session_id()      # for `loco run --continue`
    await store.runs_of(session_id)    # [RunRecord]
    await store.run(run_id)            # RunDetail: run, calls, verdicts, parse results
    await store.events(run_id)         # [Event] exactly as recorded; replay.play() paces them
    await store.rename_session(id, title); await store.delete_session(id)
    await store.record_human_verdict(run_id, "m2")  # "continue with m2"
    await store.vote(run_id, "pick", "m2")          # keys 1-9; "tie" (=), "all_bad" (0)
    await store.stats(since=None, role=None)        # [ModelStats]
    await store.leaderboard(role=None, since=None)  # Leaderboard: judge and human boards
    await store.export_markdown(id); await store.export_json(id)

A session is created from ``run_started.session`` (titled by its first prompt until a person
renames it); a run without a session becomes a session of its own, ``s<run id>``. Runs
found ``running`` at open whose recording process is gone are marked ``interrupted``.
"""

from loco_tui.store.db import DB_NAME, StoreError, default_path
from loco_tui.store.leaderboard import Agreement, BoardResult, JudgeAudit, Leaderboard, Standing
from loco_tui.store.recorder import Recorder
from loco_tui.store.records import (
    CallRecord,
    ModelStats,
    ParseRecord,
    RunDetail,
    RunRecord,
    SessionSummary,
    Tally,
    VerdictRecord,
)
from loco_tui.store.replay import play
from loco_tui.store.store import Store

__all__ = [
    "DB_NAME",
    "Agreement",
    "BoardResult",
    "CallRecord",
    "JudgeAudit",
    "Leaderboard",
    "ModelStats",
    "ParseRecord",
    "Recorder",
    "RunDetail",
    "RunRecord",
    "SessionSummary",
    "Standing",
    "Store",
    "StoreError",
    "Tally",
    "VerdictRecord",
    "default_path",
    "play",
]
