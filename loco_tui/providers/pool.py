"""Role -> fallback chain -> model -> provider, and the health of every provider.

The pool owns one provider instance per registry provider (two Ollama hosts are simply two
providers). It is rebuilt in place when the registry reloads: providers whose configuration
did not change are kept, so open connections and loaded embedded models survive a reload.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

from loco_tui.providers.base import Health, Provider, ProviderError, Timeouts
from loco_tui.providers.slots import CallSlots
from loco_tui.registry.schema import ModelConfig, ProviderConfig, Registry, TimeoutsConfig


@dataclass(frozen=True, slots=True)
class ModelTarget:
    """One registry model, ready to call."""

    model_id: str  # registry id, e.g. "qwen-coder"
    config: ModelConfig
    provider_id: str
    provider: Provider
    # The provider's call slots (its `max_parallel`): every call to it waits for one.
    slots: CallSlots | None = None

    @property
    def server_model(self) -> str:
        """The name the server knows (or the .gguf path for the embedded provider)."""
        return self.config.model


def timeouts_of(config: TimeoutsConfig) -> Timeouts:
    return Timeouts(
        connect=config.connect_s,
        first_token=config.first_token_s,
        idle=config.idle_s,
        total=config.total_s,
    )


def make_provider(provider_id: str, config: ProviderConfig) -> Provider:
    """Build the provider for one registry entry. Imports are lazy: each client library
    costs start-up time that `loco --help` must not pay."""
    timeouts = timeouts_of(config.timeouts)
    if config.kind == "ollama":
        from loco_tui.providers.ollama import OllamaProvider

        return OllamaProvider(
            provider_id, config.resolved_host(), timeouts=timeouts, keep_alive=config.keep_alive
        )
    if config.kind == "openai":
        from loco_tui.providers.openai import OpenAIProvider

        key = os.environ.get(config.api_key_env) if config.api_key_env else None
        return OpenAIProvider(
            provider_id,
            config.base_url,
            api_key=key,
            api_key_env=config.api_key_env,
            timeouts=timeouts,
        )
    from loco_tui.providers.embedded import EmbeddedProvider

    return EmbeddedProvider(
        provider_id,
        n_ctx=config.n_ctx,
        n_threads=config.n_threads,
        n_batch=config.n_batch,
        timeouts=timeouts,
    )


# When neither the registry nor the server says how much context a model has.
DEFAULT_CONTEXT_TOKENS = 4096
# A server slow to say its context size must not delay a member's start for long.
_CONTEXT_QUERY_S = 2.0


class ProviderPool:
    def __init__(self, registry: Registry, factory: Any = make_provider) -> None:
        self._factory = factory
        self._registry = registry
        self._providers: dict[str, Provider] = {}
        self._configs: dict[str, ProviderConfig] = {}
        # Per provider id; kept across reloads (a waiting call keeps its place in line).
        self._slots: dict[str, CallSlots] = {}
        self.health: dict[str, Health] = {}
        self._context: dict[tuple[str, str], int | None] = {}

    @property
    def registry(self) -> Registry:
        return self._registry

    def provider(self, provider_id: str) -> Provider:
        provider = self._providers.get(provider_id)
        if provider is None:
            config = self._registry.providers[provider_id]
            provider = self._factory(provider_id, config)
            self._providers[provider_id] = provider
            self._configs[provider_id] = config
        return provider

    def slots(self, provider_id: str) -> CallSlots:
        """The call slots of a provider (its registry `max_parallel`; None: no limit)."""
        found = self._slots.get(provider_id)
        if found is None:
            found = self._slots[provider_id] = CallSlots(
                self._registry.providers[provider_id].max_parallel)
        return found

    def target(self, model_id: str) -> ModelTarget:
        """A registry model, or one named inline by an ensemble member
        (``<provider>/<server model>``). KeyError when it is neither."""
        config = self._registry.model_of(model_id)
        return ModelTarget(model_id, config, config.provider, self.provider(config.provider),
                           self.slots(config.provider))

    def chain(self, role: str, spread: int = 0) -> list[ModelTarget]:
        """The role's fallback chain, in order. KeyError for an unknown role.

        ``spread`` rotates replicas: when the chain starts with the same server model on
        several providers (two Ollama hosts serving one model), the n-th caller starts on the
        n-th replica, so members of one ensemble spread over the hosts instead of queueing
        on the first. The other replicas stay in the chain as fallbacks.
        """
        targets = [self.target(model_id) for model_id in self._registry.chain(role)]
        if not spread or not targets:
            return targets
        first = targets[0].server_model
        replicas: list[ModelTarget] = []
        for target in targets:
            if target.server_model != first or target.provider_id in {
                r.provider_id for r in replicas
            }:
                break
            replicas.append(target)
        k = spread % len(replicas)
        return replicas[k:] + replicas[:k] + targets[len(replicas):]

    async def context_budget(self, target: ModelTarget) -> int:
        """Tokens of context to fit a conversation into for ``target``: the registry's
        ``context``, else its ``num_ctx`` option, else what the server reports (asked once
        per model and remembered), else ``DEFAULT_CONTEXT_TOKENS``."""
        if target.config.context:
            return target.config.context
        num_ctx = target.config.options.get("num_ctx")
        if isinstance(num_ctx, int) and num_ctx > 0:
            return num_ctx
        key = (target.provider_id, target.server_model)
        if key not in self._context:
            window = getattr(target.provider, "context_window", None)
            reported: int | None = None
            if window is not None:
                try:
                    async with asyncio.timeout(_CONTEXT_QUERY_S):
                        reported = await window(target.server_model)
                except (TimeoutError, ProviderError):
                    reported = None
            self._context[key] = reported if isinstance(reported, int) else None
        return self._context[key] or DEFAULT_CONTEXT_TOKENS

    async def update(self, registry: Registry) -> None:
        """Swap in a reloaded registry, closing providers that were removed or changed.
        A changed ``max_parallel`` alone keeps the provider (and its loaded models)."""
        stale = [
            pid
            for pid, config in self._configs.items()
            if not _same_connection(registry.providers.get(pid), config)
        ]
        self._registry = registry
        for pid, slots in list(self._slots.items()):
            new = registry.providers.get(pid)
            if new is None:
                del self._slots[pid]
            else:
                slots.resize(new.max_parallel)
        for pid in list(self._configs):
            if pid not in stale:
                self._configs[pid] = registry.providers[pid]
        for pid in stale:
            provider = self._providers.pop(pid)
            self._configs.pop(pid)
            self.health.pop(pid, None)
            self._context = {k: v for k, v in self._context.items() if k[0] != pid}
            await provider.aclose()

    async def check_health(self) -> dict[str, Health]:
        """Ask every provider at once; a slow host delays only its own answer."""
        ids = list(self._registry.providers)
        results = await asyncio.gather(
            *(self.provider(pid).health() for pid in ids), return_exceptions=True
        )
        for pid, result in zip(ids, results, strict=True):
            if isinstance(result, BaseException):
                result = Health(up=False, detail=f"health check failed: {result}")
            self.health[pid] = result
        return dict(self.health)

    def model_up(self, model_id: str) -> bool | None:
        """Whether the model's provider answered its last health check (None: not asked)."""
        model = self._registry.models.get(model_id)
        if model is None:
            return False
        health = self.health.get(model.provider)
        return None if health is None else health.up

    async def aclose(self) -> None:
        providers = list(self._providers.values())
        self._providers.clear()
        self._configs.clear()
        await asyncio.gather(*(p.aclose() for p in providers), return_exceptions=True)


def _same_connection(new: ProviderConfig | None, old: ProviderConfig) -> bool:
    """Whether ``new`` reaches the same server the same way as ``old`` (only the call limit
    may differ: that is the pool's business, not the provider's)."""
    if new is None or new.kind != old.kind:
        return False
    return new.model_dump(exclude={"max_parallel"}) == old.model_dump(exclude={"max_parallel"})
