"""Structured, calibrated verdicts: the JSON schema a judge's answer is constrained to, and
the confidence read from the probabilities its model gave the label it chose.

The schema admits exactly the labels the judge was shown (``"winner": {"enum": [...]}``), so
even a 135M judge cannot name a label it never saw; a short ``reason`` comes first (evidence
before the verdict, and bounded, so a small model's token budget still reaches the winner),
and the stated confidence is one of 0, 0.1, ... 1.
A synthesis is not constrained: its answer is free text that a schema would only mangle.

Where the server returns token log probabilities, the confidence is the probability the
judge's model put on the label it wrote, among the labels it was shown: the label token's
probability over the summed probabilities of the alternatives at that position that would
also have named a shown label. Renormalising matters: some servers report probabilities
before the grammar (llama.cpp in-process does), which still spread over tokens the schema
forbids. Without alternatives, the chosen token's own probability is used.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from loco_tui.providers.base import TokenLogprob

# Alternatives asked for per token: enough to see every label of a typical ensemble.
MAX_TOP_LOGPROBS = 20
REASON_MIN_CHARS = 8
REASON_MAX_CHARS = 120
# A stated confidence in tenths: a bare JSON number lets a small model write sixteen digits
# and an exponent, which can use up a 96-token budget before the object closes.
CONFIDENCE_STEPS = tuple(round(n / 10, 1) for n in range(11))

_WINNER_VALUE = re.compile(r'"winner"\s*:\s*"')


def top_logprobs_for(labels: Sequence[str]) -> int:
    """Alternatives to ask for: every label plus a few (quote and spacing variants)."""
    return min(MAX_TOP_LOGPROBS, len(labels) + 5)


def verdict_schema(labels: Sequence[str], mode: str) -> dict[str, Any] | None:
    """The JSON schema of a verdict over ``labels``, or None for a synthesis (not
    constrained). ``pick``: a winner among the labels; ``pick_or_synthesize``: a winner, or
    null with the combined answer in ``synthesis``."""
    if mode == "synthesize":
        return None
    reason = {"type": "string", "minLength": REASON_MIN_CHARS, "maxLength": REASON_MAX_CHARS}
    confidence = {"enum": list(CONFIDENCE_STEPS)}
    if mode == "pick":
        properties: dict[str, Any] = {
            "reason": reason, "winner": {"enum": list(labels)}, "confidence": confidence}
    else:
        properties = {
            "reason": reason,
            "winner": {"enum": [*labels, None]},
            "mode": {"enum": ["pick", "synthesize"]},
            "synthesis": {"type": ["string", "null"]},
            "confidence": confidence,
        }
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


def matches_schema(reply: str, schema: dict[str, Any]) -> bool:
    """Whether ``reply`` is exactly one JSON object of ``schema``'s shape (its keys, and a
    winner among its labels): what a server that constrained the output writes."""
    try:
        # Not strict: llama.cpp's grammars let a string hold raw newlines, which JSON proper
        # escapes; the reply is still the constrained object.
        obj = json.loads(reply, strict=False)
    except ValueError:
        return False
    properties: dict[str, Any] = schema["properties"]
    if not isinstance(obj, dict) or set(obj) != set(properties):
        return False
    if obj["winner"] not in properties["winner"]["enum"]:
        return False
    return isinstance(obj["reason"], str) and _is_number(obj["confidence"])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def label_confidence(
    logprobs: Sequence[TokenLogprob], labels: Sequence[str], chosen: str
) -> float | None:
    """The probability the judge put on ``chosen`` among ``labels``, from the token log
    probabilities of its reply (None when the label's token cannot be found)."""
    text = "".join(t.token for t in logprobs)
    # The last "winner": " of the reply is the verdict.
    found = next(iter(reversed(list(_WINNER_VALUE.finditer(text)))), None)
    if found is None or text[found.end():found.end() + len(chosen)] != chosen:
        return None
    offset = found.end()
    start = 0
    for token in logprobs:
        end = start + len(token.token)
        if start <= offset < end:
            return _renormalised(token, offset - start, labels, chosen)
        start = end
    return None


def _renormalised(token: TokenLogprob, at: int, labels: Sequence[str], chosen: str) -> float:
    """``chosen``'s share of the probability of the alternatives that name a shown label,
    reading each alternative at the same position within the token as the label."""
    if not token.top:
        return min(1.0, math.exp(token.logprob))
    head = token.token[:at]
    by_label: dict[str, float] = {}
    seen: set[str] = set()
    for alternative, logprob in ((token.token, token.logprob), *token.top):
        if alternative in seen:
            continue  # llama.cpp repeats the chosen token among its alternatives
        seen.add(alternative)
        if not alternative.startswith(head):
            continue
        rest = alternative[at:]
        named = next((label for label in labels if rest.startswith(label)
                      and not rest[len(label):len(label) + 1].isalnum()), None)
        if named is not None:
            by_label[named] = by_label.get(named, 0.0) + math.exp(logprob)
    total = sum(by_label.values())
    if total <= 0 or chosen not in by_label:
        return min(1.0, math.exp(token.logprob))
    return by_label[chosen] / total
