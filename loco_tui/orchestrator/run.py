"""A whole run: a routed or named role, an ensemble and its judge, or a workflow of phases.

Everything a run does is announced as events through its RunContext; the return value is
only the final status. Failures of members are values (``member_failed``), never exceptions:
the run goes on with what survives and says so in its status (ok, partial, failed). The
run's answer (what a follow-up turn sees) and who wrote it close the run in ``run_finished``.

A request may carry a session's earlier turns: every member, the judge and every workflow
phase then sees that thread before its prompt (see ``thread.py`` and ``loco_tui.sessions``).

Members are offered the tools the registry attaches to their ensemble, persona and role
(``tools.py``). When tools were offered, the judge is told, under each proposal, which calls
the server parsed and how every call fared against its schema: facts, in one line each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from loco_tui.events import (
    PhaseFinished,
    PhaseStarted,
    Route,
    RunFinished,
    RunStarted,
    Verdict,
)
from loco_tui.orchestrator.context import RunContext
from loco_tui.orchestrator.judging import judge_ensemble
from loco_tui.orchestrator.member import MemberOutcome, MemberSpec, stream_member
from loco_tui.orchestrator.router import (
    RouteChoice,
    default_role,
    role_from_answer,
    route_by_rules,
    routing_prompt,
)
from loco_tui.orchestrator.thread import Conversation, exchanges
from loco_tui.orchestrator.tools import ToolSet, checks_note, native_calls_text
from loco_tui.providers.base import ChatMessage, ProviderError
from loco_tui.providers.pool import ModelTarget, ProviderPool
from loco_tui.registry.schema import EnsembleConfig, PhaseConfig, Registry
from loco_tui.sessions import Turn

Status = Literal["ok", "partial", "failed", "cancelled"]


@dataclass(frozen=True)
class RunRequest:
    prompt: str
    role: str | None = None
    ensemble: str | None = None
    workflow: str | None = None
    # The session this run is a turn of, its index, and the earlier turns (oldest first).
    session: str | None = None
    turn: int | None = None
    thread: tuple[Turn, ...] = ()
    # An ensemble the registry does not hold (the model picker's throwaway comparison): run
    # under the name ``ensemble`` (default "picked"). See registry.picked_ensemble.
    ensemble_config: EnsembleConfig | None = None
    # Compare blind whatever the ensemble says (the workbench's blind toggle).
    blind: bool = False

    @property
    def mode(self) -> Literal["role", "ensemble", "workflow"]:
        if self.workflow:
            return "workflow"
        if self.ensemble or self.ensemble_config is not None:
            return "ensemble"
        return "role"

    @property
    def target(self) -> str:
        if self.ensemble_config is not None and not self.ensemble:
            return "picked"
        return self.workflow or self.ensemble or self.role or "auto"


@dataclass
class StepResult:
    status: Status
    output: str = ""
    # Who wrote ``output``: a member id, the judge member for a synthesis.
    source: str | None = None


class RunError(Exception):
    """The request itself is wrong (unknown role, ensemble or workflow)."""


class Orchestrator:
    def __init__(self, pool: ProviderPool) -> None:
        self.pool = pool

    @property
    def registry(self) -> Registry:
        """The pool's current registry (hot-reloaded)."""
        return self.pool.registry

    async def _budget(self, target: ModelTarget) -> int:
        return await self.pool.context_budget(target)

    def validate(self, request: RunRequest) -> None:
        """Raise RunError for a request naming something the registry lacks."""
        reg = self.registry
        adhoc = request.ensemble_config
        for name, table, kind in (
            (request.role, reg.roles, "role"),
            (None if adhoc is not None else request.ensemble, reg.ensembles, "ensemble"),
            (request.workflow, reg.workflows, "workflow"),
        ):
            if name is not None and name not in table:
                known = ", ".join(sorted(table)) or "none"
                raise RunError(f"unknown {kind} '{name}' (known: {known})")
        if adhoc is not None:
            probe = reg.model_copy(update={"ensembles": {request.target: adhoc}})
            problems = [message for loc, message in probe.reference_errors()
                        if loc[:1] == ("ensembles",)]
            if problems:
                raise RunError(f"the picked ensemble: {'; '.join(problems)}")
        if request.mode == "role" and request.role is None and default_role(reg) is None:
            raise RunError("the registry defines no roles")

    def _blind(self, request: RunRequest) -> bool:
        """Whether the run's ensemble (or an ensemble phase of its workflow) is blind."""
        reg = self.registry
        if request.blind:
            return True
        if request.ensemble_config is not None:
            return request.ensemble_config.blind
        if request.ensemble:
            found = reg.ensembles.get(request.ensemble)
            return found is not None and found.blind
        if request.workflow and request.workflow in reg.workflows:
            return any(p.ensemble in reg.ensembles and reg.ensembles[p.ensemble].blind
                       for p in reg.workflows[request.workflow].phases if p.ensemble)
        return False

    async def run(self, request: RunRequest, ctx: RunContext) -> Status:
        """Run to the end and emit ``run_finished``; cancellation is reported, then re-raised."""
        ctx.emit(RunStarted, prompt=request.prompt, mode=request.mode, target=request.target,
                 session=request.session, turn=request.turn, blind=self._blind(request))
        thread = request.thread
        try:
            self.validate(request)
            if request.workflow:
                result = await self._workflow(ctx, request.prompt, request.workflow, thread)
            elif request.mode == "ensemble":
                ens = request.ensemble_config or self.registry.ensembles[request.target]
                result = await self._ensemble(ctx, request.prompt, ens, thread)
            else:
                result = await self._routed(ctx, request.prompt, request.role, thread)
        except asyncio.CancelledError as exc:
            # The canceller may say why (a signal, closed output); else it was the user.
            why = exc.args[0] if exc.args and isinstance(exc.args[0], str) else None
            ctx.emit(RunFinished, status="cancelled", message=why or "cancelled by the user")
            raise
        except RunError as exc:
            ctx.emit(RunFinished, status="failed", message=str(exc))
            return "failed"
        answered = result.status in ("ok", "partial") and result.source is not None
        ctx.emit(
            RunFinished, status=result.status,
            answer=result.output if answered else None,
            answer_from=result.source if answered else None,
        )
        return result.status

    # -- routed / single role ------------------------------------------------------------
    async def _routed(
        self,
        ctx: RunContext,
        prompt: str,
        role: str | None,
        thread: Sequence[Turn] = (),
        member: str | None = None,
    ) -> StepResult:
        if role is None:
            choice = await self.choose_role(prompt)
        else:
            choice = RouteChoice(role, "role requested")
        chain = self.pool.chain(choice.role)
        ctx.emit(
            Route, role=choice.role, model=chain[0].model_id, reason=choice.reason,
            member=member or choice.role,
        )
        outcome = await stream_member(
            ctx,
            MemberSpec(
                member=member or choice.role,
                chain=chain,
                conversation=Conversation(prompt, history=exchanges(thread)),
                role=choice.role,
                tools=ToolSet.from_registry(self.registry,
                                            self.registry.tools_for(role=choice.role)),
            ),
            budget=self._budget,
        )
        if not outcome.ok:
            return StepResult("failed")
        return StepResult("ok", outcome.text, outcome.member)

    async def choose_role(self, prompt: str) -> RouteChoice:
        reg = self.registry
        strategy = reg.routing.strategy
        if strategy in ("rules", "hybrid"):
            choice = route_by_rules(prompt, reg)
            if choice is not None:
                return choice
        if strategy in ("model", "hybrid") and "orchestrator" in reg.roles:
            choice = await self._ask_orchestrator(prompt)
            if choice is not None:
                return choice
        role = default_role(reg)
        assert role is not None  # validate() guarantees a role exists
        return RouteChoice(role, "default role (no rule matched)")

    async def _ask_orchestrator(self, prompt: str) -> RouteChoice | None:
        """Ask the orchestrator role's model for a role; None when it cannot say."""
        roles = [r for r in self.registry.roles if r not in ("orchestrator", "judge")]
        messages: list[ChatMessage] = [
            {"role": "user", "content": routing_prompt(prompt, self.registry)}
        ]
        for target in self.pool.chain("orchestrator"):
            answer: list[str] = []
            try:
                async for chunk in target.provider.stream_chat(
                    target.server_model, messages, options={"temperature": 0, "num_predict": 16}
                ):
                    answer.append(chunk.text)
            except ProviderError:
                continue
            role = role_from_answer("".join(answer), roles)
            if role is not None:
                return RouteChoice(role, f"orchestrator model {target.model_id} chose it")
            return None
        return None

    # -- ensemble + judge ----------------------------------------------------------------
    async def _ensemble(
        self,
        ctx: RunContext,
        prompt: str,
        ens: EnsembleConfig,
        thread: Sequence[Turn] = (),
        prefix: str = "",
    ) -> StepResult:
        specs = self._member_specs(ens, prompt, prefix, thread)
        if ens.mode == "parallel":
            # A task group, not gather: cancelled, it waits for every member to report its
            # cancellation before the run reports its own (a queued member stops at once,
            # one mid-stream only once its connection is closed).
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(stream_member(ctx, s, budget=self._budget))
                         for s in specs]
            outcomes = [task.result() for task in tasks]
        else:
            outcomes = []
            for spec in specs:
                spec.conversation.prompt = _with_earlier(spec.conversation.prompt, outcomes)
                outcomes.append(await stream_member(ctx, spec, budget=self._budget))
        survivors = [o for o in outcomes if o.ok]
        complete = len(survivors) == len(outcomes)
        if not survivors:
            return StepResult("failed")
        if ens.judge is None:
            first = survivors[0]
            return StepResult("ok" if complete else "partial", first.text, first.member)
        if len(survivors) == 1:
            only = survivors[0]
            ctx.emit(
                Verdict, winner=only.member, label=None, mode="pick", confidence=None,
                reason=f"only {only.member} produced a proposal; nothing to judge",
                parsed_by="single_survivor",
            )
            return StepResult("partial", only.text, only.member)
        assert ens.judge is not None
        judged = await judge_ensemble(ctx, self.pool.chain(ens.judge), ens, prompt,
                                      _with_native_calls(survivors), self._budget, prefix,
                                      exchanges(thread), notes=_tool_checks(survivors))
        status: Status = "partial" if judged.fallback or not complete else "ok"
        # A picked proposal is the member's own text, without the judge's notes.
        own = next((o.text for o in survivors if o.member == judged.answer_from), judged.answer)
        return StepResult(status, own, judged.answer_from)

    def _member_specs(
        self, ens: EnsembleConfig, prompt: str, prefix: str, thread: Sequence[Turn]
    ) -> list[MemberSpec]:
        reg = self.registry
        specs = []
        for i, member in enumerate(ens.members, start=1):
            if member.model_id:
                chain = [self.pool.target(member.model_id)]
            else:
                assert member.role is not None  # the schema requires a model or a role
                chain = self.pool.chain(member.role, spread=i - 1)
            member_id = f"{prefix}m{i}"
            system: list[str] = []
            options: dict[str, object] = {}
            if member.persona:
                persona = reg.personas[member.persona]
                system.append(persona.system)
                if persona.temperature is not None:
                    options["temperature"] = persona.temperature
            history = exchanges(thread, ens.thread, member_id)
            specs.append(
                MemberSpec(
                    member=member_id, chain=chain,
                    conversation=Conversation(prompt, system, history),
                    persona=member.persona, role=member.role, options=options,
                    tools=ToolSet.from_registry(reg, reg.tools_for(
                        role=member.role, persona=member.persona, ensemble=ens)),
                )
            )
        return specs

    # -- workflows -----------------------------------------------------------------------
    async def _workflow(
        self, ctx: RunContext, prompt: str, workflow_id: str, thread: Sequence[Turn] = ()
    ) -> StepResult:
        flow = self.registry.workflows[workflow_id]
        outputs: list[tuple[str, str]] = []
        worst: Status = "ok"
        last: StepResult | None = None
        for phase in flow.phases:
            ctx.emit(PhaseStarted, phase=phase.name, phase_type=phase.type)
            phase_prompt = phase_context(prompt, phase, outputs)
            prefix = f"{phase.name}/"
            if phase.type == "ensemble":
                assert phase.ensemble is not None
                result = await self._ensemble(ctx, phase_prompt,
                                              self.registry.ensembles[phase.ensemble], thread,
                                              prefix)
            else:
                role = phase.role if phase.type == "single" else None
                result = await self._routed(
                    ctx, phase_prompt, role, thread, member=f"{prefix}{role or 'routed'}")
            ctx.emit(PhaseFinished, phase=phase.name, status=result.status)
            if result.status == "failed":
                if last is None:
                    return StepResult("failed")
                return StepResult("partial", last.output, last.source)
            if result.status == "partial":
                worst = "partial"
            outputs.append((phase.name, result.output))
            last = result
        if last is None:
            return StepResult(worst)
        return StepResult(worst, last.output, last.source)


