"""A tool-calling comparison: a suite of prompts whose right call is known, run on several
models at once, scored per model and case (right tool? arguments that fit its schema? the
values expected? in which dialect?).

A suite is a TOML file (``config/tools/basic.toml``)::

    name = "basic"
    [tools.get_weather]                 # the same keys as a registry's [tools.NAME]
    description = "The weather now in a city."
    parameters = { type = "object", properties = { city = { type = "string" } },
                   required = ["city"] }

    [[cases]]
    name = "weather"
    prompt = "What is the weather in Lyon right now?"
    tool = "get_weather"                # the right call; false: the right answer calls none
    arguments = { city = "Lyon" }       # values the right call must hold (others are free)

Each case is one run of the target with the suite's tools offered to every member (natively
or described, as in any run) and no judge unless asked: members answer side by side, and the
member's ``schema_check`` and ``call`` parse events say how it did. Calls are read and
checked, never run. Problems in a suite file are reported as ``file:line: message``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from loco_tui.controller import Controller
from loco_tui.events import (
    Event,
    JudgeStarted,
    MemberFailed,
    MemberFinished,
    MemberStarted,
    Parse,
)
from loco_tui.orchestrator import RunRequest
from loco_tui.providers.pool import ProviderPool
from loco_tui.registry.load import RegistryError
from loco_tui.registry.locate import index_keys
from loco_tui.registry.schema import EnsembleConfig, EnsembleMemberConfig, Registry, ToolConfig
from loco_tui.registry.toml_file import ConfigIssue, format_path, parse_toml, read_toml_text

__all__ = [
    "CaseResult",
    "MemberSummary",
    "SuiteCase",
    "SuiteReport",
    "Target",
    "ToolSuite",
    "load_suite",
    "run_suite",
    "score",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SuiteCase(_Strict):
    name: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    # The right tool to call, or false when the right answer calls no tool.
    tool: str | StrictBool
    arguments: dict[str, Any] = {}


class ToolSuite(_Strict):
    name: str = Field("tools", min_length=1)
    description: str = ""
    tools: dict[str, ToolConfig] = Field(min_length=1)
    cases: list[SuiteCase] = Field(min_length=1)


def load_suite(path: Path) -> ToolSuite:
    """Read and check a suite file; RegistryError lists its problems as file:line."""
    source = str(path)
    text = read_toml_text(Path(path), RegistryError)
    data = parse_toml(text, source, RegistryError)
    index = index_keys(text)
    try:
        suite = ToolSuite.model_validate(data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            at = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "missing" and at:
                at, message = at[:-1], f"missing required key '{at[-1]}'"
            where = format_path(at)
            issues.append(ConfigIssue(source, index.line_of(at), None,
                                      f"{where}: {message}" if where else message))
        raise RegistryError(issues) from None
    issues = []
    for i, case in enumerate(suite.cases):
        loc: tuple[str | int, ...] = ("cases", i, "tool")
        if case.tool is True:
            message = "a tool's name, or false"
        elif isinstance(case.tool, str) and case.tool not in suite.tools:
            message = f"unknown tool '{case.tool}' (known: {', '.join(sorted(suite.tools))})"
        else:
            continue
        issues.append(ConfigIssue(source, index.line_of(loc), None,
                                  f"{format_path(loc)}: {message}"))
    if issues:
        raise RegistryError(issues)
    return suite


@dataclass(frozen=True)
class Target:
    """What the suite runs on: an ensemble of the registry, a role, or models by id."""

    kind: Literal["ensemble", "role", "models"]
    names: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.kind} {', '.join(self.names)}"


@dataclass
class CallSeen:
    name: str
    arguments: dict[str, Any]
    format: str
    native: bool
    checked: bool = False
    problems: list[str] = field(default_factory=list)


@dataclass
class CaseResult:
    """How one member did on one case."""

    case: str
    member: str
    model: str | None
    persona: str | None
    answered: bool  # the member produced a reply (failures have a category)
    expected_tool: str | None = None  # None: the right answer calls no tool
    category: str | None = None
    calls: list[CallSeen] = field(default_factory=list)
    right_tool: bool = False
    # None when there is no right call to judge (a wrong or no call, or no call wanted).
    valid: bool | None = None
    arguments_match: bool | None = None
    dialect: str | None = None
    problems: list[str] = field(default_factory=list)
    # The start of what the member answered (to see what it did instead of calling).
    reply: str = ""

    @property
    def passed(self) -> bool:
        return self.answered and self.right_tool and self.valid is not False \
            and self.arguments_match is not False

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        return out


@dataclass
class MemberSummary:
    member: str
    model: str | None
    persona: str | None
    cases: int = 0
    passed: int = 0
    right_tool: int = 0
    # Of the right calls made (cases that want a call and got the right tool), how many fit
    # the tool's schema.
    right_calls: int = 0
    valid: int = 0
    failed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SuiteReport:
    suite: str
    target: str
    cases: list[SuiteCase]
    results: list[CaseResult]
    status: dict[str, str] = field(default_factory=dict)  # case -> run status

    def summary(self) -> list[MemberSummary]:
        found: dict[str, MemberSummary] = {}
        for r in self.results:
            s = found.setdefault(r.member, MemberSummary(r.member, r.model, r.persona))
            s.model = s.model or r.model
            s.cases += 1
            s.passed += r.passed
            s.right_tool += r.right_tool
            s.right_calls += r.right_tool and r.expected_tool is not None
            s.valid += r.valid is True
            s.failed += not r.answered
        return sorted(found.values(), key=lambda s: _natural(s.member))

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite, "target": self.target,
            "cases": [{**c.model_dump(), "status": self.status.get(c.name),
                       "results": [r.to_dict() for r in self.results if r.case == c.name]}
                      for c in self.cases],
            "summary": [s.to_dict() for s in self.summary()],
        }


def _natural(name: str) -> tuple[Any, ...]:
    """m2 before m10."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


