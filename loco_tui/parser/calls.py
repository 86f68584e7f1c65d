"""Deciding whether a decoded value is a tool call, by structure.

A call needs a non-empty identifier name and object arguments (or a JSON string holding an
object). A ``parameters`` that is a JSON schema, or a ``description`` next to the name, marks a
tool *definition*. Unknown extra keys mark data. Wrappers (``tool_calls``, ``tool_call``,
``function_call``, OpenAI's ``{"type":"function","function":{...}}``) are unwrapped.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .jsonrepair import RepairError, TruncatedStr, plain, repair_loads

NAME_RE = re.compile(r"[A-Za-z_][\w.\-]{0,127}")
NAME_KEYS = ("name", "tool_name", "function", "tool", "function_name", "action", "recipient_name")
ARG_KEYS = ("arguments", "parameters", "args", "input", "tool_input", "action_input", "params",
            "kwargs")
META_KEYS = frozenset({"id", "type", "index", "call_id", "tool_call_id"})
CALL_TYPES = frozenset({None, "function", "tool_call", "tool_use", "function_call", "tool"})
WRAPPER_KEYS = ("tool_calls", "tool_call", "function_call", "function_calls", "calls")
WRAPPER_EXTRA = frozenset({"role", "content", "id", "type", "index", "refusal"})
DEFINITION_KEYS = frozenset({"description", "properties", "required", "returns", "strict"})


@dataclass
class Found:
    """A call extracted from a value, before it becomes a ToolCall."""

    name: str
    arguments: dict[str, Any]
    id: str | None = None
    notes: list[str] = field(default_factory=list)


def valid_name(name: Any) -> bool:
    return (
        isinstance(name, str)
        and not isinstance(name, TruncatedStr)
        and NAME_RE.fullmatch(name) is not None
    )


def looks_like_schema(args: dict[str, Any]) -> bool:
    if args.get("type") == "object" and ("properties" in args or "required" in args):
        return True
    return "properties" in args and isinstance(args["properties"], dict) and set(args) <= {
        "type", "properties", "required", "additionalProperties", "$schema", "title"
    }


def clean_args(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as plain JSON data: checked at C speed, converted only when it needs to be."""
    try:
        json.dumps(value, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        cleaned: dict[str, Any] = jsonable(value)
        return cleaned
    return value


def jsonable(value: Any) -> Any:
    """Turn Python literals (tuples, sets, bytes, complex, NaN) into JSON-serialisable values."""
    if value is None or isinstance(value, (bool, int, str)):
        return plain(value) if isinstance(value, str) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(plain(k)) if not isinstance(k, str) else plain(k): jsonable(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return repr(value)


def _args_from(raw: Any, key: str, lenient: bool) -> tuple[dict[str, Any] | None, str, list[str]]:
    """(arguments, reason-if-None, notes)."""
    if raw is None:
        return {}, "", []
    if isinstance(raw, dict):
        if key == "parameters" and looks_like_schema(raw):
            return None, "tool definition (parameters is a JSON schema)", []
        return raw, "", []
    if isinstance(raw, str):
        if key in ("action_input", "tool_input", "input") and not raw.lstrip().startswith("{"):
            return {"input": plain(raw)}, "", ["string_input"]
        text = raw.strip()
        if not text:
            return {}, "", ["arguments_string"]
        try:
            val, fixes = repair_loads(text)
        except RepairError:
            return None, "arguments string is not JSON", []
        if isinstance(val, dict):
            return val, "", ["arguments_string", *fixes]
        return None, "arguments string is not an object", []
    if lenient and isinstance(raw, list) and not raw:
        return {}, "", []
    return None, f"arguments is {type(raw).__name__}, not an object", []


def _one(d: dict[str, Any], lenient: bool) -> tuple[Found | None, str]:
    keys = set(d)
    fn = d.get("function")
    if isinstance(fn, dict) and keys <= {"function", "type", "id", "index", "call_id"}:
        if d.get("type") not in CALL_TYPES:
            return None, f"type is {d.get('type')!r}"
        found, reason = _one(fn, lenient)
        if found is not None and isinstance(d.get("id"), str):
            found.id = plain(d["id"])
        return found, reason
    name_key = next((k for k in NAME_KEYS if isinstance(d.get(k), str)), None)
    if name_key is None:
        return None, "no name"
    if keys & DEFINITION_KEYS:
        return None, "tool definition (has " + ", ".join(sorted(keys & DEFINITION_KEYS)) + ")"
    arg_key = next((k for k in ARG_KEYS if k in d), None)
    if name_key == "action" and arg_key not in ("action_input", None):
        return None, "'action' without 'action_input'"
    extra = keys - {name_key} - ({arg_key} if arg_key else set()) - META_KEYS
    if extra:
        return None, "unexpected keys: " + ", ".join(sorted(map(str, extra)))
    if d.get("type") not in CALL_TYPES:
        return None, f"type is {d.get('type')!r}"
    name = d[name_key]
    if not valid_name(name):
        if isinstance(name, TruncatedStr):
            return None, "name cut off"
        return None, f"name {name[:40]!r} is not an identifier"
    if arg_key is None:
        if not lenient:
            return None, "no arguments"
        args: dict[str, Any] | None = {}
        reason, notes = "", ["no_arguments"]
    else:
        args, reason, notes = _args_from(d[arg_key], arg_key, lenient)
    if args is None:
        return None, reason
    call_id = None
    for k in ("id", "call_id", "tool_call_id"):
        if isinstance(d.get(k), str):
            call_id = plain(d[k])
            break
    return Found(plain(name), clean_args(args), call_id, notes), ""


def extract_calls(value: Any, *, lenient: bool = False) -> tuple[list[Found], str]:
    """The calls ``value`` holds (all or nothing), or ``([], reason)``.

    ``lenient`` is for values inside explicit tool-call markup: a name with no arguments is a
    call with ``{}``."""
    if isinstance(value, dict):
        for wk in WRAPPER_KEYS:
            if wk in value and set(value) - {wk} <= WRAPPER_EXTRA:
                inner = value[wk]
                if isinstance(inner, (dict, list)) and inner:
                    calls, reason = extract_calls(inner, lenient=True)
                    return calls, reason
        found, reason = _one(value, lenient)
        return ([found], "") if found is not None else ([], reason)
    if isinstance(value, list):
        if not value:
            return [], "empty list"
        out: list[Found] = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                return [], f"item {i} is not an object"
            calls, reason = extract_calls(item, lenient=lenient)
            if not calls:
                return [], f"item {i}: {reason}"
            out.extend(calls)
        return out, ""
    return [], "not an object"
