"""Test support for evals: a registry over the fake Ollama server, scripted members whose
right and wrong answers are known case by case, a judge that reads the brief, and an eval
run through a real Controller (recorded in a real store when one is given)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from loco_tui.controller import Controller
from loco_tui.eval import EvalResult, EvalRunner, Progress, load_suite_text, parse_strategies
from loco_tui.registry import Registry, load_registry_text
from loco_tui.store import Store
from loco_tui.testing.script import Reply, Script

TIMEOUTS = "connect_s = 2\nfirst_token_s = 10\nidle_s = 5\n"

REGISTRY = """
[models.solo]
provider = "local"
model = "solo"
[models.alpha]
provider = "local"
model = "alpha"
[models.beta]
provider = "local"
model = "beta"
[models.gamma]
provider = "local"
model = "gamma"
[models.arbiter]
provider = "local"
model = "arbiter"
[personas.optimist]
system = "Be direct."
[roles]
coder = "solo"
judge = "arbiter"
[ensembles.trio]
members = [{ model = "alpha", persona = "optimist" }, { model = "beta" }, { model = "gamma" }]
judge = "judge"
verdict = "pick"
[workflows.two-step]
phases = [
  { name = "draft", type = "single", role = "coder" },
  { name = "final", type = "single", role = "coder", context = "scoped" },
]
"""

# Four questions, each answered right with 42 (the checker is `number`, expected 42).
SUITE = """
[suite]
name = "answers"

[[cases]]
id = "q1"
prompt = "Question one?"
check = { type = "number", expected = 42 }

[[cases]]
id = "q2"
prompt = "Question two?"
check = { type = "number", expected = 42 }

[[cases]]
id = "q3"
prompt = "Question three?"
check = { type = "number", expected = 42 }

[[cases]]
id = "q4"
prompt = "Question four?"
check = { type = "number", expected = 42 }
"""

# Which members answer each question right (everyone else answers 41).
RIGHT_BY_CASE: dict[str, set[str]] = {
    "one": {"alpha", "solo"},
    "two": {"beta", "gamma", "solo"},
    "three": set(),
    "four": {"alpha", "beta", "solo"},
}
_QUESTION = re.compile(r"Question (\w+)\?")
_PROPOSAL = re.compile(r'label="([A-Z])">\n(.*?)\n</proposal', re.DOTALL)


def registry_for(url: str, body: str = REGISTRY) -> Registry:
    return load_registry_text(
        f'[providers.local]\nkind = "ollama"\nhost = "{url}"\n[providers.local.timeouts]\n'
        + TIMEOUTS + body, "eval-test.toml")


def question(messages: list[dict[str, Any]]) -> str:
    found = _QUESTION.search(str(messages[-1]["content"]))
    assert found is not None, messages[-1]["content"]
    return found.group(1)


def member(name: str, right: dict[str, set[str]] = RIGHT_BY_CASE,
           **reply: Any) -> Callable[[str, list[dict[str, Any]]], Reply]:
    """A model that answers 42 to the questions ``right`` says it gets right, else 41."""

    def answer(model: str, messages: list[dict[str, Any]]) -> Reply:
        number = 42 if name in right[question(messages)] else 41
        return Reply.text(f"{name.capitalize()} thinks it is {number}.", **reply)

    return answer


def labels_in(brief: str) -> dict[str, str]:
    """Label -> proposal text, as the judge's brief shows them."""
    return {label: text for label, text in _PROPOSAL.findall(brief)}


def judge_picking(choose: Callable[[str, dict[str, str]], str]) -> Callable[..., Reply]:
    """A judge answering under the verdict schema with the label ``choose(question,
    proposals)`` names."""

    def verdict(model: str, messages: list[dict[str, Any]]) -> Reply:
        brief = str(messages[-1]["content"])
        label = choose(question(messages), labels_in(brief))
        return Reply.text("x", constrained=Reply.verdict(label))

    return verdict


def picks_a_right_one_except_on_two(case: str, proposals: dict[str, str]) -> str:
    """Picks a proposal saying 42; on question two it picks Alpha's (41) instead."""
    if case == "two":
        return next(label for label, text in proposals.items() if text.startswith("Alpha"))
    right = [label for label, text in proposals.items() if "42" in text]
    return right[0] if right else next(iter(proposals))


def always_a(case: str, proposals: dict[str, str]) -> str:
    return "A"


def script(judge: Callable[..., Reply], **members: Callable[..., Reply] | Reply) -> Script:
    out = Script()
    for name in ("solo", "alpha", "beta", "gamma"):
        out.add(name, members.get(name, member(name)))
    out.add("arbiter", judge)
    return out


async def run_eval(registry: Registry, strategies: str, *, suite: str = SUITE,
                   store: Store | None = None, repeat: int = 1,
                   on_progress: Callable[[EvalRunner, Progress], None] | None = None,
                   seed: int = 0) -> tuple[EvalResult, EvalRunner]:
    """Run ``suite`` through ``strategies`` with a real Controller."""
    controller = Controller(registry, store=store)
    runner = EvalRunner(controller, load_suite_text(suite, "suite.toml"),
                        parse_strategies(strategies), repeat=repeat, seed=seed)
    if on_progress is not None:
        runner.on_progress = lambda progress: on_progress(runner, progress)
    try:
        result = await runner.run()
    finally:
        await controller.aclose()
    return result, runner


def outcomes(result: EvalResult, strategy: str) -> list[str]:
    return [r.outcome for r in result.of(strategy)]


def by_strategy(items: Sequence[Any]) -> dict[str, Any]:
    return {item.strategy: item for item in items}
