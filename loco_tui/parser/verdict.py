"""Reading a judge's verdict: which neutral label won, or whether it synthesised an answer.

Layered, most reliable first: strict JSON (the whole reply, or its last JSON object) ->
fenced JSON -> the LAST ``[[X]]`` -> a ``Winner: X`` / ``FINAL RANKING:`` line ->
"I choose Proposal X" -> a ranking ``B > A > C`` -> fuzzy (which label the praise goes to).
Labels the judge was never shown are rejected. When the layers disagree the confidence drops.
Never raises; an unreadable verdict is ``label=None, confidence=0, parsed_by="none"``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .jsonrepair import RepairError, repair_loads

_BASE = {"json": 0.95, "fenced_json": 0.9, "brackets": 0.85, "winner_line": 0.85,
         "choose_phrase": 0.7, "ranking": 0.7, "bare_label": 0.8, "leading_label": 0.5,
         "fuzzy": 0.35}
_ORDER = ("json", "fenced_json", "brackets", "winner_line", "choose_phrase", "ranking",
          "bare_label", "leading_label", "fuzzy")
_NOUN = (r"(?:proposal|response|candidate|option|answer|assistant|model|solution|submission|"
         r"output|entry|draft|version)")
_THINK = re.compile(r"<(think|thinking|reasoning)>.*?(?:</\1>|\Z)|\[THINK\].*?(?:\[/THINK\]|\Z)",
                    re.S | re.I)
_LONE_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>|\[/THINK\]", re.I)
_WINNER_KEYS = ("winner", "label", "choice", "best", "selected", "pick", "chosen", "verdict",
                "preferred", "best_response", "best_proposal", "winner_label")
_MODE_KEYS = ("mode", "decision", "action", "verdict_mode", "type")
_CONF_KEYS = ("confidence", "certainty", "score", "conf")
_REASON_KEYS = ("reason", "reasoning", "rationale", "explanation", "justification", "why",
                "notes")
_RANK_KEYS = ("ranking", "rank", "order", "ranked", "final_ranking")
_SYNTH_KEYS = ("synthesis", "synthesized", "synthesised", "merged", "combined",
               "synthesized_answer", "final_answer")
_NONE_WORDS = frozenset({"", "none", "null", "n/a", "na", "tie", "neither", "nobody", "-"})
_WORDS_CONF = {"very high": 0.95, "high": 0.85, "medium": 0.6, "moderate": 0.6, "low": 0.3,
               "very low": 0.15}
_POS = re.compile(r"\b(?:best|better|strongest|stronger|superior|prefer(?:red|able)?|winner|wins|"
                  r"most (?:complete|correct|accurate|helpful|thorough|robust)|excellent|"
                  r"outperforms|clearly ahead|"
                  r"more (?:complete|correct|accurate|robust|thorough))\b",
                  re.I)
_NEG = re.compile(r"\b(?:worse|worst|weaker|weakest|bugs?|buggy|incorrect|wrong|fails?|"
                  r"missing|incomplete|inferior|less (?:complete|correct|accurate))\b", re.I)
_COMPARE = re.compile(r"\b(?:better than|stronger than|superior to|outperforms|over|beats|"
                      r"more \w+ than|preferable to)\b", re.I)
_SYNTH_HEAD = re.compile(
    r"^[ \t#*_>]*(?:final\s+|my\s+)?(?:synth\w*|merged|combined)(?:\s+(?:answer|response|"
    r"proposal|version|solution|plan))?[ \t*_:]*$",
    re.I | re.M,
)
_VERBS_AFTER_A = frozenset({"is", "was", "has", "wins", "won", "provides", "gives", "offers",
                            "does", "seems", "looks", "handles", "covers", "and", "or", "vs",
                            "over", "beats", "outperforms", "clearly", "correctly", "edges"})


@dataclass
class VerdictParse:
    """How a judge's reply was read."""

    label: str | None
    mode: Literal["pick", "synthesize"]
    confidence: float
    reason: str
    parsed_by: str
    ranking: list[str] = field(default_factory=list)
    synthesis: str | None = None
    # What the judge itself said of its certainty (a "confidence" field, "high", ...),
    # lowered when its own verdicts conflict; None when it said nothing. ``confidence``
    # above is how sure the *reading* is, by parse path.
    stated_confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "mode": self.mode, "confidence": self.confidence,
                "reason": self.reason, "parsed_by": self.parsed_by, "ranking": self.ranking,
                "synthesis": self.synthesis, "stated_confidence": self.stated_confidence}


