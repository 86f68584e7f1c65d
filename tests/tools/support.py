"""Support for the tool-calling tests: registries with tools pointing at the fake servers,
runs collected as events, and the parse events of one member."""

from __future__ import annotations

from typing import Any

from loco_tui.controller import Controller
from loco_tui.events import Event, Parse
from loco_tui.orchestrator import RunRequest
from loco_tui.registry import Registry, load_registry_text
from tests.common import provider_toml

TOOLS = """
[tools.get_weather]
description = "The weather now in a city."
[tools.get_weather.parameters]
required = ["city"]
[tools.get_weather.parameters.properties.city]
type = "string"
description = "City name"
[tools.get_weather.parameters.properties.unit]
type = "string"
enum = ["celsius", "fahrenheit"]

[tools.read_file]
description = "Read a text file of the project."
parameters = { type = "object", properties = { path = { type = "string" } }, required = ["path"] }
"""

# One model whose role is offered both tools above.
ASSISTANT_ROLE = """
[models.qwen]
provider = "local"
model = "qwen3:8b"
[roles]
assistant = "qwen"
[role_tools]
assistant = ["get_weather", "read_file"]
"""


def openai_toml(base_url: str, name: str = "remote") -> str:
    return (f'[providers.{name}]\nkind = "openai"\nbase_url = "{base_url}"\n'
            f'[providers.{name}.timeouts]\nconnect_s = 2\nfirst_token_s = 5\nidle_s = 2\n')


def registry(*, ollama: str | None = None, openai: str | None = None, body: str) -> Registry:
    """A registry with the tools above, provider `local` at the fake Ollama ``ollama`` and
    `remote` at the fake OpenAI-compatible server ``openai``; ``body`` adds the rest."""
    head = provider_toml(ollama) if ollama else ""
    head += openai_toml(openai) if openai else ""
    return load_registry_text(head + TOOLS + body, "tools.toml")


async def run(reg: Registry, request: RunRequest, seed: int = 7) -> tuple[str, list[Event]]:
    controller = Controller(reg)
    events: list[Event] = []
    controller.subscribe(events.append)
    try:
        status = await controller.run(request, seed=seed)
    finally:
        await controller.aclose()
    return status, events


def parses(events: list[Event], member: str, kind: str | None = None) -> list[Parse]:
    return [e for e in events if isinstance(e, Parse) and e.member == member
            and (kind is None or e.kind == kind)]


def checks(events: list[Event], member: str) -> list[dict[str, Any]]:
    """The schema checks of ``member``'s calls (the ``schema_check`` events' details)."""
    return [e.detail for e in parses(events, member, "schema_check")]


def system_prompt(body: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in body["messages"] if m["role"] == "system")
