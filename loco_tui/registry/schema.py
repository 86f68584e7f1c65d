"""The registry schema: providers, models, tools, roles, personas, ensembles, routing,
workflows.

Declared once here, validated at the edge (``registry.load``), typed everywhere else.
Every model forbids unknown keys so a typo is an error with a line number, not a silent
default. Cross-references (a role naming a missing model, ...) are checked by
``Registry.reference_errors`` so each dangling name can be reported at its own key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

Size = Literal["XS", "S", "M", "L", "XL"]
Identifier = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimeoutsConfig(_Strict):
    connect_s: float = Field(5.0, gt=0)
    first_token_s: float = Field(120.0, gt=0)
    idle_s: float = Field(30.0, gt=0)
    # The whole call, however busy the stream looks (a server sending only empty chunks).
    total_s: float = Field(600.0, gt=0)


# Calls a provider runs at once; the rest wait in Loco's queue, announced as
# `member_queued`. None: no limit (the server schedules as it likes; see config/loco.toml).
MaxParallel = Annotated[int | None, Field(ge=1)]


class OllamaProviderConfig(_Strict):
    kind: Literal["ollama"]
    host: str | None = None  # None: $OLLAMA_HOST, else http://127.0.0.1:11434
    keep_alive: str | int | None = None
    max_parallel: MaxParallel = None
    timeouts: TimeoutsConfig = TimeoutsConfig()

    def resolved_host(self) -> str:
        return self.host or os.environ.get("OLLAMA_HOST") or "http://127.0.0.1:11434"


class OpenAIProviderConfig(_Strict):
    kind: Literal["openai"]
    base_url: str
    # The name of an environment variable; the key itself never lives in the registry.
    api_key_env: str | None = None
    max_parallel: MaxParallel = None
    timeouts: TimeoutsConfig = TimeoutsConfig()


class EmbeddedProviderConfig(_Strict):
    kind: Literal["embedded"]
    n_ctx: int = Field(2048, ge=256)
    # One thread per concurrent call measured fastest on 2 cores (34 tok/s vs 22 with 2).
    n_threads: int = Field(1, ge=1)
    # Prompt tokens evaluated per step. Larger is faster (64 -> 512 doubled prompt speed on one
    # thread here); smaller lets a cancel or timeout stop a long prompt sooner.
    n_batch: int = Field(256, ge=8)
    max_parallel: MaxParallel = None
    timeouts: TimeoutsConfig = TimeoutsConfig()


ProviderConfig = Annotated[
    OllamaProviderConfig | OpenAIProviderConfig | EmbeddedProviderConfig,
    Field(discriminator="kind"),
]


class ModelConfig(_Strict):
    provider: Identifier
    model: Identifier  # the name the server knows (or a .gguf path for embedded)
    size: Size = "M"
    strengths: list[str] = []
    options: dict[str, Any] = {}
    system: str | None = None  # a system prompt always sent to this model
    # Context budget in tokens for the conversation sent to this model; None: what the
    # server reports for the model, else 4096. The oldest turns are dropped to fit.
    context: int | None = Field(None, ge=256)
    # How tools reach this model: "auto" asks the server whether the model takes them
    # natively (Ollama's capabilities; an OpenAI-compatible server is tried, and a refusal
    # describes them in the prompt instead), "native" always sends them in the request,
    # "prompt" always describes them in the system prompt.
    tool_calling: Literal["auto", "native", "prompt"] = "auto"


# What model servers accept as a function name (OpenAI: ^[a-zA-Z0-9_-]{1,64}$; dots are
# common in local models' names and every parser here reads them).
_TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
_JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "object", "array", "null"})


def _check_schema(schema: Mapping[str, Any], where: str = "") -> None:
    """Raise ValueError for what no server or checker could use: an unknown type, a
    required name that is not a property, properties that are not tables. ``where`` is the
    path inside the parameters (``properties.city``), for the message."""
    at = f"{where}: " if where else ""
    inner = f"{where}." if where else ""
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else [declared] if declared else []
    for t in types:
        if t not in _JSON_TYPES:
            raise ValueError(f"{at}unknown JSON Schema type {t!r} "
                             f"(expected one of {', '.join(sorted(_JSON_TYPES))})")
    props = schema.get("properties")
    if props is not None:
        if not isinstance(props, Mapping):
            raise ValueError(f"{inner}properties must be a table")
        for name, sub in props.items():
            if not isinstance(sub, Mapping):
                raise ValueError(f"{inner}properties.{name} must be a table (a JSON Schema)")
            _check_schema(sub, f"{inner}properties.{name}")
    required = schema.get("required")
    if required is not None:
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise ValueError(f"{inner}required must be an array of property names")
        missing = [r for r in required if not isinstance(props, Mapping) or r not in props]
        if missing:
            raise ValueError(f"{inner}required names {', '.join(map(repr, missing))}, "
                             "which is not among the properties")
    items = schema.get("items")
    if isinstance(items, Mapping):
        _check_schema(items, f"{inner}items")
    enum = schema.get("enum")
    if enum is not None and (not isinstance(enum, list) or not enum):
        raise ValueError(f"{inner}enum must be a non-empty array")


class ToolConfig(_Strict):
    """A tool offered to models: what it does and the JSON Schema of its parameters.
    Loco shows and checks the calls models make; it never runs them."""

    description: str = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object",
                                                                "properties": {}})

    @field_validator("parameters")
    @classmethod
    def _object_schema(cls, parameters: dict[str, Any]) -> dict[str, Any]:
        if parameters.get("type", "object") != "object":
            raise ValueError("the parameters of a tool are an object: type = \"object\"")
        _check_schema(parameters)
        return {"type": "object", **parameters}


ToolNames = list[Annotated[str, Field(min_length=1)]]


class PersonaConfig(_Strict):
    system: str
    temperature: float | None = None
    # Tools offered to every member with this persona (names of [tools] entries).
    tools: ToolNames = []


class EnsembleMemberConfig(_Strict):
    model: str | None = None
    role: str | None = None
    persona: str | None = None
    # With `provider`, `model` is the name that provider's server knows (a model offered by
    # the server but not defined under [models], as the model picker saves them); its id is
    # then "<provider>/<model>".
    provider: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> EnsembleMemberConfig:
        if (self.model is None) == (self.role is None):
            raise ValueError("a member names exactly one of `model` or `role`")
        if self.provider is not None and self.model is None:
            raise ValueError("a member with a `provider` names the server's `model`")
        return self

    @property
    def model_id(self) -> str | None:
        """The registry id of the member's model (None for a role member)."""
        if self.model is None:
            return None
        return inline_model_id(self.provider, self.model) if self.provider else self.model


