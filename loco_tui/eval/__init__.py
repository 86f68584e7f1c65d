"""`loco eval`: does the ensemble beat one model on your own tasks? Core, no textual.

Modules, one job each: ``suite`` (TOML suites -> ``Suite``, errors with ``file:line``),
``checkers`` (is an answer right), ``strategies`` (``single:coder``, ``ensemble:default:pick``
... -> run requests), ``grading`` (one run's events -> a graded ``CaseResult``), ``runner``
(cases x strategies x repeats through the controller, progress, stop), ``stats`` (Wilson,
McNemar, Jaccard), ``metrics`` (the figures), ``report`` (Markdown and JSON), ``stored`` (a
past eval read back from the store).

    suite = load_suite("config/eval/arithmetic.toml")          # SuiteError: file:line lines
    runner = EvalRunner(controller, suite, parse_strategies("single:coder,ensemble:default"))
    result = await runner.run()                                 # runner.stop() ends it early
    summary = summarise(result)
    print(markdown_report(summary))
"""

from loco_tui.eval.checkers import Check, Grade
from loco_tui.eval.metrics import (
    EnsembleMetrics,
    EvalSummary,
    PairedComparison,
    Rate,
    StrategySummary,
    summarise,
)
from loco_tui.eval.report import json_report, json_text, markdown_report
from loco_tui.eval.results import CaseResult, EvalResult, MemberGrade, VerdictNote
from loco_tui.eval.runner import EvalRunner, Progress, StrategyProgress, prompt_of
from loco_tui.eval.stored import load_eval
from loco_tui.eval.strategies import (
    Strategy,
    default_strategies,
    parse_strategies,
    parse_strategy,
)
from loco_tui.eval.suite import Case, Suite, SuiteError, load_suite, load_suite_text

__all__ = [
    "Case",
    "CaseResult",
    "Check",
    "EnsembleMetrics",
    "EvalResult",
    "EvalRunner",
    "EvalSummary",
    "Grade",
    "MemberGrade",
    "PairedComparison",
    "Progress",
    "Rate",
    "Strategy",
    "StrategyProgress",
    "StrategySummary",
    "Suite",
    "SuiteError",
    "VerdictNote",
    "default_strategies",
    "json_report",
    "json_text",
    "load_eval",
    "load_suite",
    "load_suite_text",
    "markdown_report",
    "parse_strategies",
    "parse_strategy",
    "prompt_of",
    "summarise",
]