@dataclass
class _Cand:
    path: str
    label: str | None
    mode: str = "pick"
    confidence: float | None = None
    reason: str = ""
    ranking: list[str] = field(default_factory=list)
    synthesis: str | None = None
    pos: int = 0


class _Labels:
    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = [str(x).strip() for x in labels if str(x).strip()]
        self.canon = {x.lower(): x for x in self.labels}
        alt = "|".join(sorted((re.escape(x) for x in self.labels), key=len, reverse=True)) or "(?!)"
        self.alt = alt
        self.rejected: list[str] = []

    def resolve(self, token: Any) -> str | None:
        if token is None:
            return None
        t = str(token).strip().strip("*_`'\"()[]{}.:,;!").strip()
        t = re.sub(rf"^(?:the\s+)?{_NOUN}\s*#?\s*", "", t, flags=re.I).strip()
        if t.lower() in self.canon:
            return self.canon[t.lower()]
        if t and t.lower() not in _NONE_WORDS and (
                t.isdigit() or (len(t) == 1 and t.isalpha()) or (t.isupper() and len(t) <= 3)):
            self.rejected.append(t)  # looks like a label, but not one the judge was shown
        return None

    def lead(self, rest: str) -> str | None:
        """The label a line like ``Winner: Proposal B, because ...`` names first."""
        m = re.match(
            rf"[ \t*_`'\"(\[]*(?:the\s+)?({_NOUN}\s*#?\s*)?([A-Za-z0-9]+)\b([^\n]*)", rest, re.I)
        if m is None:
            return None
        tok, tail = m.group(2), m.group(3)
        # "winner: a tie", "verdict: a clear win for B" -- an article, not a label
        if (m.group(1) is None and len(tok) == 1 and tok.islower()
                and re.match(r"\s+[a-z]", tail)
                and not re.match(r"\s+(?:is|wins|because)\b", tail)):
            return None
        return self.resolve(tok)


def _last(matches: Iterator[re.Match[str]]) -> re.Match[str] | None:
    """The last of ``matches``, or None."""
    last = None
    for last in matches:  # noqa: B007 - the loop is how the last one is reached
        pass
    return last


def _strip_think(text: str) -> str:
    text = _THINK.sub("", text)
    m = _last(_LONE_CLOSE.finditer(text))
    if m is not None:
        text = text[m.end():]
    return text


def _num_conf(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, str):
        s = v.strip().lower().rstrip("%")
        if s in _WORDS_CONF:
            return _WORDS_CONF[s]
        try:
            v = float(s)
        except ValueError:
            return None
    if isinstance(v, (int, float)):
        f = float(v)
        if f != f:
            return None
        if 1 < f <= 100:
            f /= 100
        return max(0.0, min(1.0, f))
    return None


def _ranking_from(value: Any, L: _Labels) -> list[str]:
    items: list[Any]
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = re.split(r"\s*(?:>|≻|,|;|\n|\d+[.)])\s*", value)
    else:
        return []
    out: list[str] = []
    for it in items:
        lab = L.resolve(it) if str(it).strip() else None
        if lab is not None and lab not in out:
            out.append(lab)
    return out


def _first_key(obj: dict[str, Any], keys: Sequence[str]) -> tuple[bool, Any]:
    low = {str(k).lower(): v for k, v in obj.items()}
    for k in keys:
        if k in low:
            return True, low[k]
    return False, None


def _in_fence(text: str, pos: int) -> bool:
    return text.count("```", 0, pos) % 2 == 1


