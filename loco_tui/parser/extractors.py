"""Reading the calls out of a closed region, one function per shape of content.

A dialect's entry in ``dialects.DIALECTS`` names the extractor for its markup; the generic
regions (data fences, ``<tool>/<params>``, ``<tool_name><arg>``) have theirs here too. Every
extractor sees the whole content of its region, so it decides the same way however the text
was split while streaming.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .calls import Found, clean_args, extract_calls, valid_name
from .jsonrepair import RepairError, repair_loads
from .markup import (
    arg_pairs,
    strip_fence,
    typed_value,
    xml_children,
    xml_children_call,
    xml_parameters,
)
from .pythonic import parse_pythonic
from .regions import Candidate, Host, Region
from .xmlvalues import glm_value, minimax_value, param_types, qwen3_value

Extractor = Callable[[Host, Region, str, bool], list[Candidate]]

# Formats a wrapper keeps as its own label when found inside it.
SPECIFIC = frozenset({"qwen3_xml", "function_tag", "deepseek", "mistral", "xml_tool", "xml_tag",
                      "invoke", "seed_oss", "minimax_m2", "glm45"})

_NAME_THEN_JSON = re.compile(r"([A-Za-z_][\w.\-]{0,127})\s*(?:\[ARGS\]|:)?\s*(?=\{)")


def json_format(value: Any) -> str:
    """The label of a bare JSON call, from its shape."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        if isinstance(value.get("function"), dict) or "tool_calls" in value:
            return "openai"
        if "tool_name" in value:
            return "command_r"
        if "parameters" in value:
            return "llama3_json"
    return "json"


def wrapper_calls(host: Host, r: Region, content: str, closed: bool) -> list[Candidate]:
    """A wrapper such as ``<tool_call>``: its content is a small document (JSON, a pythonic
    call, ``<function=...>``, ``name{json}``, ``<name>/<arguments>`` children)."""
    dialect = r.dialect
    glm = _GLM_HEAD.match(content)
    if glm is not None and dialect == "hermes":
        return glm_calls(host, r, glm.group(1), content[glm.end():], closed)
    out: list[Candidate] = []
    for c in host.nested(content, r.cstart, payload=dialect):
        fmt = c.format if c.format in SPECIFIC else dialect
        out.append((Found(c.name, c.arguments, c.id), fmt, list(c.repaired),
                    c.offset if c.offset is not None else r.start))
    if out:
        return out
    text = content.strip()
    if not text:
        return []
    if text[0] in "{[":
        # The marker bounds the value, so repair may read what the tokenizer gave up on
        # ("He said "hi"" with unescaped quotes, say).
        try:
            val, fixes = repair_loads(strip_fence(text))
        except RepairError:
            val, fixes = None, []
        if val is not None:
            found_j, _reason = extract_calls(val, lenient=True)
            if found_j:
                return [(f, dialect, fixes, r.start) for f in found_j]
    # get_weather(city="Paris") / [f(x=1)] inside the wrapper
    found, fixes, _ = parse_pythonic(text, allow_bare=True, allow_empty=True,
                                     repair=not closed)
    if found:
        return [(f, dialect, fixes, r.start) for f in found]
    # name\n{json}  /  name[ARGS]{json}
    m = _NAME_THEN_JSON.match(text)
    if m is not None:
        try:
            val, fixes = repair_loads(text[m.end():])
        except RepairError:
            val = None
        if isinstance(val, dict):
            return [(Found(m.group(1), clean_args(val)), dialect, fixes, r.start)]
    # <name>f</name><arguments>{...}</arguments>
    found_x = xml_children_call(text)
    if found_x is not None:
        f, fixes = found_x
        return [(f, dialect, fixes, r.start)]
    if dialect == "hermes" and valid_name(text):
        # GLM-4.5 writes a call with no arguments as the bare name.
        return [(Found(text, {}), "glm45", [], r.start)]
    return []


_GLM_HEAD = re.compile(r"\s*([A-Za-z_][\w.\-]{0,127})\s*(?=<arg_key>)")


def glm_calls(host: Host, r: Region, name: str, body: str, closed: bool) -> list[Candidate]:
    """GLM-4.5/4.6: ``name`` then ``<arg_key>k</arg_key><arg_value>v</arg_value>`` pairs."""
    props = param_types(host.schemas, name)
    pairs, last_closed = arg_pairs(body)
    args = {k: glm_value(v, k, props) for k, v in pairs}
    fixes = [] if closed and last_closed else ["unclosed_tag"]
    return [(Found(name, clean_args(args)), "glm45", fixes, r.start)]


