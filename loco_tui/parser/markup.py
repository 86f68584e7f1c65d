"""Reading argument markup: XML parameters and child elements, fenced bodies.

These helpers see a closed region's text, never a stream: the scanner has already decided
where the region ends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .calls import Found, clean_args
from .jsonrepair import RepairError, repair_loads

_FENCE_WRAP = re.compile(r"\A```[\w+\-]*[ \t]*\n?(.*?)\n?[ \t]*(?:```)?\s*\Z", re.S)


def strip_fence(text: str) -> str:
    if text.startswith("```"):
        m = _FENCE_WRAP.match(text)
        if m is not None:
            return m.group(1).strip()
    return text


_PARAM_RE = re.compile(
    r"<parameter(?:=\s*[\"']?([^\"'<>\s]+?)[\"']?|\s+name\s*=\s*[\"']?([^\"'<>\s]+)[\"']?)\s*>"
)


def _trim_newlines(value: str) -> str:
    """The value without the one newline that opens and the one that closes it."""
    if value.startswith("\n"):
        value = value[1:]
    if value.endswith("\n"):
        value = value[:-1]
    return value


def typed_value(name: str, value: str) -> Any:
    """Loco's own rule for XML values with no reference parser (``<invoke>`` blocks): what
    reads as JSON (a number, an object, ``true``) is JSON, the rest is text."""
    s = value.strip()
    if s and (s[0] in "{[-0123456789" or s in ("true", "false", "null")):
        try:
            return json.loads(s)
        except (ValueError, RecursionError):
            pass
    return value


def xml_parameters(text: str, convert: Callable[[str, str], Any] = typed_value,
                   ) -> tuple[dict[str, Any], bool]:
    """``<parameter=k>v</parameter>`` / ``<parameter name="k">v</parameter>`` tags as arguments,
    each value typed by ``convert(name, value)``; and whether the last one was closed."""
    args: dict[str, Any] = {}
    matches = list(_PARAM_RE.finditer(text))
    closed = True
    for idx, m in enumerate(matches):
        name = m.group(1) or m.group(2)
        stop = matches[idx + 1].start() if idx + 1 < len(matches) else len(text)
        body = text[m.end():stop]
        k = body.find("</parameter>")
        if k >= 0:
            body = body[:k]
        elif idx + 1 == len(matches):
            closed = False
        args[name] = convert(name, _trim_newlines(body))
    return args, closed


_ARG_PAIR = re.compile(r"<arg_key>(.*?)</arg_key>\s*<arg_value>(.*?)(</arg_value>|\Z)", re.S)


def arg_pairs(text: str) -> tuple[list[tuple[str, str]], bool]:
    """GLM's ``<arg_key>k</arg_key><arg_value>v</arg_value>`` pairs; and whether the last value
    was closed."""
    pairs: list[tuple[str, str]] = []
    closed = True
    for m in _ARG_PAIR.finditer(text):
        pairs.append((m.group(1).strip(), m.group(2)))
        closed = bool(m.group(3))
    return pairs, closed


_CHILD = re.compile(r"\s*<([A-Za-z_][\w\-.]{0,63})>(.*?)</\1>", re.S)


def xml_children(text: str) -> dict[str, Any] | None:
    """``<a>1</a><b>x</b>`` -> {"a": "1", "b": "x"}; None if the text is anything else."""
    args: dict[str, Any] = {}
    pos = 0
    n = len(text)
    while pos < n:
        m = _CHILD.match(text, pos)
        if m is None:
            if text[pos:].strip():
                return None
            break
        body = m.group(2)
        if body.startswith("\n"):
            body = body[1:]
        if body.endswith("\n"):
            body = body[:-1]
        args[m.group(1)] = body
        pos = m.end()
    return args


_NAME_CHILD = re.compile(r"<(name|tool_name|function|tool)>\s*([A-Za-z_][\w.\-]{0,127})\s*</\1>")
_ARGS_CHILD = re.compile(r"<(arguments|parameters|args|params|input)>(.*?)(?:</\1>|\Z)", re.S)


def xml_children_call(text: str) -> tuple[Found, list[str]] | None:
    m = _NAME_CHILD.search(text)
    if m is None:
        return None
    a = _ARGS_CHILD.search(text)
    if a is None:
        return Found(m.group(2), {}), []
    body = strip_fence(a.group(2).strip())
    if not body:
        return Found(m.group(2), {}), []
    if body.startswith("{"):
        try:
            val, fixes = repair_loads(body)
        except RepairError:
            return None
        return (Found(m.group(2), clean_args(val)), fixes) if isinstance(val, dict) else None
    children = xml_children(body)
    if children is None:
        return None
    return Found(m.group(2), children), []

