"""Response kinds: tool_call, code, plan, verdict, refusal, prose, empty."""

from __future__ import annotations

import pytest

from loco_tui.parser import ResponseKind, classify_response

K = ResponseKind
CASES = [
    ("tool-call", '<tool_call>{"name": "f", "arguments": {}}</tool_call>', K.TOOL_CALL),
    ("fenced-python",
     "Here you go:\n```python\ndef add(a, b):\n    return a + b\n\nprint(add(2, 3))\n```", K.CODE),
    ("unfenced-code",
     "import os\nfrom pathlib import Path\n\ndef main():\n    p = Path('.')\n    return p\n",
     K.CODE),
    ("numbered-plan",
     "Plan:\n1. Reproduce the bug.\n2. Write a failing test.\n3. Fix it.\n4. Run the suite.",
     K.PLAN),
    ("plan-with-code-sample",
     "An approach:\n\n1. Reproduce it with a failing test.\n2. Fix the edge case.\n"
     "3. Run the suite.\n\n```python\ndef first(items):\n    return items[0] if items else None"
     "\n```\n\nThis keeps the change small and safe to review.", K.PLAN),
    ("step-plan", "Step 1: read the config\nStep 2: validate it\nStep 3: apply it", K.PLAN),
    ("bulleted-steps",
     "Next steps:\n- set up the database\n- run migrations\n- seed test data", K.PLAN),
    ("verdict-line", "A is fine, B is better.\nWinner: B", K.VERDICT),
    ("verdict-json", 'Both work.\n{"winner": "A", "mode": "pick", "confidence": 0.7}', K.VERDICT),
    ("verdict-brackets", "My final verdict is [[C]].", K.VERDICT),
    ("refusal", "I'm sorry, but I can't help with that request.", K.REFUSAL),
    ("refusal-2", "I cannot assist with creating malware.", K.REFUSAL),
    ("not-refusal-long-help",
     "I can't run code here, but here is how you would do it. " + "Explain the steps. " * 60,
     K.PROSE),
    ("prose", "Paris is the capital of France. It sits on the Seine.", K.PROSE),
    ("prose-with-small-snippet",
     "Use the `--force` flag only when you are sure. It overwrites the remote branch and other "
     "people's work can be lost, so talk to your team first and prefer --force-with-lease, "
     "which refuses to overwrite commits you have not seen.", K.PROSE),
    ("empty", "", K.EMPTY),
    ("only-think", "<think>hmm</think>", K.EMPTY),
    ("bullets-of-facts", "Facts:\n- Paris is big\n- Berlin is cold", K.PROSE),
]


@pytest.mark.parametrize(("text", "kind"), [pytest.param(t, k, id=i) for i, t, k in CASES])
def test_classify(text: str, kind: ResponseKind) -> None:
    assert classify_response(text) is kind


def test_response_kind_values() -> None:
    assert {k.value for k in ResponseKind} == {
        "tool_call", "code", "plan", "verdict", "refusal", "prose", "empty"}
    assert ResponseKind("plan") is ResponseKind.PLAN
