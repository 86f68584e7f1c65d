"""Pythonic tool calls: ``[get_weather(city="Paris"), get_time()]``, ``brave_search.call(q="x")``,
``print(default_api.f(x=1))`` (Gemma ``tool_code``). Read with the stdlib ``ast`` module; only
keyword arguments with literal values make a call."""

from __future__ import annotations

import ast
from typing import Any

from .calls import Found, jsonable, valid_name

_LITERAL_NAMES = {"true": True, "false": False, "null": None, "none": None}


class _NotLiteral(Exception):
    pass


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Name) and node.id.lower() in _LITERAL_NAMES:
        return _LITERAL_NAMES[node.id.lower()]
    if isinstance(node, ast.List):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise _NotLiteral
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)
                if k is not None}
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise _NotLiteral from None
    if value is Ellipsis or (isinstance(value, str) and value.strip() in ("...", "…")):
        raise _NotLiteral  # f(path=...) is a signature or a template, not a call
    return value


def _func_name(func: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    parts.append(func.id)
    parts.reverse()
    # brave_search.call(...) is Llama's built-in form; default_api.f(...) is Gemma's.
    if len(parts) >= 2 and parts[-1] == "call":
        parts.pop()
    if len(parts) >= 2 and parts[0] in ("default_api", "functions", "tools", "api"):
        parts = parts[1:]
    return ".".join(parts)


def _call(node: ast.AST, allow_empty: bool) -> tuple[Found | None, str]:
    if not isinstance(node, ast.Call):
        return None, "not a call"
    # print(default_api.f(...)) in a tool_code block
    if (isinstance(node.func, ast.Name) and node.func.id == "print" and len(node.args) == 1
            and not node.keywords and isinstance(node.args[0], ast.Call)):
        return _call(node.args[0], allow_empty)
    name = _func_name(node.func)
    if name is None or not valid_name(name):
        return None, "callee is not a name"
    if node.args:
        return None, "positional arguments"
    if not node.keywords and not allow_empty:
        return None, "no keyword arguments"
    args: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            return None, "**kwargs"
        try:
            args[kw.arg] = _literal(kw.value)
        except _NotLiteral:
            return None, f"argument {kw.arg!r} is not a literal"
    return Found(name, jsonable(args)), ""


def _close(src: str) -> tuple[str, str]:
    """Close unclosed strings and brackets at the end of ``src``; also return the text cut
    back to the last complete argument (for a dangling ``city=`` or ``city="Pa``)."""
    closers, last_sep = _open_brackets(src)
    closed = src + closers
    if last_sep < 0:
        return closed, closed
    cut = src[:last_sep]
    return closed, cut + _open_brackets(cut)[0]


def _open_brackets(src: str) -> tuple[str, int]:
    """What closes the strings and brackets left open at the end of ``src``, and the index
    after the last argument boundary of the innermost call (-1 if none)."""
    stack: list[str] = []
    q = ""
    i = 0
    n = len(src)
    last_sep = -1
    pairs = {"(": ")", "[": "]", "{": "}"}
    while i < n:
        c = src[i]
        if q:
            if c == "\\":
                i += 2
                continue
            if c == q:
                q = ""
        elif c in "\"'":
            q = c
        elif c in pairs:
            stack.append(pairs[c])
            if c == "(":
                last_sep = i + 1
        elif c in ")]}":
            if stack and stack[-1] == c:
                stack.pop()
        elif c == "," and stack and stack[-1] == ")":
            last_sep = i
        i += 1
    return q + "".join(reversed(stack)), last_sep


def _parse_expr(src: str) -> ast.AST | None:
    try:
        return ast.parse(src, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError, TypeError):
        return None


def parse_pythonic(src: str, *, allow_bare: bool = False, allow_empty: bool = False,
                   repair: bool = False) -> tuple[list[Found], list[str], str]:
    """Calls in ``src`` (a list of calls, or with ``allow_bare`` a single call expression).

    Returns ``(calls, fixes, reason)``; ``calls`` is empty with a reason when ``src`` is not a
    pythonic call list. ``repair`` closes strings and brackets cut off by the end of output."""
    text = src.strip()
    if len(text) > 200_000:
        return [], [], "too long"
    fixes: list[str] = []
    expr = _parse_expr(text)
    if expr is None and repair:
        closed, cut = _close(text)
        expr = _parse_expr(closed)
        if expr is not None:
            fixes.append("unclosed_call")
        else:
            expr = _parse_expr(cut)
            if expr is not None:
                fixes.extend(["unclosed_call", "dangling_argument"])
    if expr is None:
        return [], [], "not Python"
    if isinstance(expr, (ast.List, ast.Tuple)):
        if not expr.elts:
            return [], [], "empty list"
        nodes = list(expr.elts)
    elif allow_bare and isinstance(expr, ast.expr):
        nodes = [expr]
    else:
        return [], [], "not a list"
    out: list[Found] = []
    for node in nodes:
        found, reason = _call(node, allow_empty)
        if found is None:
            return [], [], reason
        out.append(found)
    return out, fixes, ""
