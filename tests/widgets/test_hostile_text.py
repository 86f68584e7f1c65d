"""Untrusted text never reaches the terminal as controls or as markup."""

from __future__ import annotations

import re

import pytest

from loco_tui.widgets.pane_document import PaneDocument
from tests.widgets.helpers import STYLES

HOSTILE = [
    "\x1b]52;c;cm0gLXJmIH4K\x07",  # OSC 52: write the clipboard
    "\x1b]0;owned\x07",  # OSC 0: set the window title
    "\x1b[2J\x1b[H",  # CSI: clear the screen
    "safe\rEVIL",  # CR hides what came before
    "abc\b\b\bXYZ",  # backspaces overwrite
    "\x9b31m",  # 8-bit CSI
    "\u202egnp.exe",  # bidi override
    "[bold]not bold[/bold]",
    "[@click=app.quit]click me[/]",
    "[/",
    "&#27;[31m &#x9b; &#0;",  # entities that decode to controls
]
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def contexts(payload: str) -> list[str]:
    """The payload in every Markdown construct."""
    return [
        payload,
        f"# {payload}",
        f"*{payload}* **{payload}** `{payload}`",
        f"- {payload}\n  - {payload}",
        f"> {payload}",
        f"| h | {payload} |\n|---|---|\n| {payload} | x |",
        f"```{payload}\n{payload}\n```",
        f"[{payload}]({payload}) ![{payload}](x)",
        f"<think>{payload}</think>\n{payload}",
        f"    {payload}",
    ]


def shown(document: PaneDocument) -> list[tuple[str, object]]:
    return [(seg.text, seg.style) for strip in document.lines for seg in strip]


@pytest.mark.parametrize("payload", HOSTILE)
@pytest.mark.parametrize("raw", [False, True])
def test_no_control_or_markup_survives_any_construct(payload: str, raw: bool) -> None:
    document = PaneDocument(STYLES, 50)
    document.set_raw(raw)
    document.write("plain " + payload + "\n", "red")
    document.write_thinking(payload)
    for text in contexts(payload):
        for i in range(0, len(text), 4):
            document.write_markdown(text[i:i + 4])
        document.write_markdown("\n\n")
    document.finish()
    segments = shown(document)
    assert segments
    for text, style in segments:
        assert not CONTROLS.search(text), repr(text)
        if style is not None:
            assert style.link is None and not style.meta, (text, style)
    everything = "".join(text for text, _ in segments)
    if payload.startswith("["):
        assert payload in everything  # markup is shown as typed, not interpreted
    if "\x1b" in payload:
        assert "␛" in everything


def test_lone_surrogates_become_replacement_characters() -> None:
    document = PaneDocument(STYLES, 40)
    document.write_markdown("bad \ud83d pair **\udc00**")
    document.finish()
    assert document.text_lines() == ["bad \ufffd pair \ufffd"]
