"""Every marker the scanner knows, one entry per dialect: what opens it, what it holds, what
closes it and what reads its content.

Adding a dialect whose markup opens with a marker is adding an entry to ``DIALECTS`` (and, if
its content has a new shape, an extractor in ``extractors``). The scanner looks a complete tag
(``<...>``) or a bracket marker (``[...]``) up here and acts on ``holds``:

=============  ================================================================================
REASONING      a think-block up to ``closer``: kept aside as reasoning, never read for calls
END_REASONING  a lone closer: everything before it was reasoning (the template opened it)
CALLS          a region up to ``closer`` whose content ``extract`` reads once it closes
NEXT           a marker after which a call follows (JSON, ``name[ARGS]{...}``, pythonic): the
               scanner looks ahead in ``AFTER`` mode under the dialect's name
NOTHING        markup to drop from the visible text
HEADER         a gpt-oss message header up to ``<|message|>``: its channel and recipient decide
               whether the message is reasoning, a call to ``functions.NAME`` or visible text
=============  ================================================================================

Shapes read inside a wrapper rather than opened by a marker of their own (GLM-4.5's
``<arg_key>`` pairs and Qwen3-Coder's ``<function=...>`` inside ``<tool_call>``, Jamba's list
inside ``<tool_calls>``, MiniMax-M2's ``<invoke>``) are the wrapper extractor's business; the
dialects the scanner recognises outside tags (Mistral's ``[TOOL_CALLS]``, Phi-4-mini's
``functools[...]``, Functionary's ``>>>name``, pythonic lists, bare JSON) are listed in
``scanner``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from .extractors import (
    Extractor,
    code_calls,
    deepseek_calls,
    function_calls,
    kimi_calls,
    named_json_calls,
    wrapper_calls,
)


class Holds(Enum):
    REASONING = "reasoning"
    END_REASONING = "end_reasoning"
    CALLS = "calls"
    NEXT = "next"
    NOTHING = "nothing"
    HEADER = "header"


@dataclass(frozen=True)
class Dialect:
    """One dialect's markup.

    ``opener`` is a literal marker (looked up exactly, and lower-cased when ``ignore_case``) or
    a pattern a whole tag must match (tried in table order after the literals); a ``named``
    pattern carries the call's name in its group ``a`` or ``b``. ``hold`` is how many
    characters at the end of the buffer may be the closer cut in half."""

    name: str
    opener: str | re.Pattern[str]
    holds: Holds
    closer: re.Pattern[str] | None = None
    extract: Extractor | None = None
    hold: int = 24
    ignore_case: bool = True
    named: bool = False


def _think(opener: str, closer: str) -> Dialect:
    return Dialect("think", opener, Holds.REASONING, re.compile(re.escape(closer), re.I),
                   hold=len(closer) - 1)


def _wrapper(name: str, opener: str, closer: str) -> Dialect:
    return Dialect(name, opener, Holds.CALLS, re.compile(closer, re.I), wrapper_calls)


def _drop(marker: str) -> Dialect:
    return Dialect("drop", marker, Holds.NOTHING)


def _function_opener(tag: str) -> re.Pattern[str]:
    return re.compile(
        rf"<{tag}(?:=\s*[\"']?(?P<a>[^\"'<>\s]+?)[\"']?|\s+name\s*=\s*[\"']?(?P<b>[^\"'<>\s]+)"
        r"[\"']?)\s*>\Z")


def _function(name: str, tag: str) -> Dialect:
    return Dialect(name, _function_opener(tag), Holds.CALLS,
                   re.compile(rf"</{tag}>|(?=<{tag}[=\s])|(?=</tool_call>)"), function_calls,
                   hold=16, named=True)


_DS = r"<[|｜]\s*tool[▁_ \\]*"
_DS_END = r"\s*[|｜]>"

DIALECTS: tuple[Dialect, ...] = (
    # -- reasoning -----------------------------------------------------------------------------
    _think("<think>", "</think>"),
    _think("<thinking>", "</thinking>"),
    _think("<reasoning>", "</reasoning>"),
    _think("<seed:think>", "</seed:think>"),
    _think("<|START_THINKING|>", "<|END_THINKING|>"),  # Command-R7B
    Dialect("think", "</think>", Holds.END_REASONING),
    Dialect("think", "</thinking>", Holds.END_REASONING),
    Dialect("think", "</reasoning>", Holds.END_REASONING),
    Dialect("think", "<|END_THINKING|>", Holds.END_REASONING),
    # -- wrappers whose content is a small document -----------------------------------------------
    _wrapper("hermes", "<tool_call>", r"</tool_call>|(?=<tool_call>)"),
    _wrapper("jamba", "<tool_calls>", r"</tool_calls>"),
    _wrapper("hermes", "<function_call>", r"</function_call>"),
    _wrapper("hermes", "<functioncall>", r"</functioncall>"),
    _wrapper("hermes", "<function_calls>", r"</function_calls>"),
    _wrapper("hermes", "<tools>", r"</tools>"),
    _wrapper("hermes", "<tool_use>", r"</tool_use>"),
    _wrapper("seed_oss", "<seed:tool_call>", r"</seed:tool_call>"),
    _wrapper("minimax_m2", "<minimax:tool_call>", r"</minimax:tool_call>"),
    _wrapper("internlm2", "<|action_start|>", r"<\|action_end\|>"),
    _wrapper("command_r7b", "<|START_ACTION|>", r"<\|END_ACTION\|>"),
    _wrapper("lfm2", "<|tool_call_start|>", r"<\|tool_call_end\|>"),
    _wrapper("llama4_pythonic", "<|python_start|>", r"<\|python_end\|>"),
    # -- Kimi-K2: a section of calls, each with its id ------------------------------------------
    Dialect("kimi_k2", "<|tool_calls_section_begin|>", Holds.CALLS,
            re.compile(r"<\|tool_calls_section_end\|>"), kimi_calls, hold=26),
    # -- gpt-oss harmony: a message header, then its body --------------------------------------
    Dialect("harmony", "<|channel|>", Holds.HEADER, re.compile(r"<\|message\|>"), hold=10,
            ignore_case=False),
    Dialect("harmony", "<|start|>", Holds.HEADER, re.compile(r"<\|message\|>"), hold=10,
            ignore_case=False),
    # -- markers after which a call follows ----------------------------------------------------
    Dialect("python_tag", "<|python_tag|>", Holds.NEXT, ignore_case=False),
    Dialect("granite", "<|tool_call|>", Holds.NEXT, ignore_case=False),
    Dialect("granite", "<|tool_calls|>", Holds.NEXT, ignore_case=False),
    # -- DeepSeek: one call, or a section of calls ---------------------------------------------
    Dialect("deepseek", re.compile(_DS + r"call[▁_ \\]*begin" + _DS_END + r"\Z"), Holds.CALLS,
            re.compile(_DS + r"call[▁_ \\]*end" + _DS_END), deepseek_calls, hold=48),
    Dialect("deepseek", re.compile(_DS + r"calls?(?:[▁_ \\]*begin)?" + _DS_END + r"\Z"),
            Holds.CALLS, re.compile(_DS + r"calls?[▁_ \\]*end" + _DS_END), deepseek_calls,
            hold=48),
    # -- a named call: <function=name>, <invoke name="name"> -------------------------------------
    _function("function_tag", "function"),
    _function("invoke", "invoke"),
    # -- markup to drop --------------------------------------------------------------------------
    *(_drop(m) for m in ("</tool_call>", "</tool_calls>", "</function_call>",
                         "</function_calls>", "</function>", "</invoke>", "</tools>",
                         "</tool_use>", "</s>")),
    Dialect("drop", re.compile(r"<(?:\|[\w.\-:]{1,40}\||｜[^<>｜]{1,40}｜)>\Z"), Holds.NOTHING),
    Dialect("drop", re.compile(r"<[|｜][^<>|｜]{0,40}[|｜]>\Z"), Holds.NOTHING),
    # -- bracket markers (Mistral) ---------------------------------------------------------------
    Dialect("mistral", "[TOOL_CALLS]", Holds.NEXT, ignore_case=False),
    Dialect("think", "[THINK]", Holds.REASONING, re.compile(re.escape("[/THINK]")), hold=7,
            ignore_case=False),
    Dialect("think", "[/THINK]", Holds.END_REASONING, ignore_case=False),
    Dialect("drop", "[/TOOL_CALLS]", Holds.NOTHING, ignore_case=False),
)


# Regions the scanner opens itself, after reading a header (not from a marker lookup).
HARMONY_CALL = Dialect("harmony", "", Holds.CALLS,
                       re.compile(r"<\|(?:call|end|return)\|>|(?=<\|(?:start|channel)\|>)"),
                       named_json_calls, hold=10)
HARMONY_THINK_END = re.compile(r"<\|end\|>|(?=<\|(?:start|channel)\|>)")
FUNCTIONARY_CODE = Dialect("functionary_v32", ">>>python", Holds.CALLS, re.compile(r"(?=>>>)"),
                           code_calls, hold=2)


def _literal_index(folded: bool) -> dict[str, Dialect]:
    out: dict[str, Dialect] = {}
    for d in DIALECTS:
        if isinstance(d.opener, str) and d.opener.startswith("<") and (
                not folded or d.ignore_case):
            out.setdefault(d.opener.lower() if folded else d.opener, d)
    return out


# Tag openers by their exact text, and by their lower-cased text where case does not matter.
TAG_EXACT = _literal_index(folded=False)
TAG_FOLDED = _literal_index(folded=True)
# Tag openers that are patterns, in table order.
TAG_PATTERNS: tuple[tuple[re.Pattern[str], Dialect], ...] = tuple(
    (d.opener, d) for d in DIALECTS if isinstance(d.opener, re.Pattern))
# Bracket markers, in table order.
BRACKETS: tuple[tuple[str, Dialect], ...] = tuple(
    (d.opener, d) for d in DIALECTS if isinstance(d.opener, str) and d.opener.startswith("["))


def tag_dialect(tag: str) -> tuple[Dialect, re.Match[str] | None] | None:
    """The entry a complete tag opens, and the pattern's match when it is one."""
    d = TAG_EXACT.get(tag)
    if d is None:
        d = TAG_FOLDED.get(tag.lower())
    if d is not None:
        return d, None
    for pattern, d in TAG_PATTERNS:
        m = pattern.match(tag)
        if m is not None:
            return d, m
    return None


