"""No API key reaches the database or an export, even when a server echoes it back."""

from __future__ import annotations

import json

from loco_tui.events import MemberFailed, Route
from loco_tui.orchestrator import RunRequest
from loco_tui.registry import load_registry_text
from loco_tui.store import Store
from loco_tui.testing.fake_openai import FakeOpenAI
from loco_tui.testing.http import Request, Response
from loco_tui.testing.script import Reply, Script
from tests.store.common import pick, record

SECRET = "sk-loco-test-7f3a9c1e5b2d4f6a8c0e"

REGISTRY = """
[providers.remote]
kind = "openai"
base_url = "{url}/v1"
api_key_env = "LOCO_TEST_API_KEY"
[models.good]
provider = "remote"
model = "good-model"
[models.leaky]
provider = "remote"
model = "leaky-model"
[roles]
coder = ["leaky", "good"]
judge = "good"
[ensembles.pair]
members = [{{ model = "leaky" }}, {{ model = "good" }}, {{ model = "good" }}]
judge = "judge"
"""


class EchoingServer(FakeOpenAI):
    """Answers requests for ``leaky-model`` with an error quoting the credentials it got,
    as badly behaved proxies do."""

    async def _handle(self, req: Request) -> Response:
        if req.path.endswith("/chat/completions") and b"leaky-model" in req.body:
            auth = req.headers.get("authorization", "")
            return Response.json({"error": {
                "message": f"credentials '{auth}' are not allowed to use this model",
                "type": "invalid_request_error"}}, 403)
        return await super()._handle(req)


async def test_no_api_key_reaches_the_database_or_exports(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCO_TEST_API_KEY", SECRET)
    fake_script = Script()
    fake_script.add("good-model", Reply.text("A good answer. " + pick("A")))
    fake_script.add("leaky-model", Reply.text("never streamed"))
    db_path = tmp_path / "loco.db"
    with EchoingServer(fake_script, api_key=SECRET) as server:
        registry = load_registry_text(REGISTRY.format(url=server.url), "secret.toml")
        store = await Store.open(db_path)
        ensemble = await record(store, registry, RunRequest("go", ensemble="pair"))
        routed = await record(store, registry, RunRequest("fix it", role="coder"))
        # The key really went out and really came back in the error bodies.
        echoed = [r for r in server.requests if b"leaky-model" in r.body]
        assert echoed and all(SECRET in r.headers.get("authorization", "") for r in echoed)
        exports = []
        for ident in (ensemble.run_id, routed.run_id, "s" + routed.run_id):
            exports.append(await store.export_markdown(ident))
            exports.append(json.dumps(await store.export_json(ident)))
        stored_failures = [c.message for c in (await store.run(ensemble.run_id)).calls
                           if c.outcome == "failed"]
        files_while_open = {p.name: p.read_bytes() for p in tmp_path.glob("loco.db*")}
        await store.aclose()

    # The failures were recorded (so the scan below looks at the echoed text) ...
    failed = [e for e in ensemble.events if isinstance(e, MemberFailed)]
    assert [e.member for e in failed] == ["m1"]
    assert stored_failures and "are not allowed to use this model" in stored_failures[0]
    assert any(isinstance(e, Route) and e.category for e in routed.events)
    # ... and the key is nowhere: not in the file, its WAL, or any export.
    files_after = {p.name: p.read_bytes() for p in tmp_path.glob("loco.db*")}
    assert "loco.db-wal" in files_while_open
    for name, data in [*files_while_open.items(), *files_after.items()]:
        assert SECRET.encode() not in data, name
        assert SECRET[6:].encode() not in data, name
    for text in exports:
        assert SECRET not in text and SECRET[6:] not in text