def function_calls(host: Host, r: Region, content: str, closed: bool) -> list[Candidate]:
    """``<function=name>`` / ``<invoke name=...>``: JSON arguments or ``<parameter>`` tags."""
    assert r.name is not None
    name = r.name
    text = content.strip()
    fmt = r.dialect
    if host.payload in ("seed_oss", "minimax_m2"):
        fmt = host.payload
    elif r.dialect == "function_tag" and (
            text.startswith("<parameter") or (not text and host.payload == "hermes")):
        fmt = "qwen3_xml"  # Qwen3-Coder: <tool_call><function=name><parameter=k>...
    if text.startswith("<parameter"):
        props = param_types(host.schemas, name)
        convert: Callable[[str, str], Any]
        if fmt == "minimax_m2":
            def convert(k: str, v: str) -> Any:
                return minimax_value(v, k, props)
        elif fmt in ("qwen3_xml", "seed_oss"):
            arrays = fmt == "qwen3_xml"

            def convert(k: str, v: str) -> Any:
                return qwen3_value(v, k, props, json_arrays=arrays)
        else:
            convert = typed_value
        args, last_closed = xml_parameters(text, convert)
        fixes = [] if closed and last_closed else ["unclosed_tag"]
        return [(Found(name, clean_args(args)), fmt, fixes, r.start)]
    if not text:
        return [(Found(name, {}), fmt, [] if closed else ["unclosed_tag"], r.start)]
    try:
        val, fixes = repair_loads(text)
    except RepairError:
        return []
    if isinstance(val, dict):
        calls, _ = extract_calls(val, lenient=True) if set(val) >= {"name"} and (
            val.get("name") == r.name) else ([], "")
        if calls:
            return [(calls[0], fmt, fixes, r.start)]
        return [(Found(name, clean_args(val)), fmt, fixes, r.start)]
    return []


def named_json_calls(host: Host, r: Region, content: str, closed: bool) -> list[Candidate]:
    """A call whose name came with its opener and whose content is the JSON arguments
    (gpt-oss: ``to=functions.name ... <|message|>{json}<|call|>``)."""
    assert r.name is not None
    text = strip_fence(content.strip())
    if not text:
        return [(Found(r.name, {}), r.dialect, [], r.start)]
    try:
        val, fixes = repair_loads(text)
    except RepairError:
        return []
    if isinstance(val, dict):
        return [(Found(r.name, clean_args(val)), r.dialect, fixes, r.start)]
    return []


def code_calls(host: Host, r: Region, content: str, closed: bool) -> list[Candidate]:
    """Raw code for a code tool (Functionary's ``>>>python``): the text is the ``code``."""
    code = content.strip("\n")
    if not code.strip():
        return []
    return [(Found(r.name or "python", {"code": code}), r.dialect, [], r.start)]


_KIMI_CALL = re.compile(r"<\|tool_call_begin\|>")
_KIMI_ARGS = re.compile(r"<\|tool_call_argument_begin\|>")
_KIMI_END = re.compile(r"<\|tool_call_end\|>")
_KIMI_ID = re.compile(r"\s*([^<>\s]{1,160}?)(?::(\d+))?\s*\Z")


def kimi_calls(host: Host, r: Region, content: str, closed: bool) -> list[Candidate]:
    """Kimi-K2's section: ``<|tool_call_begin|>functions.name:0<|tool_call_argument_begin|>
    {json}<|tool_call_end|>`` per call; the id is kept, the name is its last dotted part."""
    out: list[Candidate] = []
    for piece in _KIMI_CALL.split(content)[1:]:
        piece = _KIMI_END.split(piece, maxsplit=1)[0]
        halves = _KIMI_ARGS.split(piece, maxsplit=1)
        head = halves[0]
        args_text = halves[1] if len(halves) > 1 else ""
        m = _KIMI_ID.match(head)
        if m is None:
            continue
        call_id = m.group(1) + (f":{m.group(2)}" if m.group(2) is not None else "")
        name = m.group(1).rsplit(".", 1)[-1]
        if not valid_name(name):
            continue
        text = args_text.strip()
        if not text:
            out.append((Found(name, {}, call_id), "kimi_k2", [], r.start))
            continue
        try:
            val, fixes = repair_loads(text)
        except RepairError:
            continue
        if isinstance(val, dict):
            out.append((Found(name, clean_args(val), call_id), "kimi_k2", fixes, r.start))
    return out


