"""Parser benchmark: throughput, streaming cost, and json_repair as a baseline.

    .venv/bin/python bench/bench_parser.py [--quick] [--json]

Builds two corpora deterministically from realistic samples (~1 MB each; ~200 KB with
--quick): prose-only answers (markdown, lists, inline code, code fences, brackets and braces in
text) and tool-call-heavy output (every dialect the parser reads, with prose between calls).
Reports medians of several repeats:

* whole-text parse throughput (MB/s) per corpus;
* streaming with 1-byte chunks (and 4-byte, token-sized chunks) over one whole-text parse
  (target: 1-byte <= 3x), checking that every split gives the same result;
* the tool-call JSON payloads of the corpus (valid, and the same payloads made malformed)
  through our ``repair_loads`` and through ``json_repair.loads``: times and the ratio;
* each dialect added for issue 17 alone (a corpus of prose and calls in that dialect): MB/s
  and whether every call was read;
* the cost of previews: 1-byte chunks with ``call_delta`` previews on over one whole-text parse
  (target <= 3x), and over 1-byte chunks without previews.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loco_tui.parser import StreamParser, parse_response
from loco_tui.parser.jsonrepair import RepairError, repair_loads

PROSE_SAMPLES = [
    "## Why the build fails\n\nThe linker cannot find `libssl` because the `pkg-config` path is "
    "not set. On Debian-based systems install `libssl-dev`, then run `cargo clean` and build "
    "again. If you use a custom prefix, export `PKG_CONFIG_PATH=/opt/ssl/lib/pkgconfig` first.\n\n",
    "There are three things to check before you blame the network:\n\n- the DNS resolver "
    "(`/etc/resolv.conf`),\n- the proxy settings in your shell (`env | grep -i proxy`),\n- and "
    "whether the service actually listens on the port you think it does.\n\n",
    "In Python a dictionary literal looks like {'a': 1, 'b': 2} and a set literal like {1, 2}. "
    "Indexing a list is `xs[0]`; slicing is `xs[1:3]`. Comparisons such as a < b and b > c "
    "chain naturally: `a < b > c` means `a < b and b > c`.\n\n",
    "Here is a small example:\n\n```python\ndef mean(xs: list[float]) -> float:\n    if not "
    "xs:\n        raise ValueError(\"empty\")\n    return sum(xs) / len(xs)\n```\n\nIt raises "
    "on an empty list instead of dividing by zero.\n\n",
    "1. Reproduce the bug with the smallest input you can.\n2. Write a failing test for it.\n"
    "3. Fix the code until the test passes.\n4. Run the whole suite before you push.\n\n",
    "The paper [Attention Is All You Need](https://arxiv.org/abs/1706.03762) introduced the "
    "Transformer [1]. Its key idea is that self-attention replaces recurrence, so every token "
    "can attend to every other token in O(n^2) time and memory.\n\n",
    "You can configure the server with a small JSON file:\n\n```json\n{\n  \"port\": 8080,\n  "
    "\"workers\": 4,\n  \"log_level\": \"info\"\n}\n```\n\nRestart it after changing the file.\n\n",
    "I would not rewrite the module from scratch. The current design is fine; the problem is that "
    "`parse()` is called twice per request, once in the middleware and once in the handler. "
    "Cache the result on the request object and the latency drops by half.\n\n",
    "Template engines use braces too: `{{ user.name }}` in Jinja, `${name}` in JavaScript "
    "template strings, and `{name}` in Python f-strings. None of these are JSON.\n\n",
    "```bash\nset -euo pipefail\nfor f in *.log; do\n  gzip -9 \"$f\"\ndone\n```\n\n"
    "That compresses every log in the directory; `-9` trades speed for size.\n\n",
]

CITIES = ["Paris", "Berlin", "Tokyo", "Lagos", "Lima", "Oslo", "Hanoi", "Quito", "Perth", "Cairo"]
PATHS = ["src/main.rs", "README.md", "loco_tui/app.py", "tests/test_api.py", "go.mod", "Makefile"]
QUERIES = ["rust async runtime", "python asyncio timeout", "textual widgets", "sqlite wal mode"]


def _call_payloads(rng: random.Random) -> list[tuple[str, dict[str, object]]]:
    city = rng.choice(CITIES)
    path = rng.choice(PATHS)
    q = rng.choice(QUERIES)
    n = rng.randint(1, 50)
    return [
        ("get_weather", {"city": city, "unit": rng.choice(["celsius", "fahrenheit"])}),
        ("read_file", {"path": path, "start_line": n, "end_line": n + 40}),
        ("search", {"query": q, "limit": n, "include_archived": bool(n % 2)}),
        ("write_file", {"path": path, "content": f"// generated {n}\nfn main() {{\n    "
                        f"println!(\"{city}\");\n}}\n"}),
    ]


def _dialects(name: str, args: dict[str, object], rng: random.Random) -> str:
    a = json.dumps(args)
    call = json.dumps({"name": name, "arguments": args})
    kw = ", ".join(f"{k}={v!r}" for k, v in args.items())
    forms = [
        f"<tool_call>\n{call}\n</tool_call>",
        f"[TOOL_CALLS] [{call}]",
        f"[TOOL_CALLS]{name}[ARGS]{a}",
        json.dumps({"name": name, "parameters": args}),
        f"<|python_tag|>{json.dumps({'name': name, 'parameters': args})}<|eom_id|>",
        f"<function={name}>{a}</function>",
        f"[{name}({kw})]",
        "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>"
        f"{name}\n```json\n{a}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
        f"<|tool_call|>[{call}]",
        f"```json\n{call}\n```",
        json.dumps({"type": "function", "function": {"name": name, "arguments": a}}),
        "<tool_call>\n<function=" + name + ">\n" + "".join(
            f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in args.items()) + "</function>\n"
        "</tool_call>",
    ]
    return rng.choice(forms)


def _new_dialects(name: str, args: dict[str, object], rng: random.Random) -> dict[str, str]:
    """One call in each dialect added for issue 17."""
    a = json.dumps(args)
    call = json.dumps({"name": name, "arguments": args})
    text_args = {k: (json.dumps(v) if not isinstance(v, str) else v) for k, v in args.items()}
    kw = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return {
        "functionary_v32": f">>>{name}\n{a}",
        "glm45": f"<tool_call>{name}\n" + "".join(
            f"<arg_key>{k}</arg_key>\n<arg_value>{v}</arg_value>\n"
            for k, v in text_args.items()) + "</tool_call>",
        "kimi_k2": "<|tool_calls_section_begin|><|tool_call_begin|>functions."
                   f"{name}:0<|tool_call_argument_begin|>{a}<|tool_call_end|>"
                   "<|tool_calls_section_end|>",
        "harmony": "<|channel|>analysis<|message|>The user needs the tool.<|end|><|start|>"
                   f"assistant<|channel|>commentary to=functions.{name} <|constrain|>json"
                   f"<|message|>{a}<|call|>",
        "command_r7b": '<|START_ACTION|>[{"tool_call_id": "0", "tool_name": '
                       f'"{name}", "parameters": {a}}}]<|END_ACTION|>',
        "phi4_mini": f"functools[{call}]",
        "jamba": f"<tool_calls>[{call}]</tool_calls>",
        "internlm2": "<|action_start|><|plugin|>\n"
                     + json.dumps({"name": name, "parameters": args}) + "<|action_end|>",
        "minimax_m2": f'<minimax:tool_call>\n<invoke name="{name}">\n' + "".join(
            f'<parameter name="{k}">{v}</parameter>\n' for k, v in text_args.items())
            + "</invoke>\n</minimax:tool_call>",
        "seed_oss": f"<seed:tool_call>\n<function={name}>\n" + "".join(
            f"<parameter={k}>{v}</parameter>\n" for k, v in text_args.items())
            + "</function>\n</seed:tool_call>",
        "pythonic": f"I will call it now. [{name}({kw})]",
    }


def build_dialect_corpus(dialect: str, size: int) -> tuple[str, int]:
    rng = random.Random(99)
    parts: list[str] = []
    total = calls = 0
    while total < size:
        name, args = rng.choice(_call_payloads(rng))
        piece = rng.choice(PROSE_SAMPLES) + _new_dialects(name, args, rng)[dialect] + "\n\n"
        parts.append(piece)
        total += len(piece)
        calls += 1
    return "".join(parts), calls


NEW_DIALECTS = ("functionary_v32", "glm45", "kimi_k2", "harmony", "command_r7b", "phi4_mini",
                "jamba", "internlm2", "minimax_m2", "seed_oss", "pythonic")

LEADS = ["Let me check that.", "I'll look it up.", "Sure — calling the tool now.",
         "<think>The user wants data; I need the tool.</think>", "Okay.", ""]


def build_corpora(size: int) -> tuple[str, str, list[str], list[str]]:
    rng = random.Random(1234)
    prose_parts: list[str] = []
    total = 0
    while total < size:
        p = rng.choice(PROSE_SAMPLES)
        prose_parts.append(p)
        total += len(p)
    prose = "".join(prose_parts)

    tool_parts: list[str] = []
    payloads: list[str] = []
    total = 0
    while total < size:
        name, args = rng.choice(_call_payloads(rng))
        piece = rng.choice(LEADS) + "\n" + _dialects(name, args, rng) + "\n\n"
        payloads.append(json.dumps({"name": name, "arguments": args}))
        tool_parts.append(piece)
        total += len(piece)
    tools = "".join(tool_parts)
    broken = [_break(p, rng) for p in payloads]
    return prose, tools, payloads, broken


def _break(payload: str, rng: random.Random) -> str:
    """The same payload as small models get it wrong."""
    k = rng.randrange(5)
    if k == 0:
        return payload.replace('"', "'")
    if k == 1:
        return payload[:-2] + ",}}"
    if k == 2:
        return payload.replace("true", "True").replace("false", "False")
    if k == 3:
        return payload[: max(10, len(payload) * 2 // 3)]
    return payload.replace('"name"', "name").replace('"arguments"', "arguments")


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def stream(text: str, size: int, previews: bool = False) -> object:
    p = StreamParser(previews=previews)
    feed = p.feed
    if size == 1:
        for ch in text:
            feed(ch)
    else:
        for i in range(0, len(text), size):
            feed(text[i:i + size])
    return p.finish()


def ours_loads(items: list[str]) -> int:
    ok = 0
    for s in items:
        try:
            repair_loads(s)
            ok += 1
        except RepairError:
            pass
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="~200 KB corpora, fewer repeats")
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = ap.parse_args()
    size = 200_000 if args.quick else 1_000_000
    rep_whole = 3 if args.quick else 7
    rep_stream = 3 if args.quick else 5

    prose, tools, payloads, broken = build_corpora(size)
    results: dict[str, object] = {"corpus_bytes": {"prose": len(prose.encode()),
                                                   "tool_calls": len(tools.encode())}}
    print(f"corpora: prose {len(prose) / 1e6:.2f} M chars, tool-call-heavy {len(tools) / 1e6:.2f} "
          f"M chars ({len(payloads)} calls); medians of {rep_whole} (whole) / {rep_stream} "
          "(streaming) runs\n")

    rows = []
    for label, text in (("prose", prose), ("tool_calls", tools)):
        whole_res = parse_response(text)
        # Interleave the runs so that load from elsewhere on the machine hits both sides alike;
        # the ratio is the median of per-pair ratios.
        whole, one, four = [], [], []
        parse_response(text)  # warm-up
        for k in range(max(rep_whole, rep_stream)):
            whole.append(median_time(lambda t=text: parse_response(t), 1))
            if k < rep_stream:
                one.append(median_time(lambda t=text: stream(t, 1), 1))
                four.append(median_time(lambda t=text: stream(t, 4), 1))
        t_whole = statistics.median(whole)
        t_1 = statistics.median(one)
        r1 = statistics.median(o / w for o, w in zip(one, whole, strict=False))
        r4 = statistics.median(f / w for f, w in zip(four, whole, strict=False))
        same = all(stream(text, k).to_dict() == whole_res.to_dict() for k in (1, 4, 997))
        mb = len(text.encode()) / 1e6
        rows.append((label, mb / t_whole, t_whole, t_1, r1, r4, len(whole_res.tool_calls), same))
        results[label] = {"whole_s": t_whole, "mb_per_s": mb / t_whole, "stream1_s": t_1,
                          "ratio_1byte": r1, "ratio_4byte": r4,
                          "calls": len(whole_res.tool_calls), "splits_equal_whole": same}

    print(f"{'corpus':<11} {'MB/s':>7} {'whole s':>8} {'1-byte s':>9} {'1B/whole':>9} "
          f"{'4B/whole':>9} {'calls':>6}  splits==whole")
    for label, mbs, tw, t1, r1, r4, calls, same in rows:
        flag = "ok" if r1 <= 3.0 else "OVER 3x"
        print(f"{label:<11} {mbs:>7.2f} {tw:>8.3f} {t1:>9.3f} {r1:>8.2f}x {r4:>8.2f}x "
              f"{calls:>6}  {same}   (1-byte target <= 3x: {flag})")
    expected = len(payloads)
    print(f"\n(tool-call corpus holds {expected} calls; parsed {rows[1][6]})")

    # Previews: 1-byte chunks with call_delta previews on, against the whole-text parse and
    # against 1-byte chunks without previews, interleaved on the tool-call corpus.
    pv_whole, pv_one, pv_plain = [], [], []
    for _ in range(rep_stream):
        pv_whole.append(median_time(lambda: parse_response(tools), 1))
        pv_one.append(median_time(lambda: stream(tools, 1, previews=True), 1))
        pv_plain.append(median_time(lambda: stream(tools, 1), 1))
    r_pv = statistics.median(o / w for o, w in zip(pv_one, pv_whole, strict=True))
    r_pv_plain = statistics.median(o / p for o, p in zip(pv_one, pv_plain, strict=True))
    p = StreamParser(previews=True)
    n_previews = sum(1 for ch in tools for e in p.feed(ch) if e.kind == "call_delta")
    same = p.finish().to_dict() == parse_response(tools).to_dict()
    flag = "ok" if r_pv <= 3.0 else "OVER 3x"
    print(f"\npreviews on the tool-call corpus: {n_previews} call_delta events; 1-byte chunks "
          f"with previews {r_pv:.2f}x the whole-text parse (target <= 3x: {flag}), "
          f"{r_pv_plain:.2f}x 1-byte chunks without previews; result equal: {same}")
    results["previews"] = {"call_deltas": n_previews, "ratio_vs_whole": r_pv,
                           "ratio_vs_plain_1byte": r_pv_plain, "result_equal": same}

    dsize = size // 5
    print(f"\nnew dialects, one corpus each (~{dsize // 1000} KB of prose and calls):")
    print(f"{'dialect':<16} {'MB/s':>7} {'calls':>6} {'read':>6}  1B/whole")
    per: dict[str, object] = {}
    for dialect in NEW_DIALECTS:
        text, expected_calls = build_dialect_corpus(dialect, dsize)
        res = parse_response(text)
        t_whole = median_time(lambda t=text: parse_response(t), rep_whole)
        t_one = median_time(lambda t=text: stream(t, 1), max(1, rep_stream // 2))
        mb = len(text.encode()) / 1e6
        got = len(res.tool_calls)
        print(f"{dialect:<16} {mb / t_whole:>7.2f} {expected_calls:>6} {got:>6}  "
              f"{t_one / t_whole:>6.2f}x")
        per[dialect] = {"mb_per_s": mb / t_whole, "calls": expected_calls, "read": got,
                        "ratio_1byte": t_one / t_whole}
    results["new_dialects"] = per

    try:
        import json_repair
    except ImportError:  # pragma: no cover
        print("\njson_repair not installed: baseline skipped")
        json_repair = None
    if json_repair is not None:
        print(f"\nbaseline: the corpus's {len(payloads)} call payloads, parsed one by one")
        print(f"{'payloads':<10} {'ours s':>8} {'json_repair s':>14} {'ours/theirs':>12} "
              f"{'ours MB/s':>10}")
        base: dict[str, object] = {}
        for label, items in (("valid", payloads), ("malformed", broken)):
            mb = sum(len(s.encode()) for s in items) / 1e6
            t_ours = median_time(lambda it=items: ours_loads(it), rep_whole)
            t_theirs = median_time(lambda it=items: [json_repair.loads(s) for s in it],
                                   rep_stream if not args.quick else 1)
            print(f"{label:<10} {t_ours:>8.3f} {t_theirs:>14.3f} {t_ours / t_theirs:>11.2f}x "
                  f"{mb / t_ours:>10.2f}")
            base[label] = {"ours_s": t_ours, "json_repair_s": t_theirs,
                           "ratio": t_ours / t_theirs}
        results["json_repair_baseline"] = base
        # Quality on the malformed payloads: how often each gets the original value back.
        ours_ok = theirs_ok = 0
        for good, bad in zip(payloads, broken, strict=True):
            truth = json.loads(good)
            with contextlib.suppress(RepairError):
                ours_ok += repair_loads(bad)[0] == truth
            theirs_ok += json_repair.loads(bad) == truth
        print(f"malformed payloads decoded back to the original value: ours {ours_ok}/"
              f"{len(broken)}, json_repair {theirs_ok}/{len(broken)} (the rest were truncated "
              "or had quotes inside strings changed, so no reader can restore them)")
        results["original_recovered"] = {"ours": ours_ok, "json_repair": theirs_ok,
                                         "of": len(broken)}
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
