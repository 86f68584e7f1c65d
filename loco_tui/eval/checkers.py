"""Checkers: is an answer right? One pydantic model per kind (``type`` in a suite file),
each with ``grade(answer) -> Grade``.

A grade is ``right``, ``wrong`` (an answer of the expected form with the wrong value) or
``missing`` (nothing of the expected form at all: no number, no JSON, no tool call). The
difference matters when reading a report: a model that never answers in the right form
needs a better prompt, one that answers wrongly needs a better model.

Every comparison of text ignores case unless ``ignore_case = false`` (regex: add ``i`` to
``flags``), and numbers compare by value (``1`` equals ``1.0``). Answers are untrusted model
text: nothing here evaluates them, and every pattern is the suite author's, not the model's.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from loco_tui.parser import RepairError, ToolCall, parse_tool_calls, repair_loads

GradeKind = Literal["right", "wrong", "missing"]

# Details quote the answer: keep a report row readable whatever the model wrote.
_QUOTE_CHARS = 60


@dataclass(frozen=True, slots=True)
class Grade:
    kind: GradeKind
    detail: str

    @property
    def right(self) -> bool:
        return self.kind == "right"


def _right(detail: str) -> Grade:
    return Grade("right", detail)


def _wrong(detail: str) -> Grade:
    return Grade("wrong", detail)


def _missing(detail: str) -> Grade:
    return Grade("missing", detail)


def quoted(value: Any) -> str:
    """A value as a short one-line quotation for a grade's detail."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    if len(text) > _QUOTE_CHARS:
        text = text[: _QUOTE_CHARS - 1] + "…"
    return repr(text) if isinstance(value, str) else text


