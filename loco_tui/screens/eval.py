"""The eval screen: past evals (`loco eval` runs) and the comparison table of the chosen one.

Evals are read from the store (``Store.evals``, then ``loco_tui.eval.load_eval`` for the
one highlighted): the runs' tags hold every graded result, so the figures are the report's
own, computed again by ``loco_tui.eval.summarise``, with no suite file. Suite names, case
ids and strategy labels come from files and registries: every string is shown through
``neutralise_line`` in ``Content``/Rich ``Text``, never markup.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from loco_tui.eval.report import (
    interval_text,
    misses_text,
    percent,
    seconds,
    share_bar,
    tokens_text,
    verdicts_text,
)
from loco_tui.safe_text import neutralise_line
from loco_tui.screens.history import when

if TYPE_CHECKING:
    from loco_tui.eval import EvalSummary, Rate
    from loco_tui.store import Store
    from loco_tui.store.evals import EvalRecord

# The list shows the newest evals; older ones are a `loco eval` rerun away from mattering.
LIST_LIMIT = 200
BAR_CELLS = 12


def _t(text: str, style: str = "") -> Text:
    return Text(neutralise_line(text), style=style)


def eval_row(record: EvalRecord, now: float) -> Content:
    """Two lines: the suite, then when, how many runs and the eval's id."""
    runs = f"{record.runs} run" + ("" if record.runs == 1 else "s")
    running = "" if record.finished_at is not None else "  ·  running"
    return Content.assemble(
        (neutralise_line(record.suite or "?"), "bold"),
        "\n  ",
        (when(record.started_at, now), "$text-muted"),
        ("  ·  ", "$text-muted"),
        (runs + running, "$text-muted"),
        ("  ·  ", "$text-muted"),
        (neutralise_line(record.id), "$text-muted italic"),
    )


def comparison(summary: EvalSummary) -> RenderableType:
    """The eval's figures as tables: accuracy per strategy, the ensembles' figures, and
    the paired comparisons."""
    result = summary.result
    head = Text()
    head.append(neutralise_line(f"Eval {result.suite}"), "bold")
    head.append(neutralise_line(f"  {result.eval_id}"), "dim")
    head.append(f"\n{result.done} of {result.planned} runs finished", "dim")
    if result.partial:
        head.append("  ·  partial: the figures cover the finished cases only", "yellow")
    parts: list[RenderableType] = [head, _accuracy_table(summary)]
    ensembles = _ensemble_table(summary)
    if ensembles is not None:
        parts.append(ensembles)
    if summary.comparisons:
        parts.append(_comparison_table(summary))
    return Group(*parts)


def _table(title: str) -> Table:
    return Table(title=Text(title, style="bold"), title_justify="left", box=None,
                 pad_edge=False, header_style="bold", padding=(0, 1))


def _strategy_column(table: Table, summary: EvalSummary, name: str = "Strategy") -> None:
    # Labels differ at their ends (":pick", ":synthesize"): never cut them short.
    longest = max((len(s.strategy) for s in summary.strategies), default=8)
    table.add_column(name, no_wrap=True, min_width=min(longest, 40))


def _accuracy_table(summary: EvalSummary) -> Table:
    table = _table("\nAccuracy")
    _strategy_column(table, summary)
    for name in ("Right", "Accuracy", "", "95% interval", "Median s", "p90 s",
                 "Tokens in/out", "Not right"):
        right = name in ("Right", "Accuracy", "Median s", "p90 s", "Tokens in/out")
        table.add_column(name, justify="right" if right else "left", no_wrap=name != "Not right")
    for s in summary.strategies:
        a = s.accuracy
        table.add_row(_t(s.strategy, "bold"), Text(f"{a.k}/{a.n}"), Text(percent(a.value)),
                      Text(share_bar(a.value, BAR_CELLS), style="cyan"),
                      Text(interval_text(a)), Text(seconds(s.median_s)),
                      Text(seconds(s.p90_s)), Text(tokens_text(s.tokens_in, s.tokens_out)),
                      _t(misses_text(s), "dim"))
    return table


def _ensemble_table(summary: EvalSummary) -> RenderableType | None:
    rows = [s for s in summary.strategies if s.ensemble is not None]
    if not rows:
        return None
    table = _table("\nEnsembles")
    _strategy_column(table, summary)
    # Short headers: the glossary of the Markdown report says what each one means.
    for name in ("Verdicts", "Oracle", "Judge", "Kept", "Rescue", "Position", "Similarity"):
        table.add_column(name, justify="left" if name in ("Verdicts", "Position") else "right",
                         no_wrap=True)
    members = Text()
    for s in rows:
        e = s.ensemble
        assert e is not None
        consistency = Text(_rate(e.position_consistency))
        if e.position_inconsistent:
            consistency.append(" ⚠ follows position", style="yellow")
        table.add_row(
            _t(s.strategy, "bold"), Text(verdicts_text(e.verdicts)), Text(_rate(e.oracle)),
            Text(_rate(e.judge_accuracy)), Text(_rate(e.synthesis_kept)),
            Text(_rate(e.synthesis_rescue)), consistency,
            Text("—" if e.similarity is None else f"{e.similarity:.2f}"))
        alone = " · ".join(f"{m.name} {_rate(m.accuracy)}" for m in e.members)
        if alone:
            members.append("\n")
            members.append(neutralise_line(f"{s.strategy}: members alone {alone}"), "dim")
    return Group(table, members) if members else table


