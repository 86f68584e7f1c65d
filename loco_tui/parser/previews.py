"""Previews of a call while it streams: ``call_delta`` parse events.

After each push the previewer looks at the region the scanner is inside. When it is a call
(explicit call markup, or JSON after a call marker) whose text has grown enough since the last
look, it reads the arguments so far and reports them as a ``call_delta`` event::

    {"index": 0, "name": "get_weather", "arguments": {"city": "Pa"}, "fragment": "\\"Pa",
     "format": "hermes"}

``index`` is the index the call will have among the final calls, ``arguments`` the arguments so
far as a JSON object, ``fragment`` the raw text of the call that arrived since the previous
preview of it. The final ``call`` event with the same index replaces the preview.

What a preview promises: it is valid JSON, and it is a prefix-consistent view of the final
arguments (every key it has is in the final call, with the same value, except that the last
string may still be cut short). To keep that promise a preview is only read from text that needs
no repair other than closing what the end of the text left open, a number or literal that may
still go on is left out, and a half-typed name is never shown. Previews never decide anything:
the calls come from the scanner as before, so results are the same with previews on or off.

Cost stays linear: a region is looked at again only when its text has grown by half since the
last look (at least ``MIN_STEP`` characters).
"""

from __future__ import annotations

import re
from typing import Any

from .calls import ARG_KEYS, NAME_KEYS, clean_args, valid_name
from .jsonrepair import RepairError, TruncatedStr, plain, repair_loads
from .markup import arg_pairs, strip_fence, xml_parameters
from .regions import Kind, Region
from .scanner import Scanner
from .types import ParseEvent
from .xmlvalues import glm_value, minimax_value, param_types, qwen3_value

MIN_STEP = 24
# Repairs that only close what the end of the text left open.
_END_FIXES = frozenset({"unclosed_string", "unclosed_object", "unclosed_array", "dangling_key",
                        "truncated_value"})
_PARTIAL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\(?:u[0-9a-fA-F]{0,3})?\Z")
_SPECIAL_TOKEN = re.compile(r"\A\s*(?:<\|[\w.\-:]{1,40}\|>\s*)+")
_FUNCTION_HEAD = re.compile(
    r"\A\s*<(?:function|invoke)(?:=\s*[\"']?([^\"'<>\s]+?)[\"']?|\s+name\s*=\s*[\"']?"
    r"([^\"'<>\s]+)[\"']?)\s*>")
_GLM_HEAD = re.compile(r"\A\s*([A-Za-z_][\w.\-]{0,127})\s*(?=<arg_key>)")
_KIMI_CALL = re.compile(r"<\|tool_call_begin\|>")
_KIMI_HEAD = re.compile(r"\s*([^<>\s]{1,160}?)(?::\d+)?\s*<\|tool_call_argument_begin\|>")
_DS_BEGIN = re.compile(r"<[|｜]\s*tool[▁_ \\]*call[▁_ \\]*begin\s*[|｜]>")
# A name counts once what follows it shows it is complete (a newline, a brace, a separator).
_DS_SEP = r"<[|｜]\s*tool[▁_ \\]*sep\s*[|｜]>"
_DS_HEAD = re.compile(r"\s*(?:function\s*)?" + _DS_SEP
                      + r"\s*([A-Za-z_][\w.\-]*)[ \t]*(?=[\n{`])\s*"
                      + r"|\s*(?!function\s*<)([A-Za-z_][\w.\-]*)\s*" + _DS_SEP)

# (offset of the call among the region's calls, name, arguments so far)
Preview = tuple[int, str, dict[str, Any]]


