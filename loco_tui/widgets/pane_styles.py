"""The styles a pane's rendering engine paints with, resolved once per theme.

The engine builds ``Content`` from ``Style`` objects, never from style strings: a string is
parsed again on every render, and ``$variables`` only resolve inside a running app. Every
colour here is made opaque against the pane's background, because a translucent foreground
(``$text 60%``) rendered without a background under it loses its alpha and shows at full
strength. Code colours come from Textual's own highlight theme, whose ``$text-*`` variables
follow the theme, so code reads well on dark and light themes alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pygments.token import _TokenType
from textual.color import Color
from textual.highlight import HighlightTheme
from textual.markup import parse_style
from textual.style import Style
from textual.theme import BUILTIN_THEMES

# Roles of the Markdown renderer and the plain parts, as Textual style strings over the
# theme's variables. Kept in one table so a theme tweak is a one-line change.
ROLE_STYLES: dict[str, str] = {
    "h1": "bold underline $text-accent",
    "h2": "bold $text-accent",
    "h3": "bold $text-primary",
    "h4": "bold italic $text-primary",
    "h5": "italic $text-primary",
    "h6": "italic $text-secondary",
    "em": "italic",
    "strong": "bold",
    "strike": "strike",
    "code_inline": "$text-warning on $boost",
    "link": "underline $text-primary",
    "link_url": "$text-muted",
    "bullet": "bold $text-accent",
    "quote_bar": "$text-secondary",
    "quote": "italic",
    "hr": "$text-muted",
    "table_border": "$text-muted",
    "table_header": "bold",
    "code_block": "$foreground on $surface",
    "code_label": "italic $text-muted on $surface",
    "think": "dim italic",
    "think_header": "italic $text-muted",
    "raw": "",
}


_VARIABLE = re.compile(r"\$([A-Za-z0-9_-]+)")


def _parse(text: str, variables: dict[str, str]) -> Style:
    """``parse_style`` given only the variables ``text`` names: with all ~160 of a theme it
    re-reads every one on each call, and building a pane's styles took 28 ms (1.2 ms so),
    paid at the first frame and at every run's new panes."""
    used = {name: variables[name] for name in _VARIABLE.findall(text) if name in variables}
    return parse_style(text, used)


@dataclass(frozen=True)
class PaneStyles:
    """Resolved styles for one theme: ``role(name)`` for the renderer's roles and
    ``code(token_type)`` for Pygments tokens (falling back to the token's parents)."""

    roles: dict[str, Style]
    code_tokens: dict[_TokenType, Style]
    code_base: Style
    _code_cache: dict[_TokenType, Style] = field(default_factory=dict, compare=False)

    def role(self, name: str) -> Style:
        return self.roles[name]

    def code(self, token_type: _TokenType) -> Style:
        cached = self._code_cache.get(token_type)
        if cached is not None:
            return cached
        probe: _TokenType | None = token_type
        style = self.code_base
        while probe is not None:
            found = self.code_tokens.get(probe)
            if found is not None:
                style = self.code_base + found
                break
            probe = probe.parent
        self._code_cache[token_type] = style
        return style

    @classmethod
    def from_variables(cls, variables: dict[str, str], background: Color | None = None
                       ) -> PaneStyles:
        """Styles for a theme given its CSS variables (``App.get_css_variables()``);
        ``background`` is the colour under the text (default: the theme's background)."""
        under = background if background is not None and background.a == 1 else Color.parse(
            variables.get("background", "#000000"))
        # "auto 60%" (the text-* variables) means "contrasting text at 60%"; the style
        # parser drops the percentage, so such variables are resolved to a colour here.
        variables = {name: _resolve_auto(value, under) for name, value in variables.items()}

        def resolve(text: str) -> Style:
            return _opaque(_parse(text, variables), under) if text else Style()

        roles = {name: resolve(text) for name, text in ROLE_STYLES.items()}
        code_base = roles["code_block"]
        code_under = code_base.background or under
        code_tokens = {
            token: _opaque(_parse(text, variables), code_under)
            for token, text in HighlightTheme.STYLES.items() if text
        }
        return cls(roles=roles, code_tokens=code_tokens, code_base=code_base)

    @classmethod
    def default(cls, theme: str = "textual-dark") -> PaneStyles:
        """Styles for one of Textual's built-in themes (tests and benchmarks)."""
        return cls.from_variables(BUILTIN_THEMES[theme].to_color_system().generate())


def _resolve_auto(value: str, under: Color) -> str:
    match = _AUTO.fullmatch(value.strip())
    if match is None:
        return value
    alpha = int(match.group(1) or 100) / 100
    return (under + under.get_contrast_text(alpha)).hex


_AUTO = re.compile(r"auto(?:\s+(\d{1,3})%)?")


def _opaque(style: Style, under: Color) -> Style:
    """``style`` with translucent or automatic colours blended onto ``under``."""
    background = style.background
    if background is not None and background.a < 1:
        background = under + background
    base = background or under
    foreground = style.foreground
    if foreground is not None and (foreground.auto or foreground.a < 1):
        if foreground.auto:
            foreground = base.get_contrast_text(foreground.a)
        foreground = base + foreground
    if foreground is style.foreground and background is style.background:
        return style
    return Style(
        background=background,
        foreground=foreground,
        bold=style.bold,
        dim=style.dim,
        italic=style.italic,
        underline=style.underline,
        reverse=style.reverse,
        strike=style.strike,
    )


__all__ = ["ROLE_STYLES", "PaneStyles"]