def _rate(r: Rate) -> str:
    """``67% 4/6`` (the report's ``67% (4/6)``, narrower)."""
    return "—" if not r.n else f"{percent(r.value)} {r.k}/{r.n}"


def _comparison_table(summary: EvalSummary) -> Table:
    table = _table("\nPaired comparisons (McNemar exact)")
    _strategy_column(table, summary, "A")
    _strategy_column(table, summary, "B")
    for name in ("Pairs", "Only A", "Only B", "p", "Conclusion"):
        table.add_column(name, justify="right" if name in ("Pairs", "Only A", "Only B", "p")
                         else "left")
    for c in summary.comparisons:
        p = "—" if c.only_a + c.only_b == 0 else f"{c.p_value:.3f}"
        table.add_row(_t(c.a), _t(c.b), Text(str(c.pairs)), Text(str(c.only_a)),
                      Text(str(c.only_b)), Text(p),
                      _t(c.conclusion, "green" if c.significant else "dim"))
    return table


class EvalScreen(Screen[None]):
    """Past evals, newest first, and the comparison table of the highlighted one.

    Keys:
        Up, Down, PgUp, PgDn, Home, End: choose an eval (its table shows at once).
        r: read the list again (an eval running in another terminal adds runs).
        Esc: close.

    Args:
        store: An open Store; the screen never closes it.
        now: The clock for relative dates (tests and snapshots fix it).
    """

    DEFAULT_CSS = """
    EvalScreen { layout: vertical; }
    EvalScreen #eval-head { height: 1; padding: 0 1; background: $panel; }
    EvalScreen #eval-heading { width: 1fr; text-style: bold; }
    EvalScreen #eval-keys { width: auto; color: $text-muted; }
    EvalScreen #eval-status { height: 1; padding: 0 2; color: $text-muted; }
    EvalScreen #eval-status.-error { color: $text-error; }
    EvalScreen #eval-body { height: 1fr; }
    EvalScreen #eval-list {
        width: 36; height: 100%; border: round $panel-lighten-2;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    EvalScreen #eval-list:focus { border: round $accent; }
    EvalScreen #eval-detail { width: 1fr; height: 100%; border: round $panel-lighten-2;
                              padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="eval.close"),
        Binding("r", "refresh", "Refresh", id="eval.refresh"),
    ]

    def __init__(self, store: Store, *, now: Callable[[], float] = time.time,
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.store = store
        self.now = now
        self.records: list[EvalRecord] = []
        # The figures on show (None before an eval is chosen): tests read them.
        self.summary: EvalSummary | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="eval-head"):
            yield Label("Evals", id="eval-heading", markup=False)
            yield Label("↑↓ choose · r refreshes · Esc closes", id="eval-keys", markup=False)
        yield Static("Loading…", id="eval-status", markup=False)
        with Horizontal(id="eval-body"):
            yield OptionList(id="eval-list", markup=False)
            with VerticalScroll(id="eval-detail"):
                yield Static("", id="eval-table", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#eval-list", OptionList).focus()
        self._load_list()

    def _say(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#eval-status", Static)
        status.update(Content(neutralise_line(text)))
        status.set_class(error, "-error")

    # -- the list --------------------------------------------------------------------------
    @work(exclusive=True, group="eval-list", exit_on_error=False)
    async def _load_list(self) -> None:
        from loco_tui.store import StoreError

        try:
            records = await self.store.evals(limit=LIST_LIMIT)
        except StoreError as exc:
            self._say(f"History unavailable: {exc}", error=True)
            return
        chosen = self._highlighted_id()
        self.records = records
        options = self.query_one("#eval-list", OptionList)
        options.clear_options()
        now = self.now()
        options.add_options(Option(eval_row(r, now), id=r.id) for r in records)
        if not records:
            self._say("No evals yet: run `loco eval SUITE` (config/eval has three).")
            self.query_one("#eval-table", Static).update("")
            return
        count = f"{len(records)} eval" + ("" if len(records) == 1 else "s")
        self._say(f"{count}, newest first")
        ids = [r.id for r in records]
        options.highlighted = ids.index(chosen) if chosen in ids else 0

    def _highlighted_id(self) -> str | None:
        options = self.query_one("#eval-list", OptionList)
        if options.highlighted is None or options.option_count == 0:
            return None
        return options.get_option_at_index(options.highlighted).id

    @on(OptionList.OptionHighlighted, "#eval-list")
    def _chosen(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self._load_eval(event.option.id)

    # -- the table -------------------------------------------------------------------------
    @work(exclusive=True, group="eval-detail", exit_on_error=False)
    async def _load_eval(self, eval_id: str) -> None:
        from loco_tui.eval import load_eval, summarise
        from loco_tui.store import StoreError

        try:
            result = await load_eval(self.store, eval_id)
        except StoreError as exc:
            self._say(f"Cannot read that eval: {exc}", error=True)
            return
        self.summary = summarise(result)
        self.query_one("#eval-table", Static).update(comparison(self.summary))

    # -- actions ---------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self._load_list()

    def action_close(self) -> None:
        self.dismiss(None)