def inline_model_id(provider: str, model: str) -> str:
    """The id of a model named inline by provider and server name: ``local/qwen2.5:7b``."""
    return f"{provider}/{model}"


class EnsembleConfig(_Strict):
    members: list[EnsembleMemberConfig] = Field(min_length=1)
    judge: str | None = "judge"  # a role; None (`judge = false` in TOML) runs without a judge
    mode: Literal["parallel", "sequential"] = "parallel"
    verdict: Literal["pick", "synthesize", "pick_or_synthesize"] = "pick_or_synthesize"
    # What each member sees of the conversation: "shared", the thread of prompts and
    # answers; "own", also its own earlier proposals as its assistant turns.
    thread: Literal["shared", "own"] = "shared"
    # Run the judge a second time with the proposals in reverse order; a different pick is
    # recorded as a position inconsistency of the judge's model and lowers the confidence.
    debias: StrictBool = False
    # Hide model names and personas (and the judge's pick) in the UI until the person votes.
    blind: StrictBool = False
    # Tools offered to every member (names of [tools] entries), besides their persona's.
    tools: ToolNames = []

    @field_validator("judge", mode="before")
    @classmethod
    def _no_judge(cls, judge: Any) -> Any:
        # TOML has no null: `judge = false` (or "") is how a file says "no judge".
        return None if judge is False or judge == "" else judge


def _valid_pattern(pattern: str) -> str:
    if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
        try:
            re.compile(pattern[1:-1])
        except re.error as exc:
            raise ValueError(f"bad regex {pattern}: {exc}") from None
    elif not pattern.strip():
        raise ValueError("an empty keyword matches nothing")
    return pattern


class RoutingRule(_Strict):
    # Keywords, or /regex/; validated one by one so an error names the bad pattern's index.
    when: list[Annotated[str, AfterValidator(_valid_pattern)]] = Field(min_length=1)
    role: str


class RoutingConfig(_Strict):
    strategy: Literal["rules", "model", "hybrid"] = "rules"
    default_role: str | None = None
    rules: list[RoutingRule] = []


class PhaseConfig(_Strict):
    name: Identifier
    type: Literal["ensemble", "routed", "single"]
    ensemble: str | None = None
    role: str | None = None
    context: Literal["fresh", "distilled", "scoped", "full"] = "fresh"


class WorkflowConfig(_Strict):
    phases: list[PhaseConfig] = Field(min_length=1)


