"""Eval suites: TOML files of cases, each a prompt and a checker, read into a ``Suite``.

    [suite]
    name = "arithmetic"                    # default: the file's name
    description = "Word problems with one numeric answer."
    system = "Answer with the number only." # default system prompt of every case
    strategies = ["single:coder", "ensemble:default"]   # default for `loco eval`

    [[cases]]
    id = "apples"                          # default: the case's position, 1-based
    prompt = "Tom has 3 apples and buys 4 more. How many apples does he have?"
    check = { type = "number", expected = 7 }

A case's system prompt (its own, else the suite's) is sent as the first paragraph of the
prompt, to every strategy alike (see ``runner.prompt_of``): a run request carries no system
prompt of its own yet.

Every problem in a file is reported at once, each as ``file:line: message`` (the lines come
from the registry's key locator, so a suite reads like ``loco check`` reads a registry).
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from loco_tui.eval.checkers import CHECK_TYPES, Check
from loco_tui.eval.strategies import parse_strategy
from loco_tui.registry.locate import index_keys
from loco_tui.registry.toml_file import (
    ConfigError,
    ConfigIssue,
    KeyPath,
    format_path,
    parse_toml,
    read_toml_text,
    walk_location,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SuiteHeader(_Strict):
    name: str | None = Field(None, min_length=1)
    description: str = ""
    system: str | None = None
    strategies: list[str] = []

    @field_validator("strategies")
    @classmethod
    def _readable(cls, strategies: list[str]) -> list[str]:
        for text in strategies:
            parse_strategy(text)
        return strategies


class CaseConfig(_Strict):
    id: str | None = Field(None, min_length=1)
    prompt: str = Field(min_length=1)
    system: str | None = None
    check: Check


class SuiteFile(_Strict):
    suite: SuiteHeader = SuiteHeader()
    cases: list[CaseConfig] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Case:
    """One case, resolved: its id, what the models are sent, and how it is checked."""

    id: str
    prompt: str
    system: str | None
    check: Check


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    path: Path | None
    description: str
    strategies: tuple[str, ...]
    cases: tuple[Case, ...]

    def case(self, case_id: str) -> Case:
        for case in self.cases:
            if case.id == case_id:
                return case
        raise KeyError(case_id)


class SuiteError(ConfigError):
    """A suite that cannot be used; ``issues`` lists every problem found, with lines."""


def load_suite(path: Path | str) -> Suite:
    """Read and validate a suite file; SuiteError lists every problem in it."""
    path = Path(path)
    text = read_toml_text(path, SuiteError)
    return load_suite_text(text, source=str(path), path=path)


def load_suite_text(text: str, source: str = "<string>", path: Path | None = None) -> Suite:
    """Parse and validate suite TOML; ``source`` names the file in issues."""
    data = parse_toml(text, source, SuiteError)
    index = None

    def at(loc: KeyPath, message: str) -> ConfigIssue:
        nonlocal index
        if index is None:
            index = index_keys(text)
        return ConfigIssue(source, index.line_of(loc), None, message)

    try:
        parsed = SuiteFile.model_validate(data)
    except ValidationError as exc:
        issues = [at(loc, message) for loc, message in _describe(exc, data)]
        raise SuiteError(sorted(issues, key=lambda i: i.line or 0)) from None
    cases: list[Case] = []
    seen: dict[str, int] = {}
    issues = []
    for n, config in enumerate(parsed.cases):
        case_id = config.id or str(n + 1)
        if case_id in seen:
            issues.append(at(("cases", n, "id"), f"cases[{n}].id: '{case_id}' is already "
                             f"the id of cases[{seen[case_id]}]"))
        seen.setdefault(case_id, n)
        system = config.system if config.system is not None else parsed.suite.system
        cases.append(Case(case_id, config.prompt, system or None, config.check))
    if issues:
        raise SuiteError(issues)
    name = parsed.suite.name or (path.stem if path is not None else "suite")
    return Suite(name, path, parsed.suite.description, tuple(parsed.suite.strategies),
                 tuple(cases))


# -- validation errors in the words of the file ----------------------------------------------
def _known_keys() -> set[str]:
    keys = set(SuiteFile.model_fields) | set(SuiteHeader.model_fields) | set(
        CaseConfig.model_fields)
    union = typing.get_args(Check)[0]
    for check in typing.get_args(union):
        keys |= set(check.model_fields)
    return keys


def _describe(exc: ValidationError, data: Any) -> list[tuple[KeyPath, str]]:
    out: list[tuple[KeyPath, str]] = []
    for err in exc.errors(include_url=False):
        kind = err["type"]
        held, rest = walk_location(err["loc"], data, tag="type")
        path = (*held, *rest)
        ctx = err.get("ctx") or {}
        if kind == "missing":
            parent, key = path[:-1], path[-1]
            where = format_path(parent)
            text = f"missing required key '{key}'"
            out.append((parent, f"{where}: {text}" if where else text))
            continue
        if kind == "extra_forbidden":
            key = str(path[-1])
            close = difflib.get_close_matches(key, sorted(_known_keys()), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out.append((path, f"{format_path(path)}: unknown key '{key}'{hint}"))
            continue
        if kind == "union_tag_invalid":
            text = (f"unknown check type '{ctx.get('tag')}' (expected one of "
                    f"{', '.join(CHECK_TYPES)})")
            out.append(((*path, "type"), f"{format_path((*path, 'type'))}: {text}"))
            continue
        if kind == "union_tag_not_found":
            out.append((path, f"{format_path(path)}: missing required key 'type' (one of "
                              f"{', '.join(CHECK_TYPES)})"))
            continue
        if kind in ("value_error", "assertion_error"):
            text = str(ctx.get("error", err["msg"]))
        elif kind == "too_short":
            n = ctx.get("min_length", 1)
            text = f"needs at least {n} entr{'y' if n == 1 else 'ies'}"
        else:
            msg = err["msg"]
            text = msg[:1].lower() + msg[1:]
            if "input" in err and not isinstance(err["input"], dict | list):
                text += f" (got {err['input']!r})"
        where = format_path(path)
        out.append((path, f"{where}: {text}" if where else text))
    return out