# -- scoring --------------------------------------------------------------------------------
# How much of each member's reply the report keeps.
REPLY_CHARS = 400


def _same(expected: Any, actual: Any) -> bool:
    """Whether ``actual`` holds the value ``expected``: strings ignoring case and outer
    space, numbers by value, lists in any order, tables key by key (extra keys allowed)."""
    if isinstance(expected, str):
        return isinstance(actual, str) and actual.strip().casefold() == expected.strip().casefold()
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, (int, float)):
        return isinstance(actual, (int, float)) and float(actual) == float(expected)
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return False
        left = list(actual)
        for item in expected:
            match = next((i for i, a in enumerate(left) if _same(item, a)), None)
            if match is None:
                return False
            left.pop(match)
        return True
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and _same(v, actual[k]) for k, v in expected.items())
    return bool(expected == actual)


def score(case: SuiteCase, member: str, model: str | None, persona: str | None,
          events: Sequence[Event]) -> CaseResult:
    """How ``member`` did on ``case``, from the events of its last attempt."""
    finished = next((e for e in events if isinstance(e, MemberFinished)), None)
    answered = finished is not None
    failed = next((e for e in events if isinstance(e, MemberFailed)), None)
    result = CaseResult(case.name, member, model, persona, answered,
                        case.tool if isinstance(case.tool, str) else None,
                        str(failed.category) if failed is not None and not answered else None)
    if finished is not None:
        result.reply = finished.text[:REPLY_CHARS]
    keyed: dict[tuple[bool, int], CallSeen] = {}
    for e in events:
        if not isinstance(e, Parse):
            continue
        native = bool(e.detail.get("native"))
        index = e.detail.get("index")
        if e.kind == "call" and isinstance(index, int):
            seen = CallSeen(str(e.detail.get("name") or ""),
                            dict(e.detail.get("arguments") or {}),
                            str(e.detail.get("format") or "?"), native)
            keyed[(native, index)] = seen
            result.calls.append(seen)
        elif e.kind == "retract":
            result.calls = [c for c in result.calls if c.native]
            keyed = {k: v for k, v in keyed.items() if k[0]}
        elif e.kind == "schema_check" and isinstance(index, int):
            found = keyed.get((native, index))
            if found is not None:
                found.checked = True
                found.problems = [str(p.get("message", "")) for p in
                                  e.detail.get("problems") or () if isinstance(p, Mapping)]
    if case.tool is False:
        result.right_tool = not result.calls
        if result.calls:
            result.problems = [f"called {', '.join(c.name for c in result.calls)} where no "
                               "tool was needed"]
        return result
    right = next((c for c in result.calls if c.name == case.tool), None)
    if right is None:
        result.problems = ([f"called {', '.join(c.name for c in result.calls)}, not "
                            f"{case.tool}"] if result.calls else ["no tool call"])
        result.dialect = result.calls[0].format if result.calls else None
        return result
    result.right_tool = True
    result.dialect = right.format
    result.valid = not right.problems if right.checked else None
    result.problems = list(right.problems)
    if case.arguments:
        result.arguments_match = _same(case.arguments, right.arguments)
        if not result.arguments_match:
            wrong = [k for k, v in case.arguments.items()
                     if k not in right.arguments or not _same(v, right.arguments[k])]
            result.problems.append(f"expected {', '.join(wrong)} to be "
                                   + ", ".join(repr(case.arguments[k]) for k in wrong))
    return result