def _json_cands(text: str, L: _Labels) -> list[_Cand]:
    dec = json.JSONDecoder()
    found: list[tuple[int, int, dict[str, Any], bool]] = []
    starts = [m.start() for m in re.finditer(r"\{", text)][-200:]
    for i in starts:
        try:
            obj, end = dec.raw_decode(text, i)
        except ValueError:
            continue
        if isinstance(obj, dict) and (_first_key(obj, _WINNER_KEYS)[0] or
                                      _first_key(obj, _MODE_KEYS)[0]):
            found.append((i, end, obj, False))
    if not found:
        for i in reversed(starts[-20:]):
            window = text[i:i + 400].lower()
            if "winner" not in window and "mode" not in window:
                continue
            try:
                obj, _fixes = repair_loads(text[i:])
            except RepairError:
                continue
            if isinstance(obj, dict) and (_first_key(obj, _WINNER_KEYS)[0]
                                          or _first_key(obj, _MODE_KEYS)[0]):
                found.append((i, len(text), obj, True))
                break
    if not found:
        return []
    # The last object; of nested ones, the outermost.
    found.sort(key=lambda t: (t[1], -t[0]))
    i, end, obj, repaired = found[-1]
    path = "fenced_json" if _in_fence(text, i) else "json"
    has_w, w = _first_key(obj, _WINNER_KEYS)
    _, mode_v = _first_key(obj, _MODE_KEYS)
    _, conf_v = _first_key(obj, _CONF_KEYS)
    _, reason_v = _first_key(obj, _REASON_KEYS)
    _, rank_v = _first_key(obj, _RANK_KEYS)
    _, synth_v = _first_key(obj, _SYNTH_KEYS)
    label = None
    if isinstance(w, (str, int)) and str(w).strip().lower() not in _NONE_WORDS:
        label = L.resolve(w)
        if label is None:
            return []  # a label the judge was never shown
    mode_s = str(mode_v or "").lower()
    if re.search(r"synth|merg|combin", mode_s):
        mode = "synthesize"
    elif re.search(r"pick|select|choos|winner", mode_s) or label is not None:
        mode = "pick"
    elif synth_v or (has_w and w is None):
        mode = "synthesize"
    else:
        return []
    if mode == "pick" and label is None:
        return []
    synthesis = None
    if mode == "synthesize":
        if isinstance(synth_v, str) and synth_v.strip():
            synthesis = synth_v.strip()
        else:
            synthesis = _synthesis_before(text, i)
    ranking = _ranking_from(rank_v, L)
    reason = reason_v if isinstance(reason_v, str) else ""
    conf = _num_conf(conf_v)
    if repaired:
        conf = min(conf if conf is not None else 0.8, 0.8)
    return [_Cand(path, label, mode, conf, reason.strip(), ranking, synthesis, i)]


def _synthesis_before(text: str, i: int) -> str | None:
    before = text[:i]
    before = re.sub(r"```[\w]*\s*\Z", "", before.rstrip()).rstrip()
    m = _last(_SYNTH_HEAD.finditer(before))
    if m is not None:
        before = before[m.end():]
    before = before.strip()
    return before or None


def _line_at(text: str, pos: int) -> str:
    a = text.rfind("\n", 0, pos) + 1
    b = text.find("\n", pos)
    return text[a:b if b >= 0 else len(text)].strip()[:300]


def _bracket_cands(text: str, L: _Labels) -> list[_Cand]:
    last: _Cand | None = None
    for m in re.finditer(r"\[\[\s*([^\[\]\n]{1,40}?)\s*\]\]", text):
        lab = L.resolve(m.group(1))
        if lab is not None:
            last = _Cand("brackets", lab, reason=_line_at(text, m.start()), pos=m.start())
    return [last] if last else []


_WINNER_LINE = re.compile(
    rf"^[ \t>*_#\-]*(?:the\s+)?(?:final\s+|overall\s+)?(?:winner|verdict|decision|choice|"
    rf"best(?:\s+{_NOUN})?|selected(?:\s+{_NOUN})?|pick|chosen(?:\s+{_NOUN})?|"
    rf"preferred(?:\s+{_NOUN})?|winning\s+{_NOUN})[*_ \t]*(?:is)?[*_ \t]*[:=\-–—][ \t*_]*(.*)$",
    re.I | re.M,
)
_RANK_LINE = re.compile(r"^[ \t>*_#\-]*(?:final\s+)?ranking[*_ \t]*:[ \t*_]*(.*)$", re.I | re.M)


def _winner_line_cands(text: str, L: _Labels) -> list[_Cand]:
    best: _Cand | None = None
    for m in _WINNER_LINE.finditer(text):
        lab = L.lead(m.group(1))
        if lab is not None:
            best = _Cand("winner_line", lab, reason=_line_at(text, m.start()), pos=m.start())
    rank: _Cand | None = None
    for m in _RANK_LINE.finditer(text):
        rest = m.group(1).strip()
        if not rest:
            tail = text[m.end():].lstrip("\n")
            lines: list[str] = []
            for ln in tail.splitlines()[: len(L.labels) + 2]:
                if not ln.strip():
                    if lines:
                        break
                    continue
                lines.append(re.sub(r"^\s*(?:\d+[.)]|[-*])\s*", "", ln))
            ranking = [lab for lab in (L.lead(x) for x in lines) if lab]
        else:
            ranking = _ranking_from(rest, L)
        ranking = list(dict.fromkeys(ranking))
        if ranking:
            rank = _Cand("winner_line", ranking[0], reason=_line_at(text, m.start()),
                         ranking=ranking, pos=m.start())
    if best is not None and rank is not None:
        if rank.label == best.label:
            best.ranking = rank.ranking
            return [best]
        return [best, rank] if best.pos > rank.pos else [rank, best]
    return [c for c in (best, rank) if c is not None]


