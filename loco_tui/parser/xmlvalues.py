"""Typing the string values of XML-style calls, the way each dialect's reference parser does.

XML dialects write every argument as text (``<parameter=n>3</parameter>``). Their reference
parsers (vLLM's ``qwen3coder``, ``seed_oss``, ``minimax_m2`` and ``glm4_moe`` tool parsers) type
a value by the tool's JSON Schema when the request carried one, and otherwise each has its own
rule; Loco follows the same rules so that a call reads the same here as on the server:

* Qwen3-Coder, Seed-OSS: ``null`` is None; without a schema for the parameter the value stays a
  string; with one, integers, numbers, booleans, objects and arrays are converted (falling back
  to the string when the text does not convert).
* MiniMax-M2: the same, on the stripped value; ``1`` also reads as true for a boolean.
* GLM-4.5/4.6: a parameter typed ``string`` stays a string; anything else (including no schema)
  is read as JSON, then as an escaped JSON string, then as a Python literal, else kept as text.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from .calls import jsonable

Schemas = Mapping[str, Mapping[str, Any]]

_STRING_TYPES = frozenset({"string", "str", "text", "varchar", "char", "enum"})
_INT_PREFIXES = ("int", "uint", "long", "short", "unsigned")


def param_types(schemas: Schemas | None, tool: str) -> Mapping[str, Any] | None:
    """The ``properties`` of ``tool``'s parameter schema, or None when the tool is unknown."""
    if schemas is None:
        return None
    schema = schemas.get(tool)
    if not isinstance(schema, Mapping):
        return None
    props = schema.get("properties")
    return props if isinstance(props, Mapping) else schema


def _type_of(props: Mapping[str, Any] | None, name: str) -> str | None:
    """The declared type of parameter ``name`` (lower-cased), "string" when the parameter is
    declared without one, None when it is not declared at all."""
    if props is None or name not in props:
        return None
    spec = props[name]
    if isinstance(spec, Mapping) and "type" in spec:
        t = spec["type"]
        if isinstance(t, list):
            t = next((x for x in t if x != "null"), "string")
        return str(t).strip().lower()
    return "string"


def _literal(text: str) -> Any:
    """``ast.literal_eval`` guarded: a literal or ``ValueError``."""
    if len(text) > 100_000:
        raise ValueError("too long")
    try:
        return jsonable(ast.literal_eval(text))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ValueError("not a literal") from None


def _number(text: str) -> Any:
    f = float(text)
    if f != f or f in (float("inf"), float("-inf")):
        return text
    return int(f) if f == int(f) else f


def qwen3_value(raw: str, name: str, props: Mapping[str, Any] | None, *,
                json_arrays: bool = True) -> Any:
    """Qwen3-Coder's rule (Seed-OSS's with ``json_arrays=False``: arrays only as literals)."""
    if raw.lower() == "null":
        return None
    t = _type_of(props, name)
    if t is None or t in _STRING_TYPES:
        return raw
    if t.startswith(_INT_PREFIXES):
        try:
            return int(raw)
        except ValueError:
            return raw
    if t.startswith(("num", "float")):
        try:
            return _number(raw)
        except (ValueError, OverflowError):
            return raw
    if t in ("boolean", "bool", "binary"):
        return raw.lower() == "true"
    is_obj = t == "object" or t.startswith("dict")
    is_arr = t in ("array", "arr") or t.startswith("list")
    if is_obj or (json_arrays and is_arr):
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            pass
    try:
        return _literal(raw)
    except ValueError:
        return raw


def minimax_value(raw: str, name: str, props: Mapping[str, Any] | None) -> Any:
    """MiniMax-M2's rule: the stripped value, typed by the schema (a string without one)."""
    value = raw.strip()
    if value.lower() == "null":
        return None
    t = _type_of(props, name) or "string"
    if t in ("string", "str", "text"):
        return value
    if t in ("integer", "int"):
        try:
            return int(value)
        except ValueError:
            return value
    if t in ("number", "float"):
        try:
            return _number(value)
        except (ValueError, OverflowError):
            return value
    if t in ("boolean", "bool"):
        return value.lower() in ("true", "1")
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value


def glm_value(raw: str, name: str, props: Mapping[str, Any] | None) -> Any:
    """GLM-4.5's rule: strings stay strings; anything else is deserialised when it can be."""
    value = raw.strip()
    if _type_of(props, name) == "string":
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        pass
    try:
        # An escaped JSON text ("{\"a\": 1}") is read as the JSON it escapes.
        return json.loads(json.loads('"' + value + '"'))
    except (ValueError, RecursionError):
        pass
    try:
        return _literal(value)
    except ValueError:
        return value
