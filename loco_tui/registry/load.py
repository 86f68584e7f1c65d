"""TOML -> Registry, with every problem reported as ``file:line: message``.

Three passes, all of whose findings are reported together:

1. ``tomllib`` parses the text (``toml_file.parse_toml``: a syntax error stops here, one
   issue with its line/column);
2. pydantic validates the shape (each error becomes one issue at the line of the offending
   key, with the key path and a message in TOML words: table, array, key);
3. ``Registry.reference_errors`` finds dangling names (each at its own key). When pass 2
   failed, the broken entries are set aside and the rest is still checked for dangling
   names, so one run of ``loco check`` shows everything that needs fixing.
"""

from __future__ import annotations

import copy
import difflib
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from loco_tui.registry.locate import KeyIndex, index_keys
from loco_tui.registry.schema import Registry
from loco_tui.registry.toml_file import (
    ConfigError,
    ConfigIssue,
    KeyPath,
    format_path,
    parse_toml,
    read_toml_text,
    walk_location,
)

# Registry sections whose entries other entries refer to, and the kind of name they hold.
_SECTION_KIND = {
    "providers": "provider",
    "models": "model",
    "tools": "tool",
    "roles": "role",
    "personas": "persona",
    "ensembles": "ensemble",
    "workflows": "workflow",
}


class RegistryError(ConfigError):
    """A registry that cannot be used; ``issues`` lists every problem found."""


# -- public entry points -------------------------------------------------------------------


def load_registry(path: Path) -> Registry:
    """Read and validate a registry file; RegistryError lists every problem in it."""
    path = Path(path)
    text = read_toml_text(path, RegistryError)
    return load_registry_text(text, source=str(path))


def load_registry_text(text: str, source: str = "<string>") -> Registry:
    """Parse and validate registry TOML; ``source`` names the file in issues."""
    try:
        return _load_text(text, source)
    except RecursionError:
        # tomllib, the validator and the line indexer all recurse: thousands of nested
        # arrays would otherwise end `loco check` in a traceback and the hot-reload watcher
        # in silence. No registry is nested deeper than a few levels.
        raise RegistryError(
            [ConfigIssue(source, None, None, "too deeply nested (arrays or tables inside "
                         "each other thousands deep); no registry needs that")]
        ) from None


def _load_text(text: str, source: str) -> Registry:
    data = parse_toml(text, source, RegistryError)
    issues: list[ConfigIssue] = []
    index: KeyIndex | None = None

    def at(loc: KeyPath, message: str) -> ConfigIssue:
        nonlocal index
        if index is None:
            index = index_keys(text)
        return ConfigIssue(source, index.line_of(loc), None, message)

    try:
        registry: Registry | None = Registry.model_validate(data)
    except ValidationError as exc:
        registry = None
        for loc, message in _describe_validation(exc, data):
            issues.append(at(loc, message))
        # Check the references of what did validate, so all problems show at once.
        partial = _validate_remainder(data, exc)
        if partial is not None:
            pruned, also_known, index_map = partial
            for loc, message in pruned.reference_errors(also_known):
                loc = _remap(loc, index_map)
                issues.append(at(*_reference_issue(loc, message, data)))
    if registry is not None:
        for loc, message in registry.reference_errors():
            issues.append(at(*_reference_issue(loc, message, data)))

    if issues:
        issues.sort(key=lambda i: (i.line or 0, i.column or 0))
        raise RegistryError(_dedupe(issues))
    assert registry is not None
    return registry


# -- pass 2: shape -------------------------------------------------------------------------


def _walk(loc: Sequence[Any], data: Any) -> tuple[KeyPath, bool]:
    """A pydantic error location as the path written in the file, and whether the file
    holds all of it (else the path ends at the first part it does not hold)."""
    held, rest = walk_location(loc, data, tag="kind")
    return ((*held, rest[0]) if rest else held), not rest


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{_toml_type(value)} {text}"


_NOUNS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