def _choose_cands(text: str, L: _Labels) -> list[_Cand]:
    pats = [
        rf"\b(?:I|we)(?:'d|'ll|\s+would|\s+will|\s+therefore|\s+thus)?\s+(?:(?:have\s+to|must)\s+)?"
        rf"(?:choose|pick|select|go\s+with|prefer|vote\s+for|recommend|favou?r|declare)\s+"
        rf"(?:the\s+)?(?P<lab>{_NOUN}\s*#?\s*[A-Za-z0-9]+|[A-Za-z0-9]+)\b",
        rf"\b(?P<lab>{_NOUN}\s*#?\s*[A-Za-z0-9]+|[A-Z0-9])\s+is\s+(?:the\s+)?(?:clear\s+|overall\s+|"
        rf"obvious\s+)?(?:winner|best|strongest|better|superior|preferred|most\s+\w+)\b",
        rf"\bthe\s+(?:best|strongest|winning|better|superior|preferred)\s+(?:{_NOUN}|one|choice)"
        rf"\s+is\s+(?P<lab>{_NOUN}\s*#?\s*[A-Za-z0-9]+|[A-Za-z0-9]+)\b",
    ]
    last: _Cand | None = None
    for p in pats:
        for m in re.finditer(p, text, re.I):
            raw = m.group("lab")
            has_noun = re.match(_NOUN, raw, re.I) is not None
            if not has_noun and raw.islower():
                continue  # "I choose a ..." -- an article
            lab = L.resolve(raw)
            if lab is not None and (last is None or m.start() >= last.pos):
                last = _Cand("choose_phrase", lab, reason=_line_at(text, m.start()), pos=m.start())
    return [last] if last else []


def _ranking_cands(text: str, L: _Labels) -> list[_Cand]:
    tok = rf"(?:{_NOUN}\s*#?\s*)?(?:{L.alt})"
    pat = re.compile(rf"(?<![\w>])({tok}(?:\s*(?:>>|>|≻|›)\s*{tok})+)(?![\w])", re.I)
    last: _Cand | None = None
    for m in pat.finditer(text):
        ranking = _ranking_from(m.group(1), L)
        if len(ranking) >= 2:
            last = _Cand("ranking", ranking[0], reason=_line_at(text, m.start()), ranking=ranking,
                         pos=m.start())
    return [last] if last else []


def _bare_cands(text: str, L: _Labels) -> list[_Cand]:
    """A reply that is only a label ("B", "**Proposal B**."), or whose first line is one
    ("A:" then prose). Small judges asked "which is best: A, B or C?" answer like this."""
    stripped = text.strip()
    first = stripped.split("\n", 1)[0].strip()
    token = r"[\s*_`'\"(\[]*(?:(?:the\s+)?(?:best|answer)\s*(?:is|:)?\s*)?"
    single = re.compile(rf"{token}(?:{_NOUN}\s*#?\s*)?({L.alt})[\s*_`'\")\].:!]*", re.I)
    m = single.fullmatch(stripped)
    if m is not None and (label := L.resolve(m.group(1))) is not None:
        return [_Cand("bare_label", label, reason=f"the judge answered {stripped!r}")]
    m = single.fullmatch(first) if first != stripped else None
    if m is not None and (label := L.resolve(m.group(1))) is not None:
        return [_Cand("leading_label", label, reason=f"the judge's reply opens with {first!r}")]
    return []


