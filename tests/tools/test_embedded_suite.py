"""The tool-calling comparison on the real embedded SmolLM2-135M (no mocks): the suite's tools
are described in its system prompt, it answers every case, and each answer is scored. What a
135M model does with tools is not asserted: it mostly answers in prose instead of calling."""

from __future__ import annotations

from pathlib import Path

import pytest

from loco_tui.registry import default_registry
from loco_tui.tool_suite import Target, load_suite, run_suite

pytestmark = pytest.mark.embedded

BASIC = Path(__file__).resolve().parents[2] / "config" / "tools" / "basic.toml"


async def test_the_embedded_model_answers_every_case_and_is_scored() -> None:
    suite = load_suite(BASIC)
    two = suite.model_copy(update={"cases": [suite.cases[0], suite.cases[-1]]})
    report = await run_suite(default_registry(), two, Target("role", ("coder",)))
    assert report.status == {"read-file": "ok", "no-tool": "ok"}
    assert [(r.case, r.member, r.model, r.answered) for r in report.results] == [
        ("read-file", "coder", "smol", True), ("no-tool", "coder", "smol", True)]
    for result in report.results:
        assert result.reply.strip()
        # Scored consistently: a wrong answer says why; a right call says its dialect.
        if not result.right_tool:
            assert result.problems and not result.passed
        elif result.expected_tool is not None:
            assert result.dialect is not None
