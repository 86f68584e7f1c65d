"""Checking a parsed call against the tools offered: ``check_call(call, tools)``.

A small JSON-Schema subset is enough for tool parameters: ``type`` (one or a list),
``required``, ``properties``, ``additionalProperties: false``, ``enum``, ``items`` and nested
objects. Pure functions; the problems are values (a kind, where, and a sentence), never raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .types import ToolCall

Tools = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class CallProblem:
    """One way a call does not fit its tool.

    ``kind``: ``unknown_tool``, ``missing_argument``, ``wrong_type``, ``extra_argument`` or
    ``not_in_enum``; ``path``: where, as ``arguments.city`` or ``arguments.items[2].id`` (the
    tool's name for ``unknown_tool``); ``message``: a sentence for the pane and the trace."""

    kind: str
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "message": self.message}


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _fits(value: Any, t: str) -> bool:
    kinds = _JSON_TYPES.get(t)
    if kinds is None:
        return True  # a type this subset does not know: not ours to judge
    if isinstance(value, bool) and t in ("integer", "number"):
        return False
    if t == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, kinds)


def check_value(value: Any, schema: Mapping[str, Any], path: str) -> list[CallProblem]:
    """The problems of ``value`` against ``schema`` at ``path``."""
    problems: list[CallProblem] = []
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else (
        [t for t in declared if isinstance(t, str)] if isinstance(declared, list) else [])
    if types and not any(_fits(value, t) for t in types):
        problems.append(CallProblem(
            "wrong_type", path,
            f"{path} is {_type_name(value)}, expected {' or '.join(types)}"))
        return problems
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and value not in enum:
        shown = ", ".join(repr(e) for e in enum[:8])
        problems.append(CallProblem("not_in_enum", path,
                                    f"{path} is {value!r}, expected one of {shown}"))
    if isinstance(value, dict):
        problems += _check_object(value, schema, path)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                problems += check_value(item, items, f"{path}[{i}]")
    return problems


def _check_object(value: Mapping[str, Any], schema: Mapping[str, Any],
                  path: str) -> list[CallProblem]:
    problems: list[CallProblem] = []
    props = schema.get("properties")
    props = props if isinstance(props, Mapping) else {}
    required = schema.get("required")
    for key in required if isinstance(required, list) else []:
        if isinstance(key, str) and key not in value:
            problems.append(CallProblem("missing_argument", f"{path}.{key}",
                                        f"{path}.{key} is required but missing"))
    closed = schema.get("additionalProperties") is False
    for key, item in value.items():
        sub = props.get(key)
        if isinstance(sub, Mapping):
            problems += check_value(item, sub, f"{path}.{key}")
        elif closed:
            problems.append(CallProblem("extra_argument", f"{path}.{key}",
                                        f"{path}.{key} is not a parameter of this tool"))
    return problems


def check_call(call: ToolCall, tools: Tools) -> list[CallProblem]:
    """How ``call`` does not fit the tool it names among ``tools`` (name -> JSON Schema of the
    parameters); an empty list when it fits."""
    schema = tools.get(call.name)
    if schema is None:
        known = ", ".join(sorted(tools)[:8]) or "none"
        return [CallProblem("unknown_tool", call.name,
                            f"{call.name!r} is not one of the tools offered ({known})")]
    if not isinstance(schema, Mapping):
        return []
    return _check_object(call.arguments, schema, "arguments")
