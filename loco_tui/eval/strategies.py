"""Strategies: the ways of answering a case that an eval compares, written as short specs.

    single:ROLE                         one role (its fallback chain), e.g. single:coder
    auto                                the router picks the role, as `loco run` does
    ensemble:NAME                       an ensemble with the verdict mode its registry gives
    ensemble:NAME:pick                  ... its judge made to pick one proposal
    ensemble:NAME:synthesize            ... or to write a synthesis (also pick_or_synthesize)
    ensemble:NAME+debias                ... judged twice, the second time in reverse order
    workflow:NAME                       a workflow; the answer is its last phase's output

A strategy becomes a ``RunRequest``: an override of the verdict mode or of ``debias`` runs
the registry's ensemble as an ad-hoc copy under its own name, so the stored run still says
which ensemble it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from loco_tui.orchestrator import RunRequest
from loco_tui.registry.schema import EnsembleConfig, Registry

Kind = Literal["single", "auto", "ensemble", "workflow"]
VerdictMode = Literal["pick", "synthesize", "pick_or_synthesize"]
_VERDICTS: tuple[VerdictMode, ...] = ("pick", "synthesize", "pick_or_synthesize")
DEBIAS = "+debias"

USAGE = ("single:ROLE, auto, ensemble:NAME[:pick|:synthesize|:pick_or_synthesize][+debias], "
         "workflow:NAME")


@dataclass(frozen=True, slots=True)
class Strategy:
    kind: Kind
    target: str | None = None
    verdict: VerdictMode | None = None
    debias: bool = False

    @property
    def label(self) -> str:
        """The spec, written the one canonical way (reports and the store use it)."""
        if self.kind == "auto":
            return "auto"
        text = f"{self.kind}:{self.target}"
        if self.verdict is not None:
            text += f":{self.verdict}"
        return text + (DEBIAS if self.debias else "")

    def __str__(self) -> str:
        return self.label


def parse_strategy(text: str) -> Strategy:
    """Read one spec (see the module docstring); ValueError says what is wrong with it."""
    spec = text.strip()
    debias = spec.endswith(DEBIAS)
    if debias:
        spec = spec[: -len(DEBIAS)]
    if spec == "auto" and not debias:
        return Strategy("auto")
    kind, _, rest = spec.partition(":")
    parts = rest.split(":") if rest else []
    if kind not in ("single", "ensemble", "workflow") or not parts or not parts[0]:
        raise ValueError(f"cannot read the strategy {text!r} (expected {USAGE})")
    if debias and kind != "ensemble":
        raise ValueError(f"{text!r}: only an ensemble's judge can be debiased")
    if kind != "ensemble":
        if len(parts) != 1:
            raise ValueError(f"cannot read the strategy {text!r} (expected {kind}:NAME)")
        return Strategy("single" if kind == "single" else "workflow", parts[0])
    if len(parts) > 2:
        raise ValueError(f"cannot read the strategy {text!r} (expected ensemble:NAME"
                         "[:VERDICT][+debias])")
    verdict: VerdictMode | None = None
    if len(parts) == 2:
        if parts[1] not in _VERDICTS:
            raise ValueError(f"{text!r}: unknown verdict mode '{parts[1]}' (expected "
                             f"{', '.join(_VERDICTS)})")
        verdict = next(v for v in _VERDICTS if v == parts[1])
    return Strategy("ensemble", parts[0], verdict, debias)


def parse_strategies(text: str) -> list[Strategy]:
    """A comma-separated list of specs, each once, in order."""
    out: list[Strategy] = []
    for piece in text.split(","):
        if piece.strip():
            strategy = parse_strategy(piece)
            if strategy not in out:
                out.append(strategy)
    if not out:
        raise ValueError(f"no strategy given (expected {USAGE})")
    return out


def problem_with(strategy: Strategy, registry: Registry) -> str | None:
    """Why ``strategy`` cannot run on ``registry`` (a name it lacks), or None."""
    if strategy.kind == "auto":
        return None if registry.roles else "the registry defines no roles to route to"
    names: dict[Kind, tuple[str, list[str]]] = {
        "single": ("role", list(registry.roles)),
        "ensemble": ("ensemble", list(registry.ensembles)),
        "workflow": ("workflow", list(registry.workflows)),
    }
    what, known = names[strategy.kind]
    if strategy.target not in known:
        listed = ", ".join(sorted(known)) or "none"
        return f"{strategy.label}: unknown {what} '{strategy.target}' (known: {listed})"
    overridden = strategy.verdict is not None or strategy.debias
    if overridden and registry.ensembles[strategy.target].judge is None:
        return f"{strategy.label}: ensemble '{strategy.target}' has no judge"
    return None


def default_strategies(registry: Registry) -> list[Strategy]:
    """One model against the ensemble, when neither the command nor the suite says: the
    default role, and the registry's first ensemble (``default`` when there is one)."""
    out: list[Strategy] = []
    role = registry.routing.default_role or next(
        (r for r in registry.roles if r not in ("orchestrator", "judge")), None)
    if role is not None:
        out.append(Strategy("single", role))
    ensembles = sorted(registry.ensembles, key=lambda name: (name != "default", name))
    if ensembles:
        out.append(Strategy("ensemble", ensembles[0]))
    return out


def ensemble_config(strategy: Strategy, registry: Registry) -> EnsembleConfig | None:
    """The ensemble a strategy runs with its overrides applied (None: not an ensemble)."""
    if strategy.kind != "ensemble" or strategy.target is None:
        return None
    config = registry.ensembles[strategy.target]
    changes: dict[str, object] = {}
    if strategy.verdict is not None:
        changes["verdict"] = strategy.verdict
    if strategy.debias:
        changes["debias"] = True
    return config.model_copy(update=changes) if changes else config


def verdict_mode(strategy: Strategy, registry: Registry) -> VerdictMode | None:
    """The verdict mode an ensemble strategy runs with (its override, else the registry's)."""
    config = ensemble_config(strategy, registry)
    return None if config is None else config.verdict


def request_for(strategy: Strategy, registry: Registry, prompt: str, *,
                session: str | None = None) -> RunRequest:
    """The run that answers ``prompt`` with ``strategy`` (a one-off turn of ``session``:
    no thread, so no case ever sees another's answer)."""
    if strategy.kind == "auto":
        return RunRequest(prompt, session=session)
    if strategy.kind == "single":
        return RunRequest(prompt, role=strategy.target, session=session)
    if strategy.kind == "workflow":
        return RunRequest(prompt, workflow=strategy.target, session=session)
    overridden = strategy.verdict is not None or strategy.debias
    return RunRequest(prompt, ensemble=strategy.target, session=session,
                      ensemble_config=ensemble_config(strategy, registry) if overridden
                      else None)
