"""The tools offered to a member: how they reach its model, and the check of its calls.

A model that takes tools natively gets them in the request (Ollama and OpenAI ``tools``, one
shape for both); any other model reads them in its system prompt, with the call format to
use (``<tool_call>[...]</tool_call>``, the shape SmolLM2, Qwen and Hermes models were trained
on; the parser reads every other dialect too). Whether a model takes them comes from the
registry (``tool_calling``) or its server (``native_tools``): a provider without that method
(a scripted one in tests, say) cannot be sent tools, so they are described.

Every call a member made, whether its server parsed it or the parser read it from the text, is
checked against the tool it names (``CallCheck``). Calls are shown and checked, never run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from loco_tui.parser import CallProblem, ToolCall, check_call
from loco_tui.providers.base import ProviderError
from loco_tui.providers.pool import ModelTarget
from loco_tui.registry.schema import Registry

Via = Literal["native", "prompt"]

# A server slow to say what a model can do must not hold a member back for long.
_CAPABILITY_QUERY_S = 2.0


@dataclass(frozen=True, slots=True)
class OfferedTool:
    name: str
    description: str
    parameters: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "parameters": self.parameters}


@dataclass(frozen=True, slots=True)
class CallCheck:
    """How one call fits the tools offered. ``index`` counts the member's calls of the same
    source (``native``: parsed by the server, else read from the text by the parser, whose
    ``call`` events carry the same index); ``offset`` is where a text call starts."""

    index: int
    name: str
    format: str
    native: bool
    offset: int | None
    problems: tuple[CallProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def detail(self) -> dict[str, Any]:
        """The ``schema_check`` parse event's detail."""
        return {"index": self.index, "name": self.name, "format": self.format,
                "native": self.native, "offset": self.offset, "ok": self.ok,
                "problems": [p.to_dict() for p in self.problems]}

    def summary(self) -> str:
        """One short, factual sentence (for the judge and the suite report)."""
        if self.ok:
            return f"the call of {self.name} fits its schema"
        first = self.problems[0].message
        more = f" (and {len(self.problems) - 1} more problem(s))" if len(self.problems) > 1 \
            else ""
        return f"the call of {self.name} failed its schema check: {first}{more}"


@dataclass(frozen=True)
class ToolSet:
    """The tools offered to one member, in the order the registry lists them."""

    tools: tuple[OfferedTool, ...]

    @classmethod
    def from_registry(cls, registry: Registry, names: Iterable[str]) -> ToolSet | None:
        """The named tools of ``registry`` (unknown names left out); None when none is left."""
        found = tuple(
            OfferedTool(name, registry.tools[name].description,
                        registry.tools[name].parameters)
            for name in dict.fromkeys(names) if name in registry.tools)
        return cls(found) if found else None

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tools]

    def schemas(self) -> dict[str, dict[str, Any]]:
        """Name -> JSON Schema of the parameters (what the parser and the checker take)."""
        return {t.name: t.parameters for t in self.tools}

    def wire(self) -> list[dict[str, Any]]:
        """The request's ``tools``: Ollama and OpenAI-compatible servers take this shape."""
        return [{"type": "function", "function": t.to_dict()} for t in self.tools]

    def prompt(self) -> str:
        """The system prompt that describes the tools to a model that does not take them."""
        listed = "\n".join(json.dumps(t.to_dict(), ensure_ascii=False) for t in self.tools)
        return (
            "You can call the tools listed below, each with a JSON Schema of its arguments.\n"
            f"<tools>\n{listed}\n</tools>\n"
            "To call tools, answer with the calls only, in exactly this format:\n"
            '<tool_call>[{"name": "tool_name", "arguments": {"argument": "value"}}]'
            "</tool_call>\n"
            "Use only the tools listed and give every required argument, with the type its "
            "schema says. When no tool fits the request, answer in plain text instead."
        )

    def check(self, native: Sequence[ToolCall], parsed: Sequence[ToolCall]) -> list[CallCheck]:
        """Every call against the tool it names: the server's calls first, then the text's."""
        schemas = self.schemas()
        out = []
        for is_native, calls in ((True, native), (False, parsed)):
            for i, call in enumerate(calls):
                out.append(CallCheck(i, call.name, call.format, is_native,
                                     None if is_native else call.offset,
                                     tuple(check_call(call, schemas))))
        return out


async def tools_via(tools: ToolSet | None, target: ModelTarget) -> Via | None:
    """How ``tools`` reach ``target``'s model (None: no tools are offered)."""
    if tools is None:
        return None
    ask = getattr(target.provider, "native_tools", None)
    if ask is None:
        return "prompt"  # a provider that cannot say cannot be sent them either
    mode = target.config.tool_calling
    if mode != "auto":
        return mode
    try:
        async with asyncio.timeout(_CAPABILITY_QUERY_S):
            native = await ask(target.server_model)
    except (TimeoutError, ProviderError):
        native = None
    # Unknown (an OpenAI-compatible server, an older Ollama): try them natively; a server
    # that refuses them is asked again with them described (see member.stream_member).
    return "prompt" if native is False else "native"


async def refused_tools(target: ModelTarget) -> bool:
    """Whether ``target``'s server now says its model takes no tools in the request (asked
    after a failed request: providers remember a refusal when they see one)."""
    ask = getattr(target.provider, "native_tools", None)
    if ask is None:
        return False
    try:
        async with asyncio.timeout(_CAPABILITY_QUERY_S):
            return await ask(target.server_model) is False
    except (TimeoutError, ProviderError):
        return False


def native_calls_text(native: Sequence[ToolCall]) -> str:
    """The calls a proposal's server parsed (they are not in its text), as the judge reads
    them inside the proposal: they are what the model did."""
    return "\n".join(f"Tool call: {call.name} {json.dumps(call.arguments, ensure_ascii=False)}"
                     for call in native)


def checks_note(checks: Sequence[CallCheck], text: str) -> str:
    """What Loco found of a proposal's tool calls, for the judge, OUTSIDE the proposal's
    fence: inside it, a model could write a convincing "check" of its own."""
    if not checks:
        return ("Loco's check: this proposal made no tool call." if text.strip()
                else "Loco's check: this proposal is empty.")
    return "\n".join(f"Loco's check: {check.summary()}." for check in checks)


def problem_lines(detail: Mapping[str, Any]) -> list[str]:
    """The messages of a ``schema_check`` event's problems (for plain-text reports)."""
    problems = detail.get("problems")
    if not isinstance(problems, list):
        return []
    return [str(p.get("message", "")) for p in problems if isinstance(p, Mapping)]
