"""Scripted replies and fault modes shared by the fake Ollama and OpenAI-compatible servers.

A test says, per model name, what the model answers (the pieces it streams, how fast) or how
it fails. The fakes turn a Reply into their own wire format.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from loco_tui.providers.base import TokenLogprob


class Fault(StrEnum):
    """How a scripted model misbehaves (a refused connection is a closed port, not a fault)."""

    MODEL_MISSING = "model_missing"  # 404 before any byte of the stream
    HTTP_500 = "http_500"  # 500 before any byte of the stream
    RATE_LIMITED = "rate_limited"  # 429
    CONTEXT_OVERFLOW = "context_overflow"  # 400 "context length exceeded"
    DROP = "drop"  # stream `fault_after` pieces, then cut the connection
    STALL = "stall"  # stream `fault_after` pieces, then go silent (keep the socket open)
    ERROR_MIDSTREAM = "error_midstream"  # stream `fault_after` pieces, then an error object
    SERVER_BUSY = "server_busy"  # 503, with `Retry-After: retry_after_s` when that is set
    HTML_PAGE = "html_page"  # 200 with an HTML page (a captive portal, a proxy's login)
    EMPTY_CHUNKS = "empty_chunks"  # a 200 stream of empty deltas that never finishes
    # 401 whose body echoes the request's Authorization header, `fault_after` characters in
    # (servers that quote what they received: the key must be redacted before any cut).
    ECHO_AUTH = "echo_auth"


@dataclass
class Reply:
    """What one model call streams back."""

    pieces: Sequence[str] = ("Hello", " from", " a", " fake", " model", ".")
    thinking: Sequence[str] = ()
    tool_calls: list[dict[str, Any]] | None = None
    first_token_delay_s: float = 0.0
    piece_delay_s: float = 0.0
    fault: Fault | None = None
    fault_after: int = 0
    tokens_in: int | None = None  # default: a word count of the prompt
    retry_after_s: float | None = None  # the Retry-After header of a 429 or 503
    # Why generation stopped, as the server reports it (default: "stop", or "length" when
    # the request's token limit is reached).
    finish_reason: str | None = None
    # Sent verbatim as the whole response body, bytes as given (invalid UTF-8, control
    # sequences, anything a hostile server may send); the scripted pieces are then unused.
    raw_body: bytes | None = None
    # The log probability of each piece (as one token) and its top alternatives, sent when
    # the request asks for logprobs; None for a piece the server reports nothing for.
    logprobs: Sequence[TokenLogprob | None] | None = None
    # What the model answers when the request constrains it to a JSON schema (Ollama
    # `format`, OpenAI `response_format`): a constrained model writes JSON, not prose.
    constrained: Reply | None = None
    # What the model answers when the request carries tools (`tools`): a model offered
    # tools natively answers with the server's tool calls (`tool_calls`), not with text.
    with_tools: Reply | None = None

    @classmethod
    def text(cls, text: str, **kw: Any) -> Reply:
        """Split ``text`` into word-ish pieces (a space stays with the word after it)."""
        return cls(pieces=tuple(re.findall(r"\s*\S+|\s+", text)) or ("",), **kw)

    @classmethod
    def verdict(cls, label: str | None, probabilities: Mapping[str, float] | None = None, *,
                reason: str = "it answers the task correctly", confidence: float = 0.7,
                **kw: Any) -> Reply:
        """A judge's JSON verdict as a constrained model writes it, one token per piece, the
        label its own token; with ``probabilities`` (label -> probability), that token comes
        with those log probabilities as its alternatives."""
        value = json.dumps(label)
        head = f'{{"reason": {json.dumps(reason)}, "winner": '
        pieces = [head[: len(head) // 2], head[len(head) // 2:], value[:1], value[1:-1],
                  value[-1:], f', "confidence": {confidence}}}'] if label is not None else \
            [head, "null", f', "confidence": {confidence}}}']
        logprobs: list[TokenLogprob | None] | None = None
        if probabilities and label is not None:
            top = tuple((k, math.log(p)) for k, p in probabilities.items() if p > 0)
            logprobs = [TokenLogprob(p, -0.01) for p in pieces]
            logprobs[3] = TokenLogprob(label, math.log(probabilities[label]), top)
        return cls(pieces=tuple(pieces), logprobs=logprobs, **kw)

    @property
    def full_text(self) -> str:
        return "".join(self.pieces)

    def logprob_of(self, index: int) -> TokenLogprob | None:
        if self.logprobs is None or index >= len(self.logprobs):
            return None
        return self.logprobs[index]


ReplyFor = Callable[[str, list[dict[str, Any]]], Reply]


@dataclass
class Script:
    """Model name -> Reply (or a function of the messages). Unknown names are 'not found'.

    ``models`` also lists what /api/tags and /v1/models report; ``loaded`` what /api/ps
    reports as in memory.
    """

    replies: dict[str, Reply | ReplyFor] = field(default_factory=dict)
    parameter_sizes: dict[str, str] = field(default_factory=dict)
    loaded: set[str] = field(default_factory=set)
    # Models a fake Ollama can pull (`/api/pull`): once pulled, they answer like the rest.
    pullable: dict[str, Reply | ReplyFor] = field(default_factory=dict)
    # Models that do not take tools in the request: their /api/show capabilities leave
    # "tools" out, and a request carrying tools is refused (HTTP 400) as real servers do.
    no_tools: set[str] = field(default_factory=set)

    def add(self, model: str, reply: Reply | ReplyFor, parameter_size: str = "7.6B") -> Script:
        self.replies[model] = reply
        self.parameter_sizes.setdefault(model, parameter_size)
        return self

    @property
    def models(self) -> list[str]:
        return list(self.replies)

    def reply_for(self, model: str, messages: list[dict[str, Any]]) -> Reply | None:
        reply = self.replies.get(model)
        if reply is None:
            return None
        if callable(reply):
            return reply(model, messages)
        return reply


def wants_schema(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a request constrains its reply to (Ollama ``format``, OpenAI
    ``response_format.json_schema.schema``), or None."""
    fmt = body.get("format")
    if isinstance(fmt, dict):
        return fmt
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        inner = response_format.get("json_schema")
        schema = inner.get("schema") if isinstance(inner, dict) else None
        return schema if isinstance(schema, dict) else {}
    return None


def tool_names(body: Mapping[str, Any]) -> list[str] | None:
    """The names of the tools a request carries (``tools``, the Ollama and OpenAI shape),
    or None when it carries none."""
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools:
        return None
    names = []
    for tool in tools:
        fn = tool.get("function", tool) if isinstance(tool, dict) else {}
        names.append(str(fn.get("name", "")) if isinstance(fn, dict) else "")
    return names


@dataclass(frozen=True, slots=True)
class Generation:
    """When a fake server received a generation request, and when its reply ended (None:
    it never finished): tests read concurrency from these."""

    model: str
    received: float
    finished: float | None = None


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """A stable stand-in for a tokenizer: one token per word of every message."""
    return sum(len(str(m.get("content", "")).split()) for m in messages) or 1
