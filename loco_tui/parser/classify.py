"""What kind of answer a response is: tool_call, code, plan, verdict, refusal, prose, empty.

Cheap regex heuristics over the visible text (think-blocks and call markup already removed),
checked in that order of precedence: empty, tool_call, refusal, verdict, code, plan, prose.
"""

from __future__ import annotations

import re

from .types import ResponseKind

_REFUSAL = re.compile(
    r"\A\W*(?:(?:i'?m|i am)\s+(?:really\s+|very\s+)?sorry|sorry|unfortunately|apologies|"
    r"as an ai[^.]{0,40})?[^.!?\n]{0,80}?\b(?:i\s+(?:can(?:'|’)?t|cannot|can not|won(?:'|’)t|"
    r"will not|am unable to|(?:'|’)?m unable to|am not able to|(?:'|’)?m not able to|"
    r"must decline|have to decline|refuse)|i(?:'|’)m not (?:going|comfortable))\b[^.!?\n]{0,60}?"
    r"\b(?:help|assist|provide|comply|do (?:that|this)|fulfil+|create|generate|write|support|"
    r"engage|answer|share|give|produce|with (?:that|this))",
    re.I,
)
_VERDICT = re.compile(
    r"[\"']winner[\"']\s*:|\[\[[A-Z]\]\]|^[ \t>*_#]*(?:final\s+)?(?:winner|verdict|final ranking)"
    r"[*_]*\s*:|\bI\s+(?:choose|pick|select)\s+(?:proposal|response|candidate|option|answer)\s+\w\b",
    re.I | re.M,
)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.\-]*)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)",
                    re.S | re.M)
_CODE_LINE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import|#include|function |const |let |var |return\b|"
    r"if\s*\(|for\s*\(|while\s*\(|public |private |fn |func |package |using |SELECT |CREATE |"
    r"@\w+|}|\)|[\w.\[\]]+\s*(?:=|\+=|-=)\s*\S.*[;)\]}\"']?$|.*[;{]\s*$)"
)
_NUMBERED = re.compile(r"^\s*(?:\d{1,2}[.)]|step\s+\d+\s*[:.)-]|\(\d{1,2}\))\s+\S", re.I)
_BULLET = re.compile(r"^\s*[-*•+]\s+\S")
_PLAN_WORD = re.compile(r"\b(?:plan|steps?|first|then|next|finally|phase)\b", re.I)


def classify_text(text: str, n_calls: int = 0) -> tuple[ResponseKind, str]:
    """Classify visible ``text`` (with ``n_calls`` tool calls found in it); return the kind
    and a short reason for the trace."""
    if n_calls:
        return ResponseKind.TOOL_CALL, f"{n_calls} tool call(s)"
    stripped = text.strip()
    if not stripped:
        return ResponseKind.EMPTY, "no visible text"
    head = stripped[:400]
    if len(stripped) < 900 and "```" not in stripped and _REFUSAL.search(head):
        return ResponseKind.REFUSAL, "declines in its opening sentence"
    if _VERDICT.search(stripped[-3000:]) or _VERDICT.search(head):
        return ResponseKind.VERDICT, "names a winner"
    total = sum(map(len, stripped.split())) or 1
    code_chars = 0
    fences = 0
    for m in _FENCE.finditer(stripped):
        fences += 1
        code_chars += sum(map(len, m.group(3).split()))
    if fences and code_chars >= 0.5 * total:
        share = code_chars * 100 // total
        return ResponseKind.CODE, f"{fences} code block(s), {share}% of the text"
    lines = [ln for ln in stripped.splitlines() if ln.strip()]
    if not fences and len(lines) >= 3:
        code_lines = sum(1 for ln in lines if _CODE_LINE.match(ln))
        if code_lines >= 0.6 * len(lines):
            return ResponseKind.CODE, f"{code_lines}/{len(lines)} lines look like code"
    # A code sample inside a step-by-step answer must not dilute its list of steps.
    outside = [ln for ln in _FENCE.sub("", stripped).splitlines() if ln.strip()] if fences \
        else lines
    numbered = sum(1 for ln in outside if _NUMBERED.match(ln))
    bullets = sum(1 for ln in outside if _BULLET.match(ln))
    items = numbered + bullets
    if items and items >= 0.4 * len(outside) and (
        numbered >= 2 or (bullets >= 3 and _PLAN_WORD.search(stripped))
    ):
        return ResponseKind.PLAN, f"{items} list step(s)"
    if fences and code_chars >= 0.3 * total:
        return ResponseKind.CODE, f"{fences} code block(s)"
    return ResponseKind.PROSE, "plain text"
