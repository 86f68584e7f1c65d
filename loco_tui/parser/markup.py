"""Reading argument markup: XML parameters and child elements, fenced bodies.

These helpers see a closed region's text, never a stream: the scanner has already decided
where the region ends.
"""

from __future__ import annotations

import json
import re
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


def typed_value(value: str) -> Any:
    v = value
    if v.startswith("\n"):
        v = v[1:]
    if v.endswith("\n"):
        v = v[:-1]
    s = v.strip()
    if s and (s[0] in "{[-0123456789" or s in ("true", "false", "null")):
        try:
            return json.loads(s)
        except ValueError:
            pass
    return v


def xml_parameters(text: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    matches = list(_PARAM_RE.finditer(text))
    for idx, m in enumerate(matches):
        name = m.group(1) or m.group(2)
        stop = matches[idx + 1].start() if idx + 1 < len(matches) else len(text)
        body = text[m.end():stop]
        k = body.find("</parameter>")
        if k >= 0:
            body = body[:k]
        args[name] = typed_value(body)
    return args


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