def _with_native_calls(outcomes: list[MemberOutcome]) -> list[MemberOutcome]:
    """The proposals as the judge sees them: each followed by the calls its server parsed
    (a model's native calls are not in its text)."""
    return [replace(o, text=f"{o.text.rstrip()}\n\n{native_calls_text(o.native_calls)}")
            if o.native_calls else o for o in outcomes]


def _tool_checks(outcomes: list[MemberOutcome]) -> dict[str, str]:
    """Where tools were offered, Loco's check of each proposal's calls (shown to the judge
    outside the proposals' fences)."""
    return {o.member: checks_note(o.checks, o.text) for o in outcomes
            if o.tools_via is not None}


def _with_earlier(prompt: str, earlier: list[MemberOutcome]) -> str:
    """Sequential ensembles: later members see earlier proposals (under neutral names)."""
    done = [o for o in earlier if o.ok]
    if not done:
        return prompt
    shown = "\n\n".join(f"Earlier proposal {i}:\n{o.text}" for i, o in enumerate(done, 1))
    return f"{prompt}\n\n{shown}\n\nImprove on the earlier proposals."


# Distilled context keeps a phase's input small: local models degrade fast as context grows.
DISTILLED_CHARS = 2000


def phase_context(prompt: str, phase: PhaseConfig, outputs: list[tuple[str, str]]) -> str:
    """The prompt a workflow phase sees, by its context strategy."""
    if phase.context == "fresh" or not outputs:
        return prompt
    if phase.context == "full":
        done = "\n\n".join(f"## {name}\n{text}" for name, text in outputs)
        return f"{prompt}\n\nWork so far:\n{done}"
    name, text = outputs[-1]
    if phase.context == "distilled":
        if len(text) > DISTILLED_CHARS:
            text = text[:DISTILLED_CHARS] + "\n[...]"
        return f"{prompt}\n\nOutcome of the {name} phase:\n{text}"
    # scoped: only what the previous phase produced, framed as this phase's job.
    return f"Task for the {phase.name} phase, based on the {name} phase's output below.\n\n{text}"