class Registry(_Strict):
    providers: dict[str, ProviderConfig] = {}
    models: dict[str, ModelConfig] = {}
    tools: dict[str, ToolConfig] = {}
    roles: dict[str, list[str]] = {}
    # Role -> the tools offered to whoever serves it (a routed prompt, a single phase, an
    # ensemble member named by role).
    role_tools: dict[str, ToolNames] = {}
    personas: dict[str, PersonaConfig] = {}
    ensembles: dict[str, EnsembleConfig] = {}
    routing: RoutingConfig = RoutingConfig()
    workflows: dict[str, WorkflowConfig] = {}

    @field_validator("roles", mode="before")
    @classmethod
    def _chains(cls, roles: Any) -> Any:
        # `coder = "qwen"` is shorthand for a one-model chain.
        if isinstance(roles, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in roles.items()}
        return roles

    def reference_errors(
        self, also_known: Mapping[str, Collection[str]] | None = None
    ) -> list[tuple[tuple[str | int, ...], str]]:
        """Every dangling name, as (key path, message). Empty when the registry is whole.

        ``also_known`` maps a kind ("provider", "model", "role", "persona", "ensemble") to
        names that exist but were left out because they failed validation themselves
        (the loader reports those separately, and a reference to them is not dangling).
        """
        errors: list[tuple[tuple[str | int, ...], str]] = []
        extra = also_known or {}

        def need(
            kind: str, table: dict[str, Any], name: str | None, loc: tuple[str | int, ...]
        ) -> None:
            others = extra.get(kind, ())
            if name is not None and name not in table and name not in others:
                known = ", ".join(sorted({*table, *others})) or "none defined"
                errors.append((loc, f"unknown {kind} '{name}' (known: {known})"))

        for mid, model in self.models.items():
            need("provider", self.providers, model.provider, ("models", mid, "provider"))
        for role, chain in self.roles.items():
            if not chain:
                errors.append((("roles", role), "a role needs at least one model"))
            for i, mid in enumerate(chain):
                need("model", self.models, mid, ("roles", role, i))
        for name in self.tools:
            if not _TOOL_NAME.match(name):
                errors.append((("tools", name), f"tool name {name!r}: letters, digits, _ . - "
                               "only, starting with a letter or _, at most 64 characters"))
        for pid, persona in self.personas.items():
            for i, tool in enumerate(persona.tools):
                need("tool", self.tools, tool, ("personas", pid, "tools", i))
        for role, tools in self.role_tools.items():
            need("role", self.roles, role, ("role_tools", role))
            for i, tool in enumerate(tools):
                need("tool", self.tools, tool, ("role_tools", role, i))
        for eid, ens in self.ensembles.items():
            for i, tool in enumerate(ens.tools):
                need("tool", self.tools, tool, ("ensembles", eid, "tools", i))
            for i, member in enumerate(ens.members):
                loc = ("ensembles", eid, "members", i)
                if member.provider is not None:
                    need("provider", self.providers, member.provider, (*loc, "provider"))
                else:
                    need("model", self.models, member.model, (*loc, "model"))
                need("role", self.roles, member.role, (*loc, "role"))
                need("persona", self.personas, member.persona, (*loc, "persona"))
            need("role", self.roles, ens.judge, ("ensembles", eid, "judge"))
        need("role", self.roles, self.routing.default_role, ("routing", "default_role"))
        if (
            self.routing.strategy in ("model", "hybrid")
            and "orchestrator" not in self.roles
            and "orchestrator" not in extra.get("role", ())
        ):
                errors.append(
                    (
                        ("routing", "strategy"),
                        f"strategy '{self.routing.strategy}' asks the 'orchestrator' role to "
                        "route, but [roles] defines no orchestrator",
                    )
                )
        for i, rule in enumerate(self.routing.rules):
            need("role", self.roles, rule.role, ("routing", "rules", i, "role"))
        for wid, flow in self.workflows.items():
            for i, phase in enumerate(flow.phases):
                loc = ("workflows", wid, "phases", i)
                if phase.type == "ensemble":
                    if phase.ensemble is None:
                        errors.append((loc, "an ensemble phase names an `ensemble`"))
                    need("ensemble", self.ensembles, phase.ensemble, (*loc, "ensemble"))
                if phase.type == "single":
                    if phase.role is None:
                        errors.append((loc, "a single phase names a `role`"))
                    need("role", self.roles, phase.role, (*loc, "role"))
        return errors

    def model_of(self, model_id: str) -> ModelConfig:
        """The configuration of ``model_id``: a [models] entry, or a model named inline by
        an ensemble member (``<provider>/<server model>``). KeyError when it is neither."""
        found = self.models.get(model_id)
        if found is not None:
            return found
        provider, sep, name = model_id.partition("/")
        if sep and name and provider in self.providers:
            return ModelConfig(provider=provider, model=name)
        raise KeyError(model_id)

    def chain(self, role: str) -> list[str]:
        """The fallback chain of model ids for a role (KeyError if the role is unknown)."""
        return self.roles[role]

    def tools_for(
        self, *, role: str | None = None, persona: str | None = None,
        ensemble: EnsembleConfig | None = None,
    ) -> list[str]:
        """The names of the tools offered to a member: its ensemble's, then its persona's,
        then its role's, each once, in that order (names the registry lacks left out)."""
        names: list[str] = []
        if ensemble is not None:
            names += ensemble.tools
        if persona is not None and persona in self.personas:
            names += self.personas[persona].tools
        if role is not None:
            names += self.role_tools.get(role, [])
        return [n for n in dict.fromkeys(names) if n in self.tools]