def same_value(expected: Any, actual: Any, *, ignore_case: bool = True) -> bool:
    """JSON-ish equality: numbers by value (never a boolean for a number), strings trimmed
    and, with ``ignore_case``, case-folded; lists and tables element by element."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(expected, str) and isinstance(actual, str):
        a, b = expected.strip(), actual.strip()
        return a.casefold() == b.casefold() if ignore_case else a == b
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            same_value(e, a, ignore_case=ignore_case)
            for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            same_value(v, actual[k], ignore_case=ignore_case) for k, v in expected.items())
    return bool(expected == actual)


class _Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- exact ---------------------------------------------------------------------------------
# Wrappers a model puts around a short answer: quotes, backticks, Markdown emphasis.
_WRAPPERS = "\"'`*_ \t\r\n"


def normalise_answer(text: str) -> str:
    """A short answer without its wrapping (quotes, backticks, ``**``), final full stop or
    exclamation mark, and with runs of white space as one space."""
    text = " ".join(text.split()).strip(_WRAPPERS).rstrip(".!").strip(_WRAPPERS)
    return text


class ExactCheck(_Check):
    """The whole answer is ``expected`` (after ``normalise_answer``)."""

    type: Literal["exact"]
    expected: str
    ignore_case: bool = True

    def grade(self, answer: str) -> Grade:
        got = normalise_answer(answer)
        if not got:
            return _missing("empty answer")
        want = normalise_answer(self.expected)
        same = got.casefold() == want.casefold() if self.ignore_case else got == want
        if same:
            return _right(f"is {quoted(want)}")
        return _wrong(f"got {quoted(got)}, expected {quoted(want)}")


# -- contains ------------------------------------------------------------------------------
class ContainsCheck(_Check):
    """The answer holds ``expected`` (one string, or any of several; with ``all``, every
    one), as whole words unless ``whole_word = false``, and none of ``none_of`` (an answer
    listing every option is not right)."""

    type: Literal["contains"]
    expected: str | list[str]
    all: bool = False
    none_of: list[str] = []
    ignore_case: bool = True
    whole_word: bool = True

    @field_validator("expected")
    @classmethod
    def _not_empty(cls, value: str | list[str]) -> str | list[str]:
        items = [value] if isinstance(value, str) else value
        if not items or any(not item.strip() for item in items):
            raise ValueError("expected needs at least one non-empty string")
        return value

    @property
    def wanted(self) -> list[str]:
        return [self.expected] if isinstance(self.expected, str) else list(self.expected)

    def _finds(self, needle: str, answer: str) -> bool:
        pattern = re.escape(needle.strip())
        if self.whole_word:
            pattern = rf"(?<!\w){pattern}(?!\w)"
        return re.search(pattern, answer, re.IGNORECASE if self.ignore_case else 0) is not None

    def grade(self, answer: str) -> Grade:
        if not answer.strip():
            return _missing("empty answer")
        found = [w for w in self.wanted if self._finds(w, answer)]
        banned = [w for w in self.none_of if self._finds(w, answer)]
        if banned:
            return _wrong(f"also says {', '.join(quoted(b) for b in banned)}")
        enough = len(found) == len(self.wanted) if self.all else bool(found)
        if enough:
            return _right(f"says {', '.join(quoted(f) for f in found)}")
        missing = [w for w in self.wanted if w not in found]
        return _wrong(f"does not say {' or '.join(quoted(m) for m in missing)}"
                      if not self.all else f"does not say {', '.join(map(quoted, missing))}")


# -- regex ---------------------------------------------------------------------------------
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


class RegexCheck(_Check):
    """``pattern`` is found in the answer (``full = true``: matches the whole stripped
    answer). ``flags``: any of ``i`` (ignore case), ``m``, ``s``, ``x`` as in Python."""

    type: Literal["regex"]
    pattern: str
    flags: str = ""
    full: bool = False

    @field_validator("flags")
    @classmethod
    def _known_flags(cls, flags: str) -> str:
        unknown = sorted(set(flags) - set(_FLAGS))
        if unknown:
            raise ValueError(f"unknown regex flag(s) {''.join(unknown)!r} (use i, m, s, x)")
        return flags

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad regex: {exc}") from None
        return pattern

    def compiled(self) -> re.Pattern[str]:
        flags = 0
        for letter in self.flags:
            flags |= _FLAGS[letter]
        return re.compile(self.pattern, flags)

    def grade(self, answer: str) -> Grade:
        if not answer.strip():
            return _missing("empty answer")
        pattern = self.compiled()
        found = pattern.fullmatch(answer.strip()) if self.full else pattern.search(answer)
        if found is not None:
            return _right(f"matches at {quoted(found.group(0))}")
        return _wrong(f"no match for /{self.pattern}/")


# -- number --------------------------------------------------------------------------------
# A decimal number, with thousands separated by commas or not. A minus sign counts only
# where it cannot be a hyphen or a subtraction ("3-4" is 3 and 4, not 3 and -4).
_NUMBER = re.compile(r"(?<![\w.])(?:(?<![\w)\]])[-−])?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


def numbers_in(text: str) -> list[float]:
    """Every number written in ``text``, in order."""
    out = []
    for found in _NUMBER.finditer(text):
        out.append(float(found.group(0).replace(",", "").replace("−", "-")))
    return out


def _shown_number(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:g}"


class NumberCheck(_Check):
    """A number in the answer equals ``expected`` within ``tolerance`` (absolute) or
    ``relative`` (a fraction of ``expected``), whichever is larger. ``which`` number:
    ``last`` (default: models reason first, then answer), ``first``, or ``any``."""

    type: Literal["number"]
    expected: float
    tolerance: float = Field(0.0, ge=0)
    relative: float = Field(0.0, ge=0)
    which: Literal["last", "first", "any"] = "last"

    def close(self, value: float) -> bool:
        allowed = max(self.tolerance, self.relative * abs(self.expected))
        # A float tolerance of 0 still accepts 0.1 + 0.2 for 0.3.
        return abs(value - self.expected) <= allowed + 1e-9 * max(1.0, abs(self.expected))

    def grade(self, answer: str) -> Grade:
        found = numbers_in(answer)
        want = _shown_number(self.expected)
        if not found:
            return _missing(f"no number in the answer (expected {want})")
        if self.which == "any":
            hits = [v for v in found if self.close(v)]
            if hits:
                return _right(f"says {_shown_number(hits[0])}")
            return _wrong(f"none of {', '.join(map(_shown_number, found[:6]))} is {want}")
        value = found[-1] if self.which == "last" else found[0]
        if self.close(value):
            return _right(f"{self.which} number is {_shown_number(value)}")
        return _wrong(f"{self.which} number is {_shown_number(value)}, expected {want}")


# -- json_path -----------------------------------------------------------------------------
Step = str | int
_STEP = re.compile(
    r"""\.([A-Za-z_][\w-]*)"""  # .key
    r"""|\[(\d+)\]"""  # [0]
    r"""|\[\s*"((?:[^"\\]|\\.)*)"\s*\]"""  # ["key"]
    r"""|\[\s*'([^']*)'\s*\]""")  # ['key']


def parse_path(path: str) -> list[Step]:
    """``$.a.b[0]["c d"]`` -> ``["a", "b", 0, "c d"]``. ValueError for anything else."""
    text = path.strip()
    if not text.startswith("$"):
        raise ValueError(f"a JSON path starts with $ (got {path!r})")
    steps: list[Step] = []
    i = 1
    while i < len(text):
        found = _STEP.match(text, i)
        if found is None:
            raise ValueError(f"cannot read the JSON path {path!r} at {text[i:]!r} (use "
                             "$.key, $[0], $[\"key\"])")
        key, index, double, single = found.groups()
        if index is not None:
            steps.append(int(index))
        elif double is not None:
            steps.append(json.loads(f'"{double}"'))
        else:
            steps.append(key if key is not None else single)
        i = found.end()
    return steps