# Languages of a fence whose content is data (read for calls), not code.
DATA_LANGS = frozenset({"", "json", "jsonc", "json5", "jsonl", "tool_call", "tool_calls",
                        "tool_code", "xml", "function_call", "functions", "tool", "tools",
                        "tool_use", "toolcall"})
# Formats that need the caller's tool list to agree when it is given.
WEAK_FORMATS = frozenset({"json", "llama3_json", "openai", "fenced_json", "pythonic", "xml_tag",
                          "react", "prose", "command_r"})
# Tags of the Cline style (<name><arg>v</arg></name>) are read only for names with an underscore
# that are not HTML, unless the caller listed the tool.
HTML_TAGS = frozenset(
    ["a", "abbr", "address", "article", "aside", "audio", "b", "bdi", "blockquote", "body", "br",
     "button", "canvas", "caption", "cite", "code", "col", "dd", "del", "details", "dfn", "div",
     "dl", "dt", "em", "embed", "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4",
     "h5", "h6", "head", "header", "hr", "html", "i", "iframe", "img", "input", "ins", "kbd",
     "label", "legend", "li", "link", "main", "mark", "meta", "nav", "ol", "option", "output",
     "p", "param", "pre", "progress", "q", "s", "samp", "script", "section", "select", "small",
     "source", "span", "strong", "style", "sub", "summary", "sup", "table", "tbody", "td",
     "textarea", "tfoot", "th", "thead", "time", "title", "tr", "u", "ul", "var", "video", "wbr"]
)
