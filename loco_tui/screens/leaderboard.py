"""Which of my models is best? The local leaderboard: Bradley-Terry ratings with 95%
intervals from head-to-head outcomes, the judge's verdicts and your votes as separate
boards, how often the judge agrees with you, and each judge's audit (readable verdicts,
schema, position consistency). Too few games is said, never hidden.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from loco_tui.safe_text import neutralise_line

if TYPE_CHECKING:
    from loco_tui.store import Store


class LeaderboardScreen(Screen[None]):
    """Keys: ``p`` rates (model, persona) pairs instead of models (and back), ``r``
    recomputes, Esc closes."""

    DEFAULT_CSS = """
    LeaderboardScreen VerticalScroll { padding: 1 2; }
    LeaderboardScreen #board-title { text-style: bold; color: $accent; margin-bottom: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close", id="leaderboard.close"),
        Binding("p", "toggle_players", "Models / personas", id="leaderboard.players"),
        Binding("r", "refresh_board", "Recompute", id="leaderboard.refresh"),
    ]

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.players: str = "model"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Content("Leaderboard"), id="board-title")
            yield Static(Content("Computing…"), id="board-body")
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    def action_toggle_players(self) -> None:
        self.players = "model_persona" if self.players == "model" else "model"
        self._load()

    def action_refresh_board(self) -> None:
        self._load()

    @work(exclusive=True, group="leaderboard", exit_on_error=False)
    async def _load(self) -> None:
        from rich.console import Group

        from loco_tui.store import StoreError
        from loco_tui.tables import leaderboard_renderables

        body = self.query_one("#board-body", Static)
        title = self.query_one("#board-title", Static)
        which = "models and personas" if self.players == "model_persona" else "models"
        title.update(Content(f"Leaderboard of your {which}"))
        try:
            board = await self.store.leaderboard(
                players="model_persona" if self.players == "model_persona" else "model")
        except StoreError as exc:
            body.update(Content(neutralise_line(f"The history cannot be read: {exc}")))
            return
        body.update(Group(*leaderboard_renderables(board)))
