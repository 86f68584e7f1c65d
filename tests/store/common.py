"""Test support for the store: a registry and scripts for real runs over the fake Ollama,
and a helper that records a run the way the controller will (sink + flush at run end)."""

from __future__ import annotations

from dataclasses import dataclass

from loco_tui.controller import Controller
from loco_tui.events import Event
from loco_tui.orchestrator import RunRequest
from loco_tui.registry import Registry
from loco_tui.sessions import new_session_id
from loco_tui.store import Store
from loco_tui.testing.script import Reply, Script

REGISTRY = """
[models.alpha]
provider = "local"
model = "alpha:7b"
[models.beta]
provider = "local"
model = "beta:3b"
[models.gamma]
provider = "local"
model = "gamma:1b"
[models.arbiter]
provider = "local"
model = "arbiter:14b"
[models.tiny]
provider = "local"
model = "tiny:1b"
context = 256
[personas.skeptic]
system = "You look for what could go wrong."
[roles]
coder = ["alpha", "beta"]
judge = "arbiter"
small = "tiny"
[ensembles.trio]
members = [{ model = "alpha", persona = "skeptic" }, { model = "beta" }, { model = "gamma" }]
judge = "judge"
[ensembles.merge]
members = [{ model = "alpha" }, { model = "beta" }]
judge = "judge"
verdict = "synthesize"
[workflows.feature]
phases = [
  { name = "plan", type = "ensemble", ensemble = "trio", context = "fresh" },
  { name = "build", type = "single", role = "coder", context = "distilled" },
]
"""

TAGS = {"alpha": "alpha:7b", "beta": "beta:3b", "gamma": "gamma:1b", "arbiter": "arbiter:14b",
        "tiny": "tiny:1b"}
# Long enough that a model with a 256-token context cannot see two earlier turns of it.
LONG_ANSWER = " ".join(f"point{i} of the long answer" for i in range(40))


def pick(label: str, confidence: float = 0.8, reason: str = "clearest") -> str:
    return (f"Weighing them.\n"
            f'{{"winner": "{label}", "mode": "pick", "confidence": {confidence}, '
            f'"reason": "{reason}"}}')


def script(**replies: Reply) -> Script:
    """Every model of REGISTRY answers something; ``replies`` overrides by model id."""
    default = {
        "alpha": Reply.text("Alpha says use a set.", piece_delay_s=0.005),
        "beta": Reply.text("Beta says sort first then scan.", piece_delay_s=0.005),
        "gamma": Reply.text("Gamma says a dict keeps order.", piece_delay_s=0.005),
        "arbiter": Reply.text(pick("B")),
        "tiny": Reply.text(LONG_ANSWER),
    }
    out = Script()
    for name, tag in TAGS.items():
        out.add(tag, replies.get(name, default[name]))
    return out


@dataclass
class Recorded:
    status: str
    events: list[Event]

    @property
    def run_id(self) -> str:
        return self.events[0].run_id


async def record(store: Store, registry: Registry, request: RunRequest, *,
                 seed: int = 7) -> Recorded:
    """Run ``request`` through a real Controller recording into ``store`` (every event to
    its recorder, the rest written when the controller closes)."""
    controller = Controller(registry, store=store)
    events: list[Event] = []
    controller.subscribe(events.append)
    try:
        status = await controller.run(request, seed=seed)
    finally:
        await controller.aclose()
    assert controller.history_error is None, controller.history_error
    return Recorded(status, events)


async def follow_up(store: Store, registry: Registry, prompt: str, session_id: str | None,
                    **target: str) -> Recorded:
    """One more turn of a stored session (a new one when ``session_id`` is None), built
    from the store as `loco run --continue` and the workbench will."""
    if session_id is None:
        request = RunRequest(prompt, session=new_session_id(), turn=0, **target)
    else:
        session = await store.session(session_id)
        request = RunRequest(prompt, session=session.id, turn=len(session.turns),
                             thread=tuple(session.turns), **target)
    return await record(store, registry, request)