DS_CALL_BEGIN = re.compile(r"<[|｜]\s*tool[▁_ \\]*call[▁_ \\]*begin\s*[|｜]>")
DS_CLOSE_ONE = re.compile(r"<[|｜]\s*tool[▁_ \\]*call[▁_ \\]*end\s*[|｜]>")
DS_CLOSE_ALL = re.compile(r"<[|｜]\s*tool[▁_ \\]*calls?[▁_ \\]*end\s*[|｜]>")
_DS_SEP = re.compile(r"<[|｜]\s*tool[▁_ \\]*sep\s*[|｜]>")


def deepseek_calls(host: Host, r: Region, content: str, closed: bool) -> list[Candidate]:
    """DeepSeek's section: ``<｜tool▁call▁begin｜>[function<｜tool▁sep｜>]name ... {json}``."""
    base = r.cstart
    out: list[Candidate] = []
    pieces = DS_CALL_BEGIN.split(content)
    if len(pieces) == 1:
        pieces = ["", content]
    for piece in pieces[1:] if len(pieces) > 1 else []:
        piece = DS_CLOSE_ONE.split(piece)[0]
        piece = DS_CLOSE_ALL.split(piece)[0]
        sp = _DS_SEP.split(piece, maxsplit=1)
        if len(sp) == 2:
            left, right = sp[0].strip(), sp[1]
            if left in ("function", ""):
                name, _, rest = right.lstrip().partition("\n")
                name = name.strip()
                if "{" in name:  # name{json} on one line
                    k = name.index("{")
                    name, rest = name[:k].strip(), name[k:] + "\n" + rest
            else:
                name, rest = left, right
        else:
            text = piece.strip()
            k = text.find("{")
            if k < 0:
                continue
            name, rest = text[:k].strip(), text[k:]
        rest = strip_fence(rest.strip())
        if not valid_name(name):
            continue
        if not rest:
            out.append((Found(name, {}), "deepseek", [], base))
            continue
        try:
            val, fixes = repair_loads(rest)
        except RepairError:
            continue
        if isinstance(val, dict):
            out.append((Found(name, clean_args(val)), "deepseek", fixes, base))
    return out


def fence_calls(host: Host, r: Region, content: str) -> list[Candidate]:
    """A fence of data (```json, ```xml, ```tool_code): a small document of its own."""
    lang = r.lang
    out: list[Candidate] = []
    for c in host.nested(content, r.cstart, payload=None, lang=lang):
        fmt = c.format if c.format in SPECIFIC or c.format in ("hermes", "mistral", "deepseek",
                                                              "command_r") else (
            "tool_code" if lang == "tool_code" else "fenced_json")
        out.append((Found(c.name, c.arguments, c.id), fmt, list(c.repaired),
                    c.offset if c.offset is not None else r.start))
    if out or lang != "tool_code":
        return out
    found, fixes, _ = parse_pythonic(content, allow_bare=True, allow_empty=True)
    return [(f, "tool_code", fixes, r.start) for f in found]


def params_calls(host: Host, r: Region, content: str) -> list[Candidate]:
    """``<params>`` after ``<tool>name</tool>``: JSON, or child elements."""
    assert r.name is not None
    text = strip_fence(content.strip())
    if not text:
        return [(Found(r.name, {}), "xml_tool", [], r.start)]
    if text.startswith("{"):
        try:
            val, fixes = repair_loads(text)
        except RepairError:
            return []
        if isinstance(val, dict):
            return [(Found(r.name, clean_args(val)), "xml_tool", fixes, r.start)]
        return []
    children = xml_children(text)
    if children is not None:
        return [(Found(r.name, children), "xml_tool", [], r.start)]
    return []


def xmltag_calls(host: Host, r: Region, content: str) -> list[Candidate]:
    """``<read_file><path>x</path></read_file>`` (Cline-style): child elements as arguments."""
    assert r.name is not None
    children = xml_children(content.strip())
    if children is None or (not children and (host.known is None or r.name not in host.known)):
        return []
    return [(Found(r.name, children), "xml_tag", [], r.start)]