def _fuzzy_cands(text: str, L: _Labels) -> list[_Cand]:
    out: list[_Cand] = []
    ref = re.compile(rf"(?:{_NOUN}\s*#?\s*({L.alt})\b)|(?<![\w'])({L.alt})(?![\w'])", re.I)
    scores: dict[str, float] = {}
    where: dict[str, int] = {}
    for sm in re.finditer(r"[^.!?\n]+", text):
        sent = sm.group()
        labs: list[tuple[str, int]] = []
        for m in ref.finditer(sent):
            if m.group(1):
                lab = L.resolve(m.group(1))
            else:
                raw = m.group(2)
                if raw.islower() or raw in ("I",):
                    continue
                if raw == "A":
                    nxt = re.match(r"\s+(\w+)", sent[m.end():])
                    if nxt is not None and nxt.group(1).lower() not in _VERBS_AFTER_A:
                        continue
                lab = L.resolve(raw)
            if lab is not None and lab not in [x for x, _ in labs]:
                labs.append((lab, m.start()))
        if not labs:
            continue
        pos = len(_POS.findall(sent))
        neg = len(_NEG.findall(sent))
        if len(labs) == 1:
            lab = labs[0][0]
            scores[lab] = scores.get(lab, 0.0) + pos - 0.5 * neg
            where.setdefault(lab, sm.start())
        else:
            cm = _COMPARE.search(sent)
            if cm is not None:
                ahead = [lab for lab, p in labs if p < cm.start()]
                behind = [lab for lab, p in labs if p > cm.start()]
                if ahead:
                    scores[ahead[-1]] = scores.get(ahead[-1], 0.0) + 1
                    where.setdefault(ahead[-1], sm.start())
                for lab in behind:
                    scores[lab] = scores.get(lab, 0.0) - 1
    if scores:
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        top, val = ranked[0]
        if val > 0 and (len(ranked) == 1 or ranked[1][1] < val):
            out.append(_Cand("fuzzy", top, reason=_line_at(text, where.get(top, 0)),
                             pos=where.get(top, 0)))
    sh = _last(_SYNTH_HEAD.finditer(text))
    if sh is not None:
        body = text[sh.end():].strip()
        if len(body) > 20:
            out.append(_Cand("fuzzy", None, "synthesize", None, _line_at(text, sh.start()), [],
                             body, sh.start()))
    return out


def parse_verdict(text: str, labels: Sequence[str]) -> VerdictParse:
    """Read a judge's reply. ``labels`` are the neutral labels the judge was shown."""
    try:
        return _parse(text if isinstance(text, str) else str(text), labels)
    except Exception as e:  # noqa: BLE001 - a verdict is never a crash
        return VerdictParse(None, "pick", 0.0, f"verdict parser error: {type(e).__name__}", "none")


def _parse(raw: str, labels: Sequence[str]) -> VerdictParse:
    L = _Labels(labels)
    text = _strip_think(raw)
    if not text.strip() or not L.labels:
        return VerdictParse(None, "pick", 0.0, "no verdict found", "none")
    text = text[-20000:] if len(text) > 20000 else text
    cands: list[_Cand] = []
    cands += _json_cands(text, L)
    cands += _bracket_cands(text, L)
    cands += _winner_line_cands(text, L)
    cands += _choose_cands(text, L)
    cands += _ranking_cands(text, L)
    cands += _bare_cands(text, L)
    fuzzy = _fuzzy_cands(text, L)
    strong = [c for c in cands]
    pool = strong or fuzzy
    if not pool:
        reason = "no verdict found"
        if L.rejected:
            reason += f" (labels not shown to the judge: {', '.join(dict.fromkeys(L.rejected))})"
        return VerdictParse(None, "pick", 0.0, reason, "none")
    pool.sort(key=lambda c: _ORDER.index(c.path))
    primary = pool[0]
    conf = primary.confidence if primary.confidence is not None else _BASE[primary.path]
    stated = primary.confidence
    reason = primary.reason
    distinct = {c.label for c in strong if c.label is not None}
    if primary.label is not None:
        distinct.add(primary.label)
    agree = sum(1 for c in strong if c is not primary and c.label == primary.label and c.label)
    notes: list[str] = []
    if len(distinct) > 1:
        conf *= 0.6
        if stated is not None:
            stated *= 0.6
        others = sorted(d for d in distinct if d != primary.label)
        notes.append("conflicting verdicts: " + ", ".join(f"{c.path}={c.label}" for c in strong
                                                          if c.label in others))
    elif agree and primary.confidence is None:
        conf = min(1.0, conf + 0.05 * agree)
    ranking = primary.ranking or next((c.ranking for c in pool if c.ranking
                                       and c.ranking[0] == primary.label), [])
    if L.rejected:
        notes.append("ignored labels not shown to the judge: "
                     + ", ".join(dict.fromkeys(L.rejected)))
    if notes:
        reason = (reason + " " if reason else "") + "(" + "; ".join(notes) + ")"
    mode: Literal["pick", "synthesize"] = "synthesize" if primary.mode == "synthesize" else "pick"
    return VerdictParse(primary.label, mode, round(max(0.0, min(1.0, conf)), 3), reason,
                        primary.path, ranking, primary.synthesis if mode == "synthesize" else None,
                        None if stated is None else round(max(0.0, min(1.0, stated)), 3))
