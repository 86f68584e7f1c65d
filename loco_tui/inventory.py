"""What is out there: `loco models` (providers, models, roles, reachability) and `loco init`
(write a registry from what the reachable servers offer)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loco_tui.providers.base import Health, ModelInfo
from loco_tui.providers.pool import ProviderPool
from loco_tui.registry.schema import Registry

# -- loco models ---------------------------------------------------------------------------


async def gather_inventory(registry: Registry) -> dict[str, Any]:
    pool = ProviderPool(registry)
    try:
        health = await pool.check_health()
        served: dict[str, list[ModelInfo]] = {}
        for pid, h in health.items():
            served[pid] = h.models
            if h.up and not h.models:
                try:
                    served[pid] = await pool.provider(pid).list_models()
                except Exception:  # noqa: BLE001 - reachable but cannot list: report health
                    served[pid] = []
    finally:
        await pool.aclose()
    providers = {}
    for pid, cfg in registry.providers.items():
        h = health.get(pid, Health(up=False, detail="not checked"))
        providers[pid] = {
            "kind": cfg.kind,
            "address": _address(cfg),
            "up": h.up,
            "latency_ms": None if h.latency_s is None else round(h.latency_s * 1000, 1),
            "version": h.version,
            "detail": h.detail,
            "models": [m.name for m in served.get(pid, [])],
        }
    models = {}
    for mid, m in registry.models.items():
        listing = {info.name: info for info in served.get(m.provider, [])}
        info = listing.get(m.model)
        up = providers.get(m.provider, {}).get("up", False)
        models[mid] = {
            "provider": m.provider,
            "model": m.model,
            "size": m.size,
            "strengths": m.strengths,
            # Embedded models are files, not server listings: available when the engine is.
            "available": bool(up and (info is not None or registry.providers[m.provider].kind
                                      == "embedded" or not listing)),
            "loaded": bool(info and info.loaded),
            "parameter_size": info.parameter_size if info else None,
        }
    return {"providers": providers, "models": models, "roles": dict(registry.roles)}


def _address(cfg: Any) -> str:
    """Where a provider is, as it may be shown: never the ``user:pass@`` of its URL."""
    from loco_tui.providers.credentials import shown_url

    if cfg.kind == "ollama":
        return shown_url(cfg.resolved_host())
    if cfg.kind == "openai":
        return shown_url(cfg.base_url)
    return "in-process"


def credential_warnings(registry: Registry) -> list[str]:
    """One warning per provider that would send credentials over plain http:// to another
    machine (an API key, or a password in its URL)."""
    from loco_tui.providers.credentials import insecure_key_warning

    warnings = []
    for pid, cfg in registry.providers.items():
        if cfg.kind == "openai":
            has_key = bool(cfg.api_key_env and os.environ.get(cfg.api_key_env))
            warning = insecure_key_warning(cfg.base_url, has_key=has_key, provider=pid)
        elif cfg.kind == "ollama":
            has_key = bool(os.environ.get("OLLAMA_API_KEY"))
            warning = insecure_key_warning(cfg.resolved_host(), has_key=has_key, provider=pid)
        else:
            warning = None
        if warning:
            warnings.append(warning)
    return warnings


def _cell(text: Any, style: str = "") -> Any:
    """A table cell from untrusted text: neutralised, never parsed as markup."""
    from rich.text import Text

    from loco_tui.safe_text import neutralise_line

    return Text(neutralise_line(str(text)), style=style)


def print_inventory(registry: Registry, *, as_json: bool = False) -> None:
    for warning in credential_warnings(registry):
        print(f"warning: {warning}", file=sys.stderr)
    data = asyncio.run(gather_inventory(registry))
    if as_json:
        print(json.dumps(data, indent=2))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    providers = Table(title="Providers", title_justify="left")
    for col in ("id", "kind", "address", "status", "models served"):
        providers.add_column(col)
    for pid, p in data["providers"].items():
        if p["up"]:
            latency = f" {p['latency_ms']:.0f}ms" if p["latency_ms"] is not None else ""
            status = Text.assemble(("up", "green"), latency)
        else:
            status = Text.assemble(("down ", "red"), _cell(p["detail"]))
        providers.add_row(_cell(pid), _cell(p["kind"]), _cell(p["address"]), status,
                          str(len(p["models"])))
    console.print(providers)
    models = Table(title="Models", title_justify="left")
    for col in ("id", "provider", "server name", "size", "available", "loaded"):
        models.add_column(col)
    for mid, m in data["models"].items():
        models.add_row(_cell(mid), _cell(m["provider"]), _cell(m["model"]), _cell(m["size"]),
                       Text("yes", "green") if m["available"] else Text("no", "red"),
                       "yes" if m["loaded"] else "")
    console.print(models)
    roles = Table(title="Roles", title_justify="left")
    roles.add_column("role")
    roles.add_column("fallback chain")
    for role, chain in data["roles"].items():
        roles.add_row(_cell(role), _cell(" → ".join(chain)))
    console.print(roles)


# -- loco init ------------------------------------------------------------------------------

_SIZE_LIMITS = ((1.0, "XS"), (4.0, "S"), (10.0, "M"), (35.0, "L"))


def size_from_parameters(parameter_size: str | None, name: str = "") -> str:
    """T-shirt size from a parameter count such as "7.6B" or "135M" (or the model's name)."""
    billions = parse_billions(parameter_size) or parse_billions(name)
    if billions is None:
        return "M"
    for limit, size in _SIZE_LIMITS:
        if billions < limit:
            return size
    return "XL"


def parse_billions(text: str | None) -> float | None:
    if not text:
        return None
    found = re.search(r"(\d+(?:\.\d+)?)\s*([bBmM])(?![a-zA-Z])", text)
    if not found:
        return None
    value = float(found.group(1))
    return value / 1000 if found.group(2) in "mM" else value


@dataclass
class Discovered:
    provider_id: str
    kind: str
    address: str
    models: list[ModelInfo] = field(default_factory=list)


async def discover_servers(
    ollama_hosts: list[str], openai_urls: list[str]
) -> tuple[list[Discovered], list[Discovered]]:
    """(servers that answered with models, servers that did not)."""
    from loco_tui.providers.base import Timeouts
    from loco_tui.providers.ollama import OllamaProvider
    from loco_tui.providers.openai import OpenAIProvider

    quick = Timeouts(connect=2.0, first_token=10.0, idle=10.0)
    hosts = ollama_hosts or [os.environ.get("OLLAMA_HOST") or "http://127.0.0.1:11434"]
    candidates: list[tuple[Discovered, Any]] = []
    for i, host in enumerate(hosts):
        pid = "ollama" if i == 0 else f"ollama{i + 1}"
        candidates.append(
            (Discovered(pid, "ollama", host), OllamaProvider(pid, host, timeouts=quick)))
    for i, url in enumerate(openai_urls):
        pid = "openai" if i == 0 else f"openai{i + 1}"
        candidates.append(
            (Discovered(pid, "openai", url), OpenAIProvider(pid, url, timeouts=quick)))

    async def probe(found: Discovered, provider: Any) -> Discovered | None:
        try:
            health = await provider.health()
            if not health.up:
                return None
            found.models = health.models or await provider.list_models()
            return found
        except Exception:  # noqa: BLE001 - a server that cannot be probed is just absent
            return None
        finally:
            await provider.aclose()

    results = await asyncio.gather(*(probe(d, p) for d, p in candidates))
    found = [r for r in results if r is not None and r.models]
    missing = [d for (d, _p), r in zip(candidates, results, strict=True)
               if r is None or not r.models]
    return found, missing


def render_registry(found: list[Discovered]) -> str:
    """A commented registry: every discovered model, roles by size, the embedded fallback."""
    lines = ["# Written by `loco init` from the model servers it could reach.",
             "# Every key is documented in config/loco.toml of the Loco repository.", ""]
    for d in found:
        key = "host" if d.kind == "ollama" else "base_url"
        lines += [f"[providers.{d.provider_id}]", f'kind = "{d.kind}"',
                  f'{key} = "{d.address}"', ""]
    lines += ["[providers.builtin]", 'kind = "embedded"   # the bundled SmolLM2-135M: '
              "the last resort of every role", ""]
    entries: list[tuple[str, str, float]] = []  # (id, size, billions)
    used: set[str] = set()
    for d in found:
        for info in d.models:
            mid = _model_id(info.name, used)
            size = size_from_parameters(info.parameter_size, info.name)
            billions = parse_billions(info.parameter_size) or parse_billions(info.name) or 7.0
            entries.append((mid, size, billions))
            strengths = ["code"] if re.search(r"coder|code|starcoder|devstral", info.name) else []
            lines += [f"[models.{mid}]", f'provider = "{d.provider_id}"',
                      f'model = "{info.name}"', f'size = "{size}"'
                      + (f"   # {info.parameter_size} parameters" if info.parameter_size else "")]
            if strengths:
                lines.append(f"strengths = {json.dumps(strengths)}")
            lines.append("")
    lines += ["[models.smol]", 'provider = "builtin"', 'model = "smollm2"', 'size = "XS"', ""]
    by_size = sorted(entries, key=lambda e: -e[2])
    coders = [e for e in by_size if re.search(r"coder|code", e[0])] or by_size
    largest = by_size[0][0] if by_size else "smol"
    smallest = by_size[-1][0] if by_size else "smol"

    def chain(*ids: str) -> str:
        seen: list[str] = []
        for mid in (*ids, "smol"):
            if mid not in seen:
                seen.append(mid)
        return json.dumps(seen)

    lines += ["[roles]   # a role maps to a fallback chain, tried in order",
              f"orchestrator = {chain(smallest)}",
              f"planner = {chain(largest)}",
              f"coder = {chain(coders[0][0] if coders else largest, largest)}",
              f"reviewer = {chain(largest)}",
              f"judge = {chain(largest)}", ""]
    # Keep the judge out of its own case when there are enough other models.
    others = [e[0] for e in by_size if e[0] != largest]
    members = (others if len(others) >= 2 else [e[0] for e in by_size])[:3] or ["smol"]
    lines += ["[personas.skeptic]", 'system = "You look for what could go wrong."', "",
              "[ensembles.default]",
              "members = [" + ", ".join(f'{{ model = "{m}" }}' for m in members) + "]",
              'judge = "judge"', 'mode = "parallel"', 'verdict = "pick_or_synthesize"', "",
              "[routing]", 'strategy = "rules"', 'default_role = "coder"', "",
              "[[routing.rules]]", 'when = ["plan", "design", "architecture"]', 'role = "planner"',
              "", "[[routing.rules]]", 'when = ["review", "audit"]', 'role = "reviewer"', ""]
    return "\n".join(lines)


# Where local servers listen out of the box: Ollama, LM Studio, llama.cpp's server.
OPENAI_DEFAULT_URLS = ("http://127.0.0.1:1234/v1", "http://127.0.0.1:8080/v1")


def _get_json(url: str, timeout: float) -> Any:
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def probe_local_servers(timeout: float = 0.4) -> list[Discovered]:
    """The model servers answering on this machine's usual addresses, with their models.

    Plain blocking stdlib calls with a short timeout: this runs before the workbench starts,
    and a refused connection on loopback answers at once.
    """
    from concurrent.futures import ThreadPoolExecutor

    ollama = os.environ.get("OLLAMA_HOST") or "http://127.0.0.1:11434"
    if "://" not in ollama:
        ollama = f"http://{ollama}"

    def ask_ollama() -> Discovered | None:
        try:
            tags = _get_json(ollama.rstrip("/") + "/api/tags", timeout)
        except Exception:  # noqa: BLE001 - no Ollama there (refused, not JSON, ...)
            return None
        models = [ModelInfo(name=m["name"], parameter_size=(m.get("details") or {}).get(
            "parameter_size")) for m in tags.get("models", []) if m.get("name")]
        return Discovered("ollama", "ollama", ollama, models)

    def ask_openai(i: int, url: str) -> Discovered | None:
        try:
            listing = _get_json(url + "/models", timeout)
        except Exception:  # noqa: BLE001 - no server there (refused, not JSON, ...)
            return None
        models = [ModelInfo(name=m["id"]) for m in listing.get("data", []) if m.get("id")]
        return Discovered("openai" if i == 0 else f"openai{i + 1}", "openai", url, models)

    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(ask_ollama)] + [
            pool.submit(ask_openai, i, url) for i, url in enumerate(OPENAI_DEFAULT_URLS)]
        found = [f.result() for f in futures]
    return [d for d in found if d is not None and d.models]