def _describe_validation(exc: ValidationError, data: Any) -> list[tuple[KeyPath, str]]:
    """One (key path, message) per problem, in the words of the TOML file."""
    out: list[tuple[KeyPath, str]] = []
    # Errors from the branches of one union (``keep_alive = [1]``) land on one key.
    merged: dict[KeyPath, list[str]] = {}
    for err in exc.errors(include_url=False):
        kind = err["type"]
        walked, complete = _walk(err["loc"], data)
        if kind == "missing":
            parent, key = walked[:-1], walked[-1]
            where = format_path(parent)
            text = f"missing required key '{key}'"
            out.append((parent, f"{where}: {text}" if where else text))
            continue
        if kind == "extra_forbidden":
            parent, key = walked[:-1], str(walked[-1])
            out.append((walked, _unknown_key(parent, key, data)))
            continue
        path = walked if complete else walked[:-1]
        where = format_path(path)
        ctx = err.get("ctx") or {}
        if kind == "union_tag_invalid":
            tags = _or_list(_split_tags(ctx.get("expected_tags", "")))
            key = ctx.get("discriminator", "'kind'").strip("'")
            text = f"unknown {key} '{ctx.get('tag')}' (expected {tags})"
            out.append(((*path, key), f"{format_path((*path, key))}: {text}"))
            continue
        if kind == "union_tag_not_found":
            key = ctx.get("discriminator", "'kind'").strip("'")
            tags = _union_tags(path, data)
            text = f"missing required key '{key}'" + (f" (one of {tags})" if tags else "")
            out.append((path, f"{where}: {text}"))
            continue
        if kind == "list_type" and len(path) == 2 and path[0] == "roles":
            text = "input should be a model id or an array of model ids"
        elif kind in _NOUNS:
            text = f"input should be {_NOUNS[kind]}"
        elif kind in ("value_error", "assertion_error"):
            text = str(ctx.get("error", err["msg"]))
        elif kind == "too_short" and ctx.get("field_type") == "List":
            n = ctx.get("min_length", 1)
            text = f"needs at least {n} entr{'y' if n == 1 else 'ies'}"
        elif kind == "string_too_short":
            text = "must not be empty"
        else:
            msg = err["msg"]
            text = msg[:1].lower() + msg[1:]
        if kind in _NOUNS or kind == "literal_error":
            if not complete:  # one branch of a union: merged below
                merged.setdefault(path, []).append(text)
                continue
            text += f" (got {_shown(err['input'])})"
        out.append((path, f"{where}: {text}" if where else text))
    for path, texts in merged.items():
        value = _value_at(path, data)
        wanted = [t.removeprefix("input should be ") for t in dict.fromkeys(texts)]
        text = f"input should be {_or_list(wanted)} (got {_shown(value)})"
        out.append((path, f"{format_path(path)}: {text}"))
    return out


def _split_tags(tags: str) -> list[str]:
    return [t.strip() for t in tags.split(",") if t.strip()]