class Previewer:
    """Watches one scanner and turns the call it is inside into ``call_delta`` events."""

    def __init__(self, scanner: Scanner) -> None:
        self.sc = scanner

    def after_push(self, new: list[ParseEvent]) -> list[ParseEvent]:
        r = self.sc.region
        if r is None or not r.started:
            return []
        if r.kind is Kind.JSON:
            if not (r.marker or r.name):
                return []  # bare JSON: not known to be a call before it closes
        elif r.kind is not Kind.CALLS:
            return []
        size = sum(map(len, r.parts)) if r.kind is Kind.JSON else r.size
        if size < r.preview_size + max(MIN_STEP, r.preview_size // 2):
            return []
        content = "".join(r.parts)
        fragment = content[r.preview_size:]
        r.preview_size = size
        found = read_preview(r, content, self.sc)
        if found is None:
            return []
        offset, name, args = found
        key = (offset, name, args)
        if key == r.preview_args:
            return []
        r.preview_args = key
        detail = {"index": len(self.sc.calls) + offset, "name": name, "arguments": args,
                  "fragment": fragment, "format": r.dialect}
        return [ParseEvent("call_delta", r.start, detail)]


def read_preview(r: Region, content: str, sc: Scanner) -> Preview | None:
    """The call the region holds so far, or None when nothing safe can be shown yet."""
    if r.name is not None:
        if r.kind is Kind.CALLS and r.dialect == "functionary_v32":
            return None  # raw code: shown as text by the pane already
        text = content.strip()
        if text.startswith("<parameter"):
            return _xml_preview(r.name, text, r.dialect, sc)
        args = partial_object(strip_fence(text)) if text else {}
        return None if args is None else (0, r.name, args)
    if r.dialect == "kimi_k2":
        return _kimi_preview(content)
    if r.dialect == "deepseek":
        return _deepseek_preview(content)
    text = _SPECIAL_TOKEN.sub("", content, count=1).strip()
    if not text:
        return None
    if text[0] in "{[":
        return _json_preview(text)
    m = _FUNCTION_HEAD.match(text)
    if m is not None:
        name = m.group(1) or m.group(2)
        body = text[m.end():].strip()
        if not valid_name(name):
            return None
        if not body:
            return (0, name, {})
        if body.startswith("<parameter"):
            dialect = r.dialect if r.dialect in ("seed_oss", "minimax_m2") else "qwen3_xml"
            return _xml_preview(name, body, dialect, sc)
        args = partial_object(body)
        return None if args is None else (0, name, args)
    g = _GLM_HEAD.match(text)
    if g is not None and r.dialect == "hermes":
        return _glm_preview(g.group(1), text[g.end():], sc)
    return None


def partial_object(text: str) -> dict[str, Any] | None:
    """The JSON object that ``text`` (the start of one) holds so far, or None."""
    value = _partial_value(text)
    return value if isinstance(value, dict) else None


def _partial_value(text: str) -> Any:
    text = _PARTIAL_ESCAPE.sub("", text)
    if not text.strip():
        return None
    try:
        value, fixes = repair_loads(text)
    except RepairError:
        return None
    if not set(fixes) <= _END_FIXES:
        return None
    if text[-1] not in " \t\r\n,:}]\"'":
        # The text ends inside a number or a literal that may still go on (1 -> 12): leave it
        # out. A string cut off here is kept: strings may be shown cut short.
        value = _drop_last_scalar(value)
    return clean_args(plain(value)) if isinstance(value, dict) else plain(value)


def _drop_last_scalar(value: Any) -> Any:
    container = value
    while True:
        if isinstance(container, dict) and container:
            last_key = next(reversed(container))
            last = container[last_key]
            if isinstance(last, (dict, list)):
                container = last
                continue
            if not isinstance(last, TruncatedStr):
                del container[last_key]
            return value
        if isinstance(container, list) and container:
            last = container[-1]
            if isinstance(last, (dict, list)):
                container = last
                continue
            if not isinstance(last, TruncatedStr):
                container.pop()
            return value
        return value


def _item_call(item: Any) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(item, dict):
        return None
    fn = item.get("function")
    if isinstance(fn, dict):
        item = fn
    name = next((item[k] for k in NAME_KEYS if isinstance(item.get(k), str)), None)
    if name is None or not valid_name(name):
        return None
    key = next((k for k in ARG_KEYS if k in item), None)
    if key is None:
        return name, {}
    args = item[key]
    return (name, args) if isinstance(args, dict) else None


def _json_preview(text: str) -> Preview | None:
    raw = _PARTIAL_ESCAPE.sub("", strip_fence(text))
    try:
        value, fixes = repair_loads(raw)
    except RepairError:
        return None
    if not set(fixes) <= _END_FIXES:
        return None
    if raw and raw[-1] not in " \t\r\n,:}]\"'":
        value = _drop_last_scalar(value)
    if isinstance(value, dict):
        for wrapper in ("tool_calls", "calls"):
            if isinstance(value.get(wrapper), list):
                value = value[wrapper]
                break
    items = value if isinstance(value, list) else [value]
    if not items:
        return None
    call = _item_call(items[-1])
    if call is None:
        return None
    name, args = call
    return (len(items) - 1, plain(name), clean_args(plain(args)))


def _open_value_ok(value: str) -> bool:
    # "nul" may become null; anything else stays a string prefix of the final value.
    return not "null".startswith(value.strip().lower())


def _xml_preview(name: str, body: str, dialect: str, sc: Scanner) -> Preview | None:
    props = param_types(sc.schemas, name)

    def convert(k: str, v: str) -> Any:
        if dialect == "minimax_m2":
            return minimax_value(v, k, props)
        if dialect in ("qwen3_xml", "seed_oss"):
            return qwen3_value(v, k, props, json_arrays=dialect == "qwen3_xml")
        return v

    cut = body.rfind("<")
    if cut > body.rfind(">"):
        body = body[:cut]  # a tag still arriving ("</para"): not part of any value
    args, closed = xml_parameters(body, convert)
    if not closed and args:
        last = next(reversed(args))
        value = args[last]
        # An open value is shown only while it is text that can only grow.
        if not (isinstance(value, str) and dialect != "invoke" and _open_value_ok(value)
                and (props is None or last not in props or _declared_string(props, last))):
            del args[last]
    return (0, name, clean_args(args))


def _declared_string(props: Any, key: str) -> bool:
    spec = props.get(key)
    return not isinstance(spec, dict) or spec.get("type", "string") == "string"


def _glm_preview(name: str, body: str, sc: Scanner) -> Preview:
    props = param_types(sc.schemas, name)
    pairs, closed = arg_pairs(body)
    if not closed:
        pairs = pairs[:-1]
    return (0, name, clean_args({k: glm_value(v, k, props) for k, v in pairs}))


def _kimi_preview(content: str) -> Preview | None:
    pieces = _KIMI_CALL.split(content)
    if len(pieces) < 2:
        return None
    m = _KIMI_HEAD.match(pieces[-1])
    if m is None:
        return None
    name = m.group(1).rsplit(".", 1)[-1]
    if not valid_name(name):
        return None
    rest = pieces[-1][m.end():].strip()
    args = partial_object(rest) if rest else {}
    return None if args is None else (len(pieces) - 2, name, args)


def _deepseek_preview(content: str) -> Preview | None:
    pieces = _DS_BEGIN.split(content)
    if len(pieces) < 2:
        return None
    piece = pieces[-1]
    m = _DS_HEAD.match(piece)
    if m is None:
        return None
    name = m.group(1) or m.group(2)
    rest = piece[m.end():].strip()
    if rest.startswith("```"):
        nl = rest.find("\n")
        if nl < 0:
            return None
        rest = rest[nl + 1:]
    args = partial_object(rest) if rest else {}
    if args is None or not valid_name(name):
        return None
    return (len(pieces) - 2, name, args)