_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n(.*?)```", re.DOTALL)


def json_in(answer: str) -> tuple[Any, bool] | None:
    """The JSON value an answer gives, and whether it needed repairs: a fenced block, the
    whole answer, or the span from the first bracket to the last. None when there is none."""
    candidates = [m.group(1) for m in _FENCE.finditer(answer)]
    candidates.append(answer.strip())
    starts = [i for i in (answer.find("{"), answer.find("[")) if i >= 0]
    if starts:
        start = min(starts)
        end = max(answer.rfind("}"), answer.rfind("]"))
        if end > start:
            candidates.append(answer[start:end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate), False
        except ValueError:
            continue
    for candidate in candidates:
        if not candidate.lstrip().startswith(("{", "[")):
            continue  # bare prose "repaired" into a string is not JSON the model wrote
        try:
            value, _repairs = repair_loads(candidate)
        except RepairError:
            continue
        return value, True
    return None


def follow(value: Any, steps: list[Step]) -> tuple[bool, Any]:
    """(found, the value at ``steps``) inside ``value``."""
    for step in steps:
        in_list = isinstance(step, int) and isinstance(value, list) and step < len(value)
        in_table = isinstance(step, str) and isinstance(value, dict) and step in value
        if not (in_list or in_table):
            return False, None
        value = value[step]
    return True, value


class JsonPathCheck(_Check):
    """The answer holds JSON (fenced, bare, or inside prose) whose value at ``path``
    (``$.city``, ``$.items[0].name``) equals ``expected``."""

    type: Literal["json_path"]
    path: str
    expected: Any
    ignore_case: bool = True

    @field_validator("path")
    @classmethod
    def _readable(cls, path: str) -> str:
        parse_path(path)
        return path

    def grade(self, answer: str) -> Grade:
        found = json_in(answer)
        if found is None:
            return _missing("no JSON in the answer")
        value, repaired = found
        note = " (after repairing the JSON)" if repaired else ""
        present, got = follow(value, parse_path(self.path))
        if not present:
            return _missing(f"the JSON has nothing at {self.path}{note}")
        if same_value(self.expected, got, ignore_case=self.ignore_case):
            return _right(f"{self.path} is {quoted(got)}{note}")
        return _wrong(f"{self.path} is {quoted(got)}, expected {quoted(self.expected)}{note}")


# -- tool_call -----------------------------------------------------------------------------
class ToolCallCheck(_Check):
    """The answer calls tool ``name`` with ``arguments`` (read with Loco's tool-call parser,
    every dialect it knows). Arguments not listed are allowed unless ``exact_arguments``.
    ``tools``: the tool names the prompt offered (default: ``name``); the parser then also
    reads weak dialects such as ``get_weather(city="Paris")`` for them."""

    type: Literal["tool_call"]
    name: str = Field(min_length=1)
    arguments: dict[str, Any] = {}
    exact_arguments: bool = False
    tools: list[str] = []
    ignore_case: bool = True

    def calls(self, answer: str) -> list[ToolCall]:
        return parse_tool_calls(answer, known_tools=self.tools or [self.name])

    def _argument_problems(self, call: ToolCall) -> list[str]:
        problems = []
        for key, want in self.arguments.items():
            if key not in call.arguments:
                problems.append(f"no {key}")
            elif not same_value(want, call.arguments[key], ignore_case=self.ignore_case):
                problems.append(f"{key} is {quoted(call.arguments[key])}, expected "
                                f"{quoted(want)}")
        if self.exact_arguments:
            extra = sorted(set(call.arguments) - set(self.arguments))
            if extra:
                problems.append(f"unexpected {', '.join(extra)}")
        return problems

    def grade(self, answer: str) -> Grade:
        calls = self.calls(answer)
        if not calls:
            return _missing("no tool call found")
        named = [c for c in calls if c.name == self.name]
        if not named:
            return _wrong(f"called {', '.join(quoted(c.name) for c in calls)}, expected "
                          f"{quoted(self.name)}")
        first_problems: list[str] | None = None
        for call in named:
            problems = self._argument_problems(call)
            if not problems:
                return _right(f"calls {self.name} ({call.format})")
            if first_problems is None:
                first_problems = problems
        assert first_problems is not None
        return _wrong(f"{self.name}: {'; '.join(first_problems)}")


Check = Annotated[
    ExactCheck | ContainsCheck | RegexCheck | NumberCheck | JsonPathCheck | ToolCallCheck,
    Field(discriminator="type"),
]

CHECK_TYPES = ("exact", "contains", "regex", "number", "json_path", "tool_call")