# -- running --------------------------------------------------------------------------------
def _prepared(registry: Registry, suite: ToolSuite, target: Target,
              judge: bool) -> tuple[Registry, RunRequest]:
    """The registry with the suite's tools offered to the target, and the request to send
    (its prompt filled in per case)."""
    tools = {**registry.tools, **suite.tools}
    names = list(suite.tools)
    reg = registry.model_copy(update={"tools": tools})
    if target.kind == "role":
        [role] = target.names
        if role not in reg.roles:
            raise ValueError(f"unknown role '{role}' (known: {', '.join(sorted(reg.roles))})")
        role_tools = {**reg.role_tools, role: names}
        return reg.model_copy(update={"role_tools": role_tools}), RunRequest("", role=role)
    if target.kind == "ensemble":
        [name] = target.names
        if name not in reg.ensembles:
            known = ", ".join(sorted(reg.ensembles)) or "none"
            raise ValueError(f"unknown ensemble '{name}' (known: {known})")
        base = reg.ensembles[name]
    else:
        for model in target.names:
            try:
                reg.model_of(model)
            except KeyError:
                known = ", ".join(sorted(reg.models)) or "none"
                raise ValueError(f"unknown model '{model}' (known: {known})") from None
        base = EnsembleConfig(members=[EnsembleMemberConfig(model=m) for m in target.names],
                              judge=None)
    # Members answer side by side, each on its own (a sequential ensemble would show later
    # members the earlier calls).
    ens = base.model_copy(update={"tools": names, "mode": "parallel",
                                  "judge": base.judge if judge else None})
    return reg, RunRequest("", ensemble_config=ens, ensemble=f"tools-{suite.name}")


async def run_suite(
    registry: Registry, suite: ToolSuite, target: Target, *, judge: bool = False,
    on_result: Callable[[CaseResult], None] | None = None,
    pool: ProviderPool | None = None,
) -> SuiteReport:
    """Run every case of ``suite`` on ``target``, one case after another; ValueError for a
    target the registry lacks. ``on_result`` hears each member's result as it is scored."""
    reg, template = _prepared(registry, suite, target, judge)
    if pool is not None:
        await pool.update(reg)
    controller = Controller(reg, pool=pool)
    report = SuiteReport(suite.name, target.describe(), list(suite.cases), [])
    events: list[Event] = []
    controller.subscribe(events.append)
    try:
        for case in suite.cases:
            events.clear()
            request = RunRequest(case.prompt, role=template.role,
                                 ensemble=template.ensemble,
                                 ensemble_config=template.ensemble_config)
            report.status[case.name] = await controller.run(request)
            judges = {e.member for e in events if isinstance(e, JudgeStarted)}
            for member, (model, persona, mine) in _by_member(events).items():
                if member in judges:
                    continue
                result = score(case, member, model, persona, mine)
                report.results.append(result)
                if on_result is not None:
                    on_result(result)
    finally:
        if pool is None:
            await controller.aclose()
    return report


def _by_member(events: Sequence[Event]) -> dict[str, tuple[str | None, str | None, list[Event]]]:
    """Each member's events of its last attempt, with its model and persona."""
    out: dict[str, tuple[str | None, str | None, list[Event]]] = {}
    for e in events:
        member = getattr(e, "member", None)
        if not isinstance(member, str):
            continue
        if isinstance(e, MemberStarted):
            out[member] = (e.model, e.persona, [e])  # a fallback starts over
        elif member in out:
            out[member][2].append(e)
    return out
