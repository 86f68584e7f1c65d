"""Choose the role for a prompt, and say why.

``rules`` matches the registry's keyword or /regex/ rules in order; ``model`` asks the
orchestrator role's model to name a role; ``hybrid`` tries the rules first and asks the
model only when no rule matched. Whatever happens, the answer names a role the registry
has, and the reason says which path chose it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from loco_tui.registry.schema import Registry, RoutingRule


@dataclass(frozen=True)
class RouteChoice:
    role: str
    reason: str


@lru_cache(maxsize=256)
def _matcher(pattern: str) -> re.Pattern[str]:
    if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
        return re.compile(pattern[1:-1], re.IGNORECASE)
    return re.compile(rf"(?<!\w){re.escape(pattern)}(?!\w)", re.IGNORECASE)


def match_rule(prompt: str, rules: list[RoutingRule]) -> tuple[RoutingRule, str] | None:
    for rule in rules:
        for pattern in rule.when:
            if _matcher(pattern).search(prompt):
                return rule, pattern
    return None


def default_role(registry: Registry) -> str | None:
    if registry.routing.default_role:
        return registry.routing.default_role
    return next(iter(registry.roles), None)


def route_by_rules(prompt: str, registry: Registry) -> RouteChoice | None:
    hit = match_rule(prompt, registry.routing.rules)
    if hit is not None:
        rule, pattern = hit
        return RouteChoice(rule.role, f"rule matched {pattern!r}")
    return None


def role_from_answer(answer: str, roles: list[str]) -> str | None:
    """Read a role name out of the orchestrator model's answer (first whole-word mention)."""
    best: tuple[int, str] | None = None
    for role in roles:
        found = re.search(rf"(?<![\w-]){re.escape(role)}(?![\w-])", answer, re.IGNORECASE)
        if found and (best is None or found.start() < best[0]):
            best = (found.start(), role)
    return None if best is None else best[1]


def routing_prompt(prompt: str, registry: Registry) -> str:
    roles = [r for r in registry.roles if r not in ("orchestrator", "judge")] or list(
        registry.roles
    )
    lines = []
    for role in roles:
        chain = registry.roles[role]
        strengths = registry.models[chain[0]].strengths if chain else []
        lines.append(f"- {role}" + (f" (good at: {', '.join(strengths)})" if strengths else ""))
    return (
        "Pick the one role best suited to handle the request below. Roles:\n"
        + "\n".join(lines)
        + f"\n\nRequest:\n{prompt}\n\nAnswer with the role name only."
    )
