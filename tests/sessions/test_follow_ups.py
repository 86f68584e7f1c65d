"""Conversations that go on: each follow-up turn sends every member and the judge exactly
the thread DESIGN.md prescribes (as the fake server received it), for shared and own
threads; a person's choice of pane changes what the next turn sees; trimming keeps a tiny
context budget."""

from __future__ import annotations

import json

import pytest

from loco_tui.testing.script import Reply
from tests.common import ENSEMBLE, loco, trio_script, write_config

MODELS = {"alpha:7b": "m1", "beta:3b": "m2", "gamma:1b": "m3"}
SKEPTIC = "You look for what could go wrong."


def run_json(config, prompt: str, *extra: str) -> list[dict]:
    result = loco("run", prompt, "--ensemble", "trio", "--config", str(config), "--json",
                  "--seed", "3", *extra)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def requests_since(server, start: int) -> list[dict]:
    return server.bodies("/api/chat")[start:]


def by_model(requests: list[dict], model: str) -> list[dict]:
    return [r for r in requests if r["model"] == model]


def proposals(events: list[dict]) -> dict[str, str]:
    return {e["member"]: e["text"] for e in events
            if e["type"] == "member_finished" and e["member"] != "judge"}


@pytest.mark.parametrize("thread", ["shared", "own"])
def test_three_turns_send_each_member_and_the_judge_the_prescribed_thread(
    ollama_server, tmp_path, thread
):
    server = ollama_server(trio_script())
    config = write_config(tmp_path, server.url, ENSEMBLE + f'thread = "{thread}"\n')
    turns: list[tuple[str, list[dict]]] = []
    for i, prompt in enumerate(["dedupe a list", "make it shorter", "now in Go"]):
        start = len(server.bodies("/api/chat"))
        events = run_json(config, prompt, *(["-c"] if i else []))
        finished = events[-1]
        assert finished["type"] == "run_finished" and finished["status"] == "ok"
        assert events[0]["turn"] == i
        sent = requests_since(server, start)
        earlier = turns[:]
        for model, member in MODELS.items():
            (request,) = by_model(sent, model)
            expected = [{"role": "system", "content": SKEPTIC}] if member == "m1" else []
            for (old_prompt, old_events) in earlier:
                answer = old_events[-1]["answer"]
                if thread == "own":
                    answer = proposals(old_events)[member]
                expected += [{"role": "user", "content": old_prompt},
                             {"role": "assistant", "content": answer}]
            expected.append({"role": "user", "content": prompt})
            assert request["messages"] == expected, (thread, i, member)
        (judge,) = by_model(sent, "arbiter:14b")
        history = []
        for old_prompt, old_events in earlier:
            history += [{"role": "user", "content": old_prompt},
                        {"role": "assistant", "content": old_events[-1]["answer"]}]
        assert judge["messages"][0]["role"] == "system"
        assert judge["messages"][1:-1] == history
        assert f"Task:\n{prompt}" in judge["messages"][-1]["content"]
        turns.append((prompt, events))
    # The same session throughout, and each answer is the judge's pick.
    assert len({events[0]["session"] for _, events in turns}) == 1
    for _, events in turns:
        verdict = next(e for e in events if e["type"] == "verdict")
        assert events[-1]["answer_from"] == verdict["winner"]
        assert events[-1]["answer"] == proposals(events)[verdict["winner"]]


async def test_choosing_another_pane_changes_what_the_next_turn_sees(ollama_server, tmp_path):
    from loco_tui.store import Store

    server = ollama_server(trio_script())
    config = write_config(tmp_path, server.url, ENSEMBLE)
    first = run_json(config, "dedupe a list")
    picked = first[-1]["answer_from"]
    other = next(m for m in ("m1", "m2", "m3") if m != picked)
    async with await Store.open() as store:
        await store.record_human_verdict(first[0]["run_id"], other)
    start = len(server.bodies("/api/chat"))
    run_json(config, "make it shorter", "-c")
    (beta,) = by_model(requests_since(server, start), "beta:3b")
    assert beta["messages"][1] == {"role": "assistant", "content": proposals(first)[other]}


def test_a_failed_turn_is_left_out_of_the_thread(ollama_server, tmp_path):
    from loco_tui.testing.script import Fault

    broken = Reply(fault=Fault.MODEL_MISSING)
    server = ollama_server(trio_script(alpha=broken, beta=broken, gamma=broken))
    config = write_config(tmp_path, server.url, ENSEMBLE)
    result = loco("run", "lost question", "--ensemble", "trio", "--config", str(config),
                  "--json")
    assert result.returncode == 1
    for model in ("alpha:7b", "beta:3b", "gamma:1b"):
        server.script.replies[model] = Reply.text("Fine now.")
    start = len(server.bodies("/api/chat"))
    run_json(config, "second try", "-c")
    (alpha,) = by_model(requests_since(server, start), "alpha:7b")
    contents = [m["content"] for m in alpha["messages"]]
    assert "lost question" not in contents and contents[-1] == "second try"


def test_a_tiny_context_keeps_its_budget_by_dropping_the_oldest_turns(ollama_server, tmp_path):
    long_answer = "word " * 300  # ~375 tokens by the estimate
    server = ollama_server(trio_script(alpha=Reply.text(long_answer)))
    tiny = ENSEMBLE.replace('[models.alpha]\nprovider = "local"\nmodel = "alpha:7b"\n',
                            '[models.alpha]\nprovider = "local"\nmodel = "alpha:7b"\n'
                            "context = 1024\n")
    config = write_config(tmp_path, server.url, tiny.replace(
        'coder = ["alpha", "beta"]', 'coder = ["alpha"]'))
    for i in range(5):
        result = loco("run", f"question {i} " + "pad " * 40, "--role", "coder",
                      "--config", str(config), "--json", *(["-c"] if i else []))
        assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    trimmed = next(e for e in events if e["type"] == "thread_trimmed")
    assert trimmed["budget_tokens"] == 1024 and trimmed["dropped"] >= 1
    assert trimmed["kept"] + trimmed["dropped"] == 4
    last = server.bodies("/api/chat")[-1]
    sent = sum(len(m["content"]) // 4 + 1 + 4 for m in last["messages"])
    assert sent <= 1024 - 1024 // 4  # a quarter of the budget stays free for the answer
    assert last["messages"][-1]["content"].startswith("question 4")
    kept_prompts = [m["content"] for m in last["messages"] if m["role"] == "user"][:-1]
    assert kept_prompts == [f"question {i} " + "pad " * 40
                            for i in range(4 - trimmed["kept"], 4)]  # the newest kept
