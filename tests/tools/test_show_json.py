"""A stored run's parse traces: `loco show RUN --json` holds, per member attempt, the text the
parser read and its parse events (schema checks included, previews left out); the text view
says how each call fared."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner

from loco_tui.cli import main
from loco_tui.controller import Controller
from loco_tui.orchestrator import RunRequest
from loco_tui.store import Store
from loco_tui.testing.script import Reply, Script
from tests.tools.support import ASSISTANT_ROLE, registry

REPLY = ("Reading it.\n<tool_call>\n"
         '{"name": "read_file", "arguments": {"path": "docs/notes/a-rather-long-file-name'
         '-for-previews.md", "lines": 3,}}\n</tool_call>\n'
         '<tool_call>\n{"name": "get_weather", "arguments": {}}\n</tool_call>')


def record(url: str) -> str:
    async def go() -> str:
        async with await Store.open() as store:
            controller = Controller(registry(ollama=url, body=ASSISTANT_ROLE), store=store)
            try:
                run_id = controller.start(RunRequest("Show me the notes", role="assistant"))
                await controller.wait(run_id)
                await controller.flush_history()
            finally:
                await controller.aclose()
            return run_id

    return asyncio.run(go())


def test_loco_show_json_holds_each_members_parse_trace(ollama_server):
    pieces = tuple(REPLY[i:i + 4] for i in range(0, len(REPLY), 4))
    server = ollama_server(Script(no_tools={"qwen3:8b"}).add("qwen3:8b", Reply(pieces=pieces)))
    run_id = record(server.url)

    result = CliRunner().invoke(main, ["show", run_id, "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    [trace] = shown["parse_traces"]
    assert (trace["member"], trace["attempt"], trace["model"]) == ("assistant", 1, "qwen")
    assert trace["text"] == REPLY
    kinds = [e["kind"] for e in trace["events"]]
    assert "call_delta" not in kinds
    assert kinds[0] == "tools_offered" and kinds[-3:] == [
        "classification", "schema_check", "schema_check"]
    calls = [e for e in trace["events"] if e["kind"] == "call"]
    start, end = calls[0]["detail"]["span"]
    assert REPLY[start:end].startswith('{"name": "read_file"')
    assert calls[0]["offset"] == start
    assert calls[0]["detail"]["repaired"] == ["trailing_comma"]
    checks = [e["detail"] for e in trace["events"] if e["kind"] == "schema_check"]
    assert [(c["name"], c["ok"]) for c in checks] == [("read_file", True), ("get_weather", False)]
    assert checks[1]["problems"][0]["message"] == "arguments.city is required but missing"
    # The parse results table still says what was called.
    assert [c["name"] for c in shown["parse_results"][0]["tool_calls"]] == [
        "read_file", "get_weather"]

    text = CliRunner().invoke(main, ["show", run_id])
    assert text.exit_code == 0
    assert "assistant ✓ read_file: fits its schema" in text.output
    assert "assistant ✗ get_weather: arguments.city is required but missing" in text.output