def autodetected_registry(timeout: float = 0.4) -> tuple[Registry, str] | None:
    """Without a registry file, use the local servers that answer (embedded as last resort)."""
    found = probe_local_servers(timeout)
    if not found:
        return None
    from loco_tui.registry import load_registry_text

    try:
        registry = load_registry_text(render_registry(found), "<auto-detected>")
    except Exception:  # noqa: BLE001 - a server listing odd names must not stop the workbench
        return None
    where = ", ".join(f"{d.kind} at {d.address}" for d in found)
    return registry, f"<auto-detected: {where}>"


def _model_id(name: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "model"
    mid, n = base, 2
    while mid in used:
        mid, n = f"{base}-{n}", n + 1
    used.add(mid)
    return mid


class InitError(Exception):
    """`loco init` cannot write what was asked for (a named server did not answer)."""


def write_initial_registry(output: Path, ollama_hosts: list[str], openai_urls: list[str]) -> str:
    """Write a registry for the servers that answer. A server named explicitly that does
    not answer is an error (nothing is written); with none named and none answering, the
    built-in registry is written, to edit from there."""
    from loco_tui.providers.credentials import shown_url
    from loco_tui.registry import load_registry_text
    from loco_tui.registry.discover import default_registry_text
    from loco_tui.safe_text import neutralise_line

    found, missing = asyncio.run(discover_servers(ollama_hosts, openai_urls))
    if ollama_hosts or openai_urls:
        named = {*ollama_hosts, *openai_urls}
        absent = [d for d in missing if d.address in named]
        if absent:
            where = ", ".join(f"{d.kind} at {neutralise_line(shown_url(d.address))}"
                              for d in absent)
            raise InitError(f"no models from {where} (not reachable, or nothing installed); "
                            "nothing written")
    if not found:
        text = _BUILTIN_HEADER + default_registry_text().split("\n", 3)[3]
        load_registry_text(text, str(output))
        output.write_text(text)
        print("No model server answered; wrote the built-in registry (three personas of the "
              "embedded model and a judge). Start a server and run `loco init --force` again.",
              file=sys.stderr)
        return f"Wrote {output}: the built-in registry (embedded model only)."
    text = render_registry(found)
    load_registry_text(text, str(output))  # never write a registry that would not load
    output.write_text(text)
    count = sum(len(d.models) for d in found)
    return f"Wrote {output}: {len(found)} servers, {count} models (+ the embedded fallback)."


_BUILTIN_HEADER = """\
# Written by `loco init`: no model server answered, so this is Loco's built-in registry,
# everything on the bundled SmolLM2-135M model, in-process. Every key is documented in
# config/loco.toml of the Loco repository.
"""