def _or_list(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _value_at(path: KeyPath, data: Any) -> Any:
    cur = data
    for part in path:
        cur = cur[part]
    return cur


def _unknown_key(parent: KeyPath, key: str, data: Any) -> str:
    if not parent:
        where = "at the top level"
    elif any(isinstance(p, int) for p in parent):
        where = f"in {format_path(parent)}"
    else:
        where = f"in [{format_path(parent)}]"
    text = f"unknown key '{key}' {where}"
    allowed = _allowed_keys(parent, data)
    if allowed:
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        if close:
            text += f" (did you mean '{close[0]}'?)"
        else:
            text += f" (expected one of: {', '.join(allowed)})"
    return text


# -- the schema at a path (for suggestions) --------------------------------------------------


def _schema_at(path: KeyPath, data: Any) -> Any:
    """The declared type at ``path`` of the registry (resolving unions by ``kind``)."""
    tp: Any = Registry
    cur = data
    for part in path:
        tp = _resolve(tp, cur)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        else:
            origin = typing.get_origin(tp)
            args = typing.get_args(tp)
            if origin is dict and len(args) == 2:
                tp = args[1]
            elif origin is list and args:
                tp = args[0]
            else:
                return None
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            cur = None
    return _resolve(tp, cur)


def _resolve(tp: Any, value: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(args) == 1:
            return _resolve(args[0], value)
        if models and isinstance(value, dict):
            for model in models:
                field = model.model_fields.get("kind")
                if field is not None and value.get("kind") in typing.get_args(field.annotation):
                    return model
    return tp


def _allowed_keys(parent: KeyPath, data: Any) -> list[str]:
    tp = _schema_at(parent, data)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _union_tags(path: KeyPath, data: Any) -> str:
    tp = _schema_at(path, data)
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    tags: list[str] = []
    for arg in typing.get_args(tp):
        if isinstance(arg, type) and issubclass(arg, BaseModel) and "kind" in arg.model_fields:
            tags += [f"'{t}'" for t in typing.get_args(arg.model_fields["kind"].annotation)]
    return _or_list(tags)


# -- pass 3: references --------------------------------------------------------------------


def _reference_issue(loc: KeyPath, message: str, data: Any) -> tuple[KeyPath, str]:
    walked, complete = _walk(loc, data)
    if complete:
        return walked, f"{format_path(walked)}: {message}"
    if isinstance(walked[-1], int):
        # `judge = "qwen"` is a one-model chain: its "[0]" is not written in the file.
        return walked[:-1], f"{format_path(walked[:-1])}: {message}"
    # A key left at its default (an ensemble's `judge` is the role "judge").
    hint = " (the default judge; name another role, or set judge = false)"
    if walked[-1] != "judge":
        hint = " (the default value)"
    return walked, f"{format_path(walked)}: {message}{hint}"


# Lists whose broken elements can be set aside one by one (their siblings still checked).
_ELEMENT_LISTS = {
    ("routing", "rules"), ("ensembles", None, "members"), ("workflows", None, "phases")
}

IndexMap = dict[KeyPath, list[int]]


def _validate_remainder(
    data: dict[str, Any], exc: ValidationError
) -> tuple[Registry, dict[str, set[str]], IndexMap] | None:
    """Set aside what failed validation and validate the rest (None if that is not possible).

    Returns the registry of the rest, the names set aside per kind (they exist, so naming
    them is not a dangling reference), and, for each list that lost elements, the original
    index of every element kept (to report references at their real position).
    """
    if not isinstance(data, dict):
        return None
    paths = [_walk(err["loc"], data)[0] for err in exc.errors(include_url=False)]
    for fine in (True, False):
        rest = _prune(data, paths, fine)
        if rest is None:
            return None
        pruned, also_known, index_map = rest
        try:
            return Registry.model_validate(pruned), also_known, index_map
        except ValidationError:
            continue
    return None


def _list_element(path: KeyPath) -> tuple[KeyPath, int] | None:
    for n in range(2, len(path)):
        head, index = path[:n], path[n]
        if isinstance(index, int) and (
            (head[0], None, *head[2:]) in _ELEMENT_LISTS or head in _ELEMENT_LISTS
        ):
            return head, index
    return None


def _prune(
    data: dict[str, Any], paths: list[KeyPath], fine: bool
) -> tuple[dict[str, Any], dict[str, set[str]], IndexMap] | None:
    rest = copy.deepcopy(data)
    also_known: dict[str, set[str]] = {}
    drop_elements: dict[KeyPath, set[int]] = {}
    drop_entries: set[tuple[str, str]] = set()
    for path in paths:
        if not path:
            return None
        section = path[0]
        element = _list_element(path) if fine else None
        if element is not None:
            drop_elements.setdefault(element[0], set()).add(element[1])
        elif section in _SECTION_KIND:
            if len(path) < 2 or not isinstance(rest.get(section), dict):
                return None  # a whole section is unusable: references into it are unknowable
            drop_entries.add((section, str(path[1])))
        elif section == "routing":
            if len(path) < 2 or not isinstance(rest.get("routing"), dict):
                return None
            rest["routing"].pop(str(path[1]), None)
        else:
            rest.pop(str(section), None)  # an unknown top-level key
    index_map: IndexMap = {}
    for list_path, bad in drop_elements.items():
        try:
            owner = _value_at(list_path[:-1], rest)
            items = owner[list_path[-1]]
        except (KeyError, IndexError, TypeError):
            return None
        kept = [i for i in range(len(items)) if i not in bad]
        index_map[list_path] = kept
        owner[list_path[-1]] = [items[i] for i in kept]
        if not kept and list_path[0] in _SECTION_KIND:
            drop_entries.add((str(list_path[0]), str(list_path[1])))
    for section, name in drop_entries:
        rest[section].pop(name, None)
        also_known.setdefault(_SECTION_KIND[section], set()).add(name)
    return rest, also_known, index_map


def _remap(loc: KeyPath, index_map: IndexMap) -> KeyPath:
    for list_path, kept in index_map.items():
        n = len(list_path)
        if loc[:n] != list_path or len(loc) <= n:
            continue
        position = loc[n]
        if isinstance(position, int) and position < len(kept):
            return (*list_path, kept[position], *loc[n + 1 :])
    return loc


def _dedupe(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    return list(dict.fromkeys(issues))
