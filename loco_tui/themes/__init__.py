"""Loco's own themes, next to Textual's built-in ones (all chosen from the palette)."""

from __future__ import annotations

from textual.theme import Theme

# Dark, low-glare, for long evenings of watching panes stream.
DUSK = Theme(
    name="loco-dusk",
    primary="#7aa2f7",
    secondary="#bb9af7",
    accent="#e0af68",
    warning="#e0af68",
    error="#f7768e",
    success="#9ece6a",
    foreground="#c0caf5",
    background="#16161e",
    surface="#1f2030",
    panel="#24283b",
    dark=True,
)

# Light, paper-like, readable in a bright room or a screenshot.
PAPER = Theme(
    name="loco-paper",
    primary="#2f5d9c",
    secondary="#7c4dab",
    accent="#b26b00",
    warning="#b26b00",
    error="#b3261e",
    success="#2e7d32",
    foreground="#1f2328",
    background="#faf8f3",
    surface="#f1ede4",
    panel="#e6e0d4",
    dark=False,
)

LOCO_THEMES = (DUSK, PAPER)
