"""The parse trace of one pane, in place: the raw reply with every span the parser recognised
highlighted, the calls as a tree with their repairs and schema checks, what was rejected and
why, and how the reply was classified.

``InspectorScreen(member, title, text, events)`` takes the member's raw text (what the parser
read: ``MemberPane.text``) and its parse events (``Parse`` events, or any objects with
``kind`` and ``detail``, the parser's own ``ParseEvent`` included). Offsets in the events
index that text. ``n`` and ``p`` move to the next and previous call (its span is shown in
reverse video and scrolled into view, its node selected in the tree); choosing a call in the
tree does the same; Esc closes.

Every piece of text comes from a model: it is neutralised piece by piece (so offsets still
map onto it) and assembled as ``Content``; tree labels are ``Text``, never markup.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from loco_tui.describe import describe_check
from loco_tui.safe_text import neutralise, neutralise_line

__all__ = ["InspectorScreen", "ReadTrace", "Span", "TraceCall", "read_trace"]

# How each kind of span is drawn in the raw text.
STYLES = {
    "call": "on #1f4d2b",
    "call_bad": "on #5c1f24",
    "current": "reverse bold",
    "marker": "bold #5fafff",
    "think": "italic #8a8a8a",
    "rejected": "underline #ff5f5f",
}
# A rejected candidate has an offset but no end: this much of its line is underlined.
_REJECTED_CHARS = 60
_DETAIL_CHARS = 120


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # a key of STYLES


@dataclass
class TraceCall:
    """One call of the reply: read from the text (with its span) or parsed by the server."""

    index: int
    name: str
    arguments: dict[str, Any]
    format: str
    native: bool = False
    span: tuple[int, int] | None = None
    repaired: list[str] = field(default_factory=list)
    checked: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        status = "" if not self.checked else " · ✓ fits" if not self.problems else \
            f" · ✗ {len(self.problems)} problem{'' if len(self.problems) == 1 else 's'}"
        where = "native" if self.native else self.format
        return f"#{self.index} {self.name} · {where}{status}"


@dataclass
class ReadTrace:
    """What the parse events of one reply say, ready to show."""

    calls: list[TraceCall] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    classification: str | None = None
    tools: str | None = None


def _offset(event: Any) -> int | None:
    offset = getattr(event, "offset", None)
    if offset is None:
        detail = getattr(event, "detail", None) or {}
        offset = detail.get("offset") if isinstance(detail, Mapping) else None
    return offset if isinstance(offset, int) and not isinstance(offset, bool) else None


def _brief(detail: Mapping[str, Any], skip: Iterable[str] = ()) -> str:
    shown = {k: v for k, v in detail.items() if k not in ("offset", *skip)}
    text = json.dumps(shown, ensure_ascii=False, default=str)
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


def _span(detail: Mapping[str, Any]) -> tuple[int, int] | None:
    span = detail.get("span")
    if isinstance(span, (list, tuple)) and len(span) == 2 \
            and all(isinstance(x, int) for x in span):
        return (span[0], span[1])
    return None


def _clamp(start: int, end: int, size: int) -> tuple[int, int] | None:
    start, end = max(0, min(start, size)), max(0, min(end, size))
    return (start, end) if end > start else None


def read_trace(text: str, events: Iterable[Any]) -> ReadTrace:
    """Read the parse events of one reply (``call_delta`` previews are skipped: the final
    calls replace them)."""
    out = ReadTrace()
    size = len(text)
    by_key: dict[tuple[bool, int], TraceCall] = {}
    native_count = 0
    for event in events:
        kind = getattr(event, "kind", "")
        raw = getattr(event, "detail", None)
        detail: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        at = _offset(event)
        where = f"@{at} " if at is not None else ""
        if kind == "call":
            native = bool(detail.get("native")) or detail.get("format") == "native"
            index = detail.get("index")
            if not isinstance(index, int):
                index = native_count if native else len([c for c in out.calls
                                                         if not c.native])
            native_count += native
            call = TraceCall(index, str(detail.get("name") or "?"),
                             dict(detail.get("arguments") or {}),
                             str(detail.get("format") or "?"), native, _span(detail),
                             [str(r) for r in detail.get("repaired") or ()])
            by_key[(native, index)] = call
            out.calls.append(call)
        elif kind == "schema_check":
            index = detail.get("index")
            key = (bool(detail.get("native")), index if isinstance(index, int) else -1)
            found = by_key.get(key)
            problems = [str(p.get("message", "")) for p in detail.get("problems") or ()
                        if isinstance(p, Mapping)]
            if found is not None:
                found.checked, found.problems = True, problems
            else:
                out.other.append(describe_check(detail))
        elif kind == "retract":
            out.calls = [c for c in out.calls if c.native]
            by_key = {k: v for k, v in by_key.items() if k[0]}
            out.other.append(f"retract {where}{_brief(detail)}")
        elif kind == "format":
            marker = detail.get("marker")
            out.formats.append(f"{detail.get('format', '?')} {where}"
                               + (f"{marker}" if isinstance(marker, str) else ""))
            if at is not None and isinstance(marker, str) and marker \
                    and text.startswith(marker, at):
                out.spans.append(Span(at, at + len(marker), "marker"))
        elif kind == "repair":
            out.repairs.append(f"{detail.get('name', '?')} {where}"
                               f"{', '.join(map(str, detail.get('fixes') or ()))}")
        elif kind == "rejected":
            name = f" {detail.get('name')}" if detail.get("name") else ""
            out.rejected.append(f"{detail.get('format', '?')}{name} {where}"
                                f"{detail.get('reason', '')}")
            if at is not None:
                line_end = text.find("\n", at)
                end = min(at + _REJECTED_CHARS, line_end if line_end > at else size)
                found_span = _clamp(at, end, size)
                if found_span:
                    out.spans.append(Span(*found_span, "rejected"))
        elif kind == "think":
            chars = detail.get("chars")
            out.thinking.append(f"{where}{chars} characters"
                                + ("" if detail.get("closed", True) else " (never closed)"))
            if at is not None and isinstance(chars, int):
                marker = detail.get("marker")
                opened = detail.get("opened", True)
                head = len(marker) if isinstance(marker, str) and opened else 0
                end = at + head + chars
                if isinstance(marker, str) and marker.startswith("<") and detail.get("closed"):
                    closer = "</" + marker[1:]
                    if text.startswith(closer, end):
                        end += len(closer)
                found_span = _clamp(at, end, size)
                if found_span:
                    out.spans.append(Span(*found_span, "think"))
        elif kind == "classification":
            out.classification = f"{detail.get('kind', '?')} ({detail.get('reason', '')})"
        elif kind == "tools_offered":
            names = ", ".join(map(str, detail.get("names") or ()))
            via = "in the request" if detail.get("via") == "native" else "in the prompt"
            out.tools = f"tools offered {via}: {names}"
        elif kind != "call_delta":
            out.other.append(f"{kind} {where}{_brief(detail)}")
    for call in out.calls:
        if call.span is not None:
            found_span = _clamp(call.span[0], call.span[1], size)
            if found_span:
                out.spans.append(Span(*found_span, "call_bad" if call.problems else "call"))
    return out


def highlighted(text: str, spans: Sequence[Span], current: tuple[int, int] | None = None
                ) -> Content:
    """``text`` with ``spans`` styled (later kinds over earlier ones, the current call over
    all), neutralised segment by segment so the offsets still fit."""
    marks = list(spans)
    if current is not None:
        marks.append(Span(current[0], current[1], "current"))
    cuts = sorted({0, len(text), *(s.start for s in marks), *(s.end for s in marks)})
    parts: list[tuple[str, str]] = []
    for a, b in itertools.pairwise(cuts):
        styles = [STYLES[s.kind] for s in marks if s.start <= a and b <= s.end]
        parts.append((neutralise(text[a:b]), " ".join(styles)))
    return Content.assemble(*parts)


class _SafeTree(Tree[int]):
    """A tree whose string labels are plain text, never markup."""

    def process_label(self, label: str | Text) -> Text:
        if isinstance(label, str):
            label = Text(neutralise_line(label))
        return super().process_label(label)


class InspectorScreen(ModalScreen[None]):
    """The parse trace of one member's reply. n/p: next/previous call; Esc closes."""

    DEFAULT_CSS = """
    InspectorScreen { align: center middle; }
    InspectorScreen > Horizontal {
        width: 96%; height: 90%;
        border: round $accent; background: $surface;
    }
    InspectorScreen #inspector-raw { width: 3fr; padding: 0 1; }
    InspectorScreen #inspector-tree { width: 2fr; border-left: solid $panel-lighten-2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close", id="inspector_close"),
        Binding("n", "next_call", "Next call", id="inspector_next_call"),
        Binding("p", "previous_call", "Previous call", id="inspector_previous_call"),
    ]

    def __init__(self, member: str, title: str, text: str, events: Iterable[Any]) -> None:
        super().__init__()
        self.member = member
        self.title_text = title
        self.text = text
        self.trace = read_trace(text, events)
        # Calls with a span, in the order of the text: what n/p walk through.
        self.located = sorted((c for c in self.trace.calls if c.span is not None),
                              key=lambda c: c.span or (0, 0))
        self.current: int | None = None
        self._call_nodes: dict[int, TreeNode[int]] = {}

    def compose(self) -> ComposeResult:
        with Horizontal() as box:
            box.border_title = neutralise_line(
                f"Parse trace · {self.member} · {self.title_text}  "
                "(n/p: next/previous call, Esc closes)")
            with VerticalScroll(id="inspector-raw"):
                yield Static(self._raw(), id="inspector-text", markup=False)
            yield self._tree()

    def on_mount(self) -> None:
        self.query_one(_SafeTree).focus()

    def _raw(self) -> Content:
        if not self.text:
            return Content.styled("(no text: the reply was the server's tool calls only)",
                                  "italic")
        span = None
        if self.current is not None:
            span = self.located[self.current].span
        return highlighted(self.text, self.trace.spans, span)

    def _tree(self) -> _SafeTree:
        trace = self.trace
        tree = _SafeTree(Text(neutralise_line(f"{self.member} · {self.title_text}")),
                         id="inspector-tree")
        tree.root.expand()
        tree.show_root = True
        tree.root.add_leaf(f"classified: {trace.classification or 'not yet (still streaming?)'}")
        if trace.tools:
            tree.root.add_leaf(trace.tools)
        calls = tree.root.add(f"calls ({len(trace.calls)})", expand=True)
        located = {id(c): i for i, c in enumerate(self.located)}
        for call in trace.calls:
            node = calls.add(call.label, data=located.get(id(call)), expand=True)
            if id(call) in located:
                self._call_nodes[located[id(call)]] = node
            for key, value in call.arguments.items():
                shown = json.dumps(value, ensure_ascii=False, default=str)
                if len(shown) > _DETAIL_CHARS:
                    shown = shown[: _DETAIL_CHARS - 1] + "…"
                node.add_leaf(f"{key} = {shown}")
            if call.span is not None:
                node.add_leaf(f"span {call.span[0]}–{call.span[1]}")
            if call.repaired:
                node.add_leaf(f"repaired: {', '.join(call.repaired)}")
            if call.checked and not call.problems:
                node.add_leaf(Text("✓ fits the schema of the tools offered", "green"))
            for problem in call.problems:
                node.add_leaf(Text(neutralise_line(f"✗ {problem}"), "bold red"))
        for title, items, style in (("formats", trace.formats, "cyan"),
                                    ("repairs", trace.repairs, "yellow"),
                                    ("rejected", trace.rejected, "red"),
                                    ("thinking", trace.thinking, "dim"),
                                    ("other", trace.other, "")):
            if items:
                group = tree.root.add(f"{title} ({len(items)})", expand=title == "rejected")
                for item in items:
                    group.add_leaf(Text(neutralise_line(item), style))
        return tree

    # -- moving between calls ---------------------------------------------------------
    def action_next_call(self) -> None:
        self._move(1)

    def action_previous_call(self) -> None:
        self._move(-1)

    def _move(self, step: int) -> None:
        if not self.located:
            self.notify("no call to go to in this reply", timeout=2, markup=False)
            return
        if self.current is None:
            target = 0 if step > 0 else len(self.located) - 1
        else:
            target = (self.current + step) % len(self.located)
        self.show_call(target)

    def show_call(self, position: int) -> None:
        """Highlight the ``position``-th call of the text (in text order) and show it."""
        self.current = position
        self.query_one("#inspector-text", Static).update(self._raw())
        node = self._call_nodes.get(position)
        tree = self.query_one(_SafeTree)
        if node is not None and tree.cursor_node is not node:
            tree.move_cursor(node)
        span = self.located[position].span
        if span is not None:
            self.call_after_refresh(self._scroll_to_offset, span[0])

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[int]) -> None:
        position = event.node.data
        if isinstance(position, int) and position != self.current:
            self.show_call(position)

    def _scroll_to_offset(self, offset: int) -> None:
        """Scroll the raw text so the row holding ``offset`` is near the top (rows counted
        with soft wrapping at the view's width)."""
        scroll = self.query_one("#inspector-raw", VerticalScroll)
        width = max(scroll.scrollable_content_region.width, 1)
        row = 0
        for line in neutralise(self.text[:offset]).split("\n")[:-1]:
            row += max(1, -(-len(line) // width))
        last = neutralise(self.text[:offset]).rsplit("\n", 1)[-1]
        row += len(last) // width
        scroll.scroll_to(y=max(row - 2, 0), animate=False)
