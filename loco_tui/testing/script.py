"""Scripted replies and fault modes shared by the fake Ollama and OpenAI-compatible servers.

A test says, per model name, what the model answers (the pieces it streams, how fast) or how
it fails. The fakes turn a Reply into their own wire format.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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

    @classmethod
    def text(cls, text: str, **kw: Any) -> Reply:
        """Split ``text`` into word-ish pieces (a space stays with the word after it)."""
        return cls(pieces=tuple(re.findall(r"\s*\S+|\s+", text)) or ("",), **kw)

    @property
    def full_text(self) -> str:
        return "".join(self.pieces)


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


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """A stable stand-in for a tokenizer: one token per word of every message."""
    return sum(len(str(m.get("content", "")).split()) for m in messages) or 1
