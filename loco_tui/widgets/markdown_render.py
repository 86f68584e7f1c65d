"""Markdown source -> wrapped, styled lines (``Content``), one top-level block at a time.

Parsing is markdown-it (CommonMark plus GFM tables and strikethrough) with two rules off so
that a block renders the same whatever follows it: raw HTML (shown as text, never
interpreted) and link reference definitions (a ``[x]: url`` line would otherwise turn an
earlier ``[x]`` into a link). Links are shown as their text with the address after it, dim,
never as a clickable link or as markup. Every piece of text passes through ``neutralise``
(entities such as ``&#27;`` decode to controls after parsing).

Layout conventions: top-level blocks are separated by one blank line; lists indent their
items under the marker; block quotes carry a bar; code blocks get the code background, a
dim language label line, and long lines folded (not word-wrapped, so copying keeps them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore, text_join
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode
from textual.content import Content, Span
from textual.style import Style

from loco_tui.widgets.code_highlight import LineHighlighter
from loco_tui.widgets.pane_styles import PaneStyles
from loco_tui.widgets.plain_flow import TAB, clean, wrap

MD = (MarkdownIt("commonmark", {"html": False})
      .enable(["table", "strikethrough"])
      .disable(["reference", "text_join"]))  # text_join runs inside _kept_inline
_INLINE_KEPT = 1024  # inline contents whose tokens are kept before starting over
_inline_tokens: dict[str, list[Token]] = {}


def _kept_inline(state: StateCore) -> None:
    """markdown-it's ``inline`` and ``text_join`` rules, keeping each inline content's tokens.

    An open block is parsed again on every append, and most of its inline content (table
    cells, list items, finished lines) has not changed. With link reference definitions off,
    an inline content's tokens depend on nothing but that content. The kept tokens are shared
    by every parse that meets the same content: nothing downstream changes tokens."""
    for token in state.tokens:
        if token.type != "inline":
            continue
        children = _inline_tokens.get(token.content)
        if children is None:
            children = []
            state.md.inline.parse(token.content, state.md, state.env, children)
            token.children = children
            text_join(SimpleNamespace(tokens=[token]))  # type: ignore[arg-type]
            if len(_inline_tokens) >= _INLINE_KEPT:
                _inline_tokens.clear()
            _inline_tokens[token.content] = children = token.children
        token.children = children


MD.core.ruler.at("inline", _kept_inline)

BULLETS = ("•", "◦", "▪")
QUOTE_BAR = "▌ "
_EMPTY = Content("")
_SPACE = Content(" ")
_ROWS_KEPT = 1024  # table cells and rows kept per renderer before starting over

CodeSink = Callable[[str, list[str]], None]


@dataclass(frozen=True)
class Block:
    """One top-level block: its tokens and the source lines it spans [start, end)."""

    start: int
    end: int
    tokens: list[Token]

    @property
    def kind(self) -> str:
        return self.tokens[0].type


def parse(source: str) -> list[Token]:
    return MD.parse(source)


def top_level_blocks(tokens: Sequence[Token]) -> list[Block]:
    blocks: list[Block] = []
    current: list[Token] = []
    depth = 0
    for token in tokens:
        current.append(token)
        depth += token.nesting
        if depth == 0:
            first = current[0]
            start, end = first.map if first.map else (0, 0)
            blocks.append(Block(start, end, current))
            current = []
    return blocks


def code_lines_of(content: str) -> list[str]:
    """A code token's content as lines (the final newline ends the last line)."""
    if not content:
        return []
    lines = content.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def code_label(info: str, width: int, styles: PaneStyles) -> list[Content]:
    """The dim line above a code block that names its language (none without one)."""
    label = clean(info.strip().split(maxsplit=1)[0]) if info.strip() else ""
    if not label:
        return []
    text = label[: max(width, 1)]
    return [Content.styled(text + " " * max(0, width - len(text)), styles.role("code_label"))]


def code_line(highlighter: LineHighlighter, line: str, width: int, styles: PaneStyles,
              *, peek: bool = False) -> list[Content]:
    """One source line of code, highlighted, folded to ``width``, padded with the code
    background. ``peek`` lexes an unfinished line without moving the lexer's state."""
    line = clean(line)
    tokens = highlighter.peek(line) if peek else highlighter.tokens(line)
    base = styles.code_base
    width = max(width, 1)
    if not tokens:
        return [Content.styled(" " * width, base)]
    text = "".join(value for _, value in tokens)
    spans: list[Span] = []
    at = 0
    for kind, value in tokens:
        spans.append(Span(at, at + len(value), styles.code(kind)))
        at += len(value)
    content = Content(text, spans)
    pieces = content.fold(width) if content.cell_length > width else [content]
    return [
        piece + Content.styled(" " * (width - piece.cell_length), base)
        if piece.cell_length < width else piece
        for piece in pieces
    ]


class BlockRenderer:
    """Renders top-level blocks to lines at one width with one set of styles.
    ``on_code(info, lines)`` hears every code block rendered (for "copy last code block")."""

    def __init__(self, styles: PaneStyles, width: int, on_code: CodeSink | None = None) -> None:
        self.styles = styles
        self.width = width
        self.on_code = on_code
        self._combined: dict[tuple[Style, ...], Style] = {}
        self._cells: dict[tuple[str, bool], Content] = {}
        self._rows: dict[tuple[tuple[str, ...], tuple[object, ...]], list[Content]] = {}

    def render(self, block: Block) -> list[Content]:
        if block.kind == "table_open":  # no tree: most of an open table's cells are kept
            return self._table(block.tokens, max(self.width, 1))
        node = SyntaxTreeNode(block.tokens)
        if node.type == "root" and node.children:
            node = node.children[0]
        return self._block(node, max(self.width, 1))

    def forget(self) -> None:
        """Drop the table cells and rows kept for drawing an open table again."""
        self._cells.clear()
        self._rows.clear()

    def render_blocks(self, blocks: Sequence[Block]) -> list[Content]:
        out: list[Content] = []
        for i, block in enumerate(blocks):
            if i:
                out.append(Content(""))
            out.extend(self.render(block))
        return out

    # -- blocks ------------------------------------------------------------------------------

    def _block(self, node: SyntaxTreeNode, width: int) -> list[Content]:
        kind = node.type
        if kind == "paragraph":
            return self._wrapped(self._inline(node), width)
        if kind == "heading":
            role = node.tag if node.tag in ("h1", "h2", "h3", "h4", "h5", "h6") else "h6"
            return self._wrapped(self._inline(node, self.styles.role(role)), width)
        if kind in ("fence", "code_block"):
            return self._code(node.info if kind == "fence" else "", node.content, width)
        if kind == "hr":
            return [Content.styled("─" * width, self.styles.role("hr"))]
        if kind in ("bullet_list", "ordered_list"):
            return self._list(node, width, depth=0)
        if kind == "blockquote":
            return self._quote(node, width)
        if kind == "table":
            return self._table(node.to_tokens(), width)
        # Anything else (html is off, so nothing expected): show its text, never markup.
        text = clean(node.content or "")
        return [line for piece in text.split("\n") for line in wrap(Content(piece), width)]

    def _children(self, node: SyntaxTreeNode, width: int, *, tight: bool = False,
                  depth: int = 0) -> list[Content]:
        out: list[Content] = []
        for i, child in enumerate(node.children):
            if i and not tight:
                out.append(Content(""))
            if child.type in ("bullet_list", "ordered_list"):
                out.extend(self._list(child, width, depth=depth + 1))
            else:
                out.extend(self._block(child, width))
        return out

    def _code(self, info: str, content: str, width: int) -> list[Content]:
        lines = code_lines_of(content)
        if self.on_code is not None:
            self.on_code(info, lines)
        highlighter = LineHighlighter(info)
        out = code_label(info, width, self.styles)
        for line in lines:
            out.extend(code_line(highlighter, line, width, self.styles))
        return out

    def _list(self, node: SyntaxTreeNode, width: int, depth: int) -> list[Content]:
        items = node.children
        tight = all(
            grandchild.hidden for item in items for grandchild in item.children
            if grandchild.type == "paragraph")
        if node.type == "ordered_list":
            first = int(str(node.attrs.get("start", 1)))
            numbers = [f"{first + i}." for i in range(len(items))]
            size = max(len(n) for n in numbers) if numbers else 2
            markers = [n.rjust(size) + " " for n in numbers]
        else:
            markers = [BULLETS[depth % len(BULLETS)] + " "] * len(items)
        bullet = self.styles.role("bullet")
        out: list[Content] = []
        for i, (item, marker) in enumerate(zip(items, markers, strict=True)):
            if i and not tight:
                out.append(Content(""))
            indent = len(marker)
            body = self._children(item, max(width - indent, 1), tight=tight, depth=depth)
            lead = Content.styled(marker, bullet)
            pad = Content(" " * indent)
            if not body:
                out.append(lead)
                continue
            out.append(lead + body[0])
            out.extend(pad + line if line.plain else line for line in body[1:])
        return out

    def _quote(self, node: SyntaxTreeNode, width: int) -> list[Content]:
        bar = Content.styled(QUOTE_BAR, self.styles.role("quote_bar"))
        quote = self.styles.role("quote")
        body = self._children(node, max(width - len(QUOTE_BAR), 1))
        return [bar + line.stylize_before(quote) for line in body] or [bar]

    # -- tables ------------------------------------------------------------------------------

    def _table(self, tokens: Sequence[Token], width: int) -> list[Content]:
        """A table from its tokens. An open table is drawn again on every append, so cells
        are kept by their source and rows by their cells and column widths: an append
        lays out the rows it changed, not the whole table."""
        rows: list[list[Content]] = []
        keys: list[tuple[str, ...] | None] = []  # a row's cell sources (None: not kept)
        aligns: list[str] = []
        header_rows = 0
        header = False
        row: list[Content] = []
        key: list[str] | None = []
        for i, token in enumerate(tokens):
            kind = token.type
            if kind == "thead_open":
                header = True
            elif kind == "thead_close":
                header = False
            elif kind == "tr_open":
                row, key = [], []
            elif kind == "tr_close":
                rows.append(row)
                keys.append(None if key is None else (*key, "h" if header else ""))
                header_rows += header
            elif kind in ("th_open", "td_open"):
                if not rows:
                    style = str(token.attrs.get("style", ""))
                    aligns.append(style.removeprefix("text-align:") or "left")
                cell, source = self._cell(tokens[i:i + 3], header)
                row.append(cell)
                key = None if key is None or source is None else [*key, source]
        columns = max((len(r) for r in rows), default=0)
        if not columns:
            return []
        aligns += ["left"] * (columns - len(aligns))
        for cells in rows:
            cells += [_EMPTY] * (columns - len(cells))
        natural = [max(max(r[c].cell_length for r in rows), 1) for c in range(columns)]
        widths = tuple(_fit_columns(natural, width - (3 * columns + 1)))
        layout = (widths, tuple(aligns))
        out = [self._rule("╭", "┬", "╮", widths)]
        for r, (cells, row_key) in enumerate(zip(rows, keys, strict=True)):
            kept = None if row_key is None else self._rows.get((row_key, layout))
            if kept is None:
                kept = self._row_lines(cells, widths, aligns)
                if row_key is not None:
                    self._rows[(row_key, layout)] = kept
            out += kept
            if r + 1 == header_rows and r + 1 < len(rows):
                out.append(self._rule("├", "┼", "┤", widths))
        out.append(self._rule("╰", "┴", "╯", widths))
        if len(self._rows) > _ROWS_KEPT:
            self._rows.clear()
        if len(self._cells) > _ROWS_KEPT:
            self._cells.clear()
        return out

    def _cell(self, tokens: Sequence[Token], header: bool) -> tuple[Content, str | None]:
        """A cell (its open, inline and close tokens) and the source it is kept by (None:
        not kept: a link's address is shown from the parsed link, not from the source)."""
        inline = tokens[1] if len(tokens) > 1 and tokens[1].type == "inline" else None
        source = inline.content if inline is not None else ""
        if inline is not None and any(t.type in ("link_open", "image")
                                      for t in inline.children or ()):
            return self._cell_content(tokens, header), None
        cell = self._cells.get((source, header))
        if cell is None:
            cell = self._cells[(source, header)] = self._cell_content(tokens, header)
        return cell, source

    def _cell_content(self, tokens: Sequence[Token], header: bool) -> Content:
        node = SyntaxTreeNode(list(tokens)).children[0]
        lines = self._inline(node, self.styles.role("table_header") if header else None)
        return lines[0] if len(lines) == 1 else Content(" ").join(lines)

    def _row_lines(self, cells: list[Content], widths: tuple[int, ...],
                   aligns: list[str]) -> list[Content]:
        bar = Content.styled("│", self.styles.role("table_border"))
        wrapped = [wrap(cell, w) or [_EMPTY] for cell, w in zip(cells, widths, strict=True)]
        lines = []
        for y in range(max(len(cell) for cell in wrapped)):
            parts = [bar]
            for cell, w, align in zip(wrapped, widths, aligns, strict=True):
                text = cell[y] if y < len(cell) else _EMPTY
                parts += (_SPACE, _align(text, w, align), _SPACE, bar)
            lines.append(_EMPTY.join(parts))  # one join: chained + copies every span again
        return lines

    def _rule(self, left: str, mid: str, right: str, widths: tuple[int, ...]) -> Content:
        return Content.styled(left + mid.join("─" * (w + 2) for w in widths) + right,
                              self.styles.role("table_border"))

    # -- inline ------------------------------------------------------------------------------

    def _wrapped(self, lines: list[Content], width: int) -> list[Content]:
        return [wrapped for line in lines for wrapped in wrap(line, width)]

    def _inline(self, node: SyntaxTreeNode, base: Style | None = None) -> list[Content]:
        """A block's inline content as logical lines (split at hard breaks)."""
        inline = next((child for child in node.children if child.type == "inline"), None)
        if inline is None:
            return [Content("")]
        builder = _InlineBuilder(self.styles, base, self._combined)
        builder.walk(inline.children)
        return builder.lines()


class _InlineBuilder:
    def __init__(self, styles: PaneStyles, base: Style | None,
                 combined: dict[tuple[Style, ...], Style]) -> None:
        self.styles = styles
        self.stack: list[Style] = [base] if base is not None else []
        self.combined = combined
        self.done: list[Content] = []
        self.text: list[str] = []
        self.spans: list[Span] = []
        self.size = 0

    def style(self) -> Style | None:
        if not self.stack:
            return None
        key = tuple(self.stack)
        style = self.combined.get(key)
        if style is None:
            style = Style()
            for part in key:
                style = style + part
            self.combined[key] = style
        return style

    def add(self, text: str, extra: Style | None = None) -> None:
        text = clean(text)
        if not text:
            return
        style = self.style()
        if extra is not None:
            style = extra if style is None else style + extra
        if style is not None:
            self.spans.append(Span(self.size, self.size + len(text), style))
        self.text.append(text)
        self.size += len(text)

    def newline(self) -> None:
        self.done.append(Content("".join(self.text), self.spans))
        self.text, self.spans, self.size = [], [], 0

    def lines(self) -> list[Content]:
        self.newline()
        return self.done

    def walk(self, nodes: Sequence[SyntaxTreeNode]) -> None:
        role = self.styles.role
        for node in nodes:
            kind = node.type
            if kind == "text":
                self.add(node.content)
            elif kind == "softbreak":
                self.add(" ")
            elif kind == "hardbreak":
                self.newline()
            elif kind == "code_inline":
                self.add(node.content.replace("\t", TAB), role("code_inline"))
            elif kind in ("em", "strong", "s"):
                self.stack.append(role({"em": "em", "strong": "strong", "s": "strike"}[kind]))
                self.walk(node.children)
                self.stack.pop()
            elif kind == "link":
                start = self.size
                self.stack.append(role("link"))
                self.walk(node.children)
                self.stack.pop()
                label = "".join(self.text)[start:] if self.text else ""
                # markdown-it percent-encodes addresses; show them as written.
                href = MD.normalizeLinkText(str(node.attrs.get("href", "")))
                if href and href != label and f"mailto:{label}" != href:
                    self.add(f" ({href})", role("link_url"))
            elif kind == "image":
                alt = "".join(child.content for child in node.children) or node.content
                self.add(f"[image: {alt}]", role("link_url"))
            else:
                # html_inline cannot occur (html is off); any other leaf shows its text.
                if node.children:
                    self.walk(node.children)
                else:
                    self.add(node.content)


def _fit_columns(natural: list[int], room: int) -> list[int]:
    """Column widths: natural widths if they fit, else the widest columns shrink first."""
    if sum(natural) <= room:
        return natural
    columns = len(natural)
    room = max(room, columns)
    widths = [0] * columns
    left = room
    order = sorted(range(columns), key=lambda c: natural[c])
    for i, c in enumerate(order):
        share = left // (columns - i)
        widths[c] = max(1, min(natural[c], share))
        left -= widths[c]
    return widths


def _align(cell: Content, width: int, align: str) -> Content:
    gap = width - cell.cell_length
    if gap <= 0:
        return cell
    if align == "right":
        return Content(" " * gap) + cell
    if align == "center":
        return Content(" " * (gap // 2)) + cell + Content(" " * (gap - gap // 2))
    return cell + Content(" " * gap)
