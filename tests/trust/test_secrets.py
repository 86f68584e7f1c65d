"""Keys and URL passwords never reach a message, a table or the screen, whatever a server
echoes back; a key about to cross the network in clear text is warned about."""

from __future__ import annotations

import base64

import pytest

from loco_tui.events import FailureCategory
from loco_tui.providers.base import ProviderError
from loco_tui.providers.credentials import (
    Redactor,
    insecure_key_warning,
    shown_url,
    url_secrets,
)
from loco_tui.providers.openai import MESSAGE_LIMIT, OpenAIProvider
from loco_tui.registry import load_registry_text
from loco_tui.testing.script import Fault, Reply, Script
from tests.common import loco

KEY = "sk-loco-0123456789abcdefSECRET"


async def _fail(provider: OpenAIProvider, model: str = "m") -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        async for _ in provider.stream_chat(model, [{"role": "user", "content": "hi"}]):
            pass
    return caught.value


@pytest.mark.parametrize("offset", [250, 270, 280, 285, 290, 295])
async def test_an_echoed_key_is_redacted_before_the_message_is_cut(openai_server, offset):
    """The cut used to come first: a key straddling it kept its prefix, unredacted."""
    server = openai_server(Script().add("m", Reply(fault=Fault.ECHO_AUTH, fault_after=offset)))
    provider = OpenAIProvider("p", server.base_url, api_key=KEY)
    try:
        error = await _fail(provider)
    finally:
        await provider.aclose()
    assert error.category is FailureCategory.HTTP_ERROR
    assert len(error.message) <= MESSAGE_LIMIT
    for n in range(6, len(KEY) + 1):
        assert KEY[:n] not in error.message, f"{n} characters of the key leaked"


async def test_basic_credentials_from_the_url_are_redacted_when_echoed(openai_server):
    server = openai_server(Script().add("m", Reply(fault=Fault.ECHO_AUTH, fault_after=10)))
    url = server.base_url.replace("http://", "http://alice:hunter2-pass@")
    provider = OpenAIProvider("p", url)
    try:
        error = await _fail(provider)
    finally:
        await provider.aclose()
    basic = base64.b64encode(b"alice:hunter2-pass").decode()
    assert "hunter2-pass" not in error.message and basic not in error.message
    assert "***" in error.message
    assert "alice:" not in repr(provider)


def test_loco_models_never_prints_a_url_password(openai_server, tmp_path):
    server = openai_server(Script().add("m", Reply()))
    url = server.base_url.replace("http://", "http://alice:hunter2-pass@")
    path = tmp_path / "loco.toml"
    path.write_text(f'[providers.lm]\nkind = "openai"\nbase_url = "{url}"\n'
                    '[models.m]\nprovider = "lm"\nmodel = "m"\n[roles]\ncoder = ["m"]\n')
    for args in (("models",), ("models", "--json")):
        result = loco(*args, "--config", str(path))
        assert result.returncode == 0, result.stderr
        assert "hunter2" not in result.stdout + result.stderr
        assert server.base_url.removeprefix("http://") in result.stdout


def test_url_helpers():
    assert shown_url("http://a:b@host:1/v1") == "http://host:1/v1"
    assert shown_url("http://host:1/v1") == "http://host:1/v1"
    assert "secret-pw" in url_secrets("https://u:secret-pw@h/v1")
    assert url_secrets("https://h/v1") == []
    redact = Redactor(["abcd1234", None, "ab"])  # too-short secrets are not "redacted" words
    assert redact("key=abcd1234 and ab", limit=None) == "key=*** and ab"
    assert redact("x" * 50, limit=10) == "x" * 9 + "…"


@pytest.mark.parametrize(
    ("url", "has_key", "warned"),
    [
        ("http://10.1.2.3:8000/v1", True, True),
        ("http://gpu-box.lan:11434", True, True),
        ("http://user:pw@gpu-box.lan:11434", False, True),
        ("https://gpu-box.lan/v1", True, False),
        ("http://127.0.0.1:1234/v1", True, False),
        ("http://localhost:1234/v1", True, False),
        ("http://[::1]:1234/v1", True, False),
        ("http://10.1.2.3:8000/v1", False, False),
    ],
)
def test_a_key_over_plain_http_to_another_machine_is_warned_about(url, has_key, warned):
    warning = insecure_key_warning(url, has_key=has_key, provider="lan")
    assert (warning is not None) is warned
    if warning:
        assert "provider lan" in warning and "http://" in warning


async def test_the_sidebar_warns_of_a_key_sent_in_clear_text(monkeypatch):
    """Checked without a packet leaving the machine: the pool serves scripted replies."""
    from pathlib import Path

    from loco_tui.app import LocoApp, UiSettings
    from loco_tui.controller import Controller
    from loco_tui.providers.pool import ProviderPool
    from loco_tui.registry import LoadedRegistry
    from loco_tui.testing.fake_provider import scripted_factory
    from loco_tui.widgets.sidebar import ModelSidebar

    monkeypatch.setenv("LAN_KEY", KEY)
    registry = load_registry_text(
        '[providers.lan]\nkind = "openai"\nbase_url = "http://gpu-box.lan:8000/v1"\n'
        'api_key_env = "LAN_KEY"\n[models.m]\nprovider = "lan"\nmodel = "m"\n'
        '[roles]\ncoder = ["m"]\n', "loco.toml")
    pool = ProviderPool(registry, factory=scripted_factory(Script().add("m", Reply())))
    app = LocoApp(LoadedRegistry(registry, Path("loco.toml")),
                  settings=UiSettings(show_rates=False, watch_config=False,
                                      health_interval_s=3600),
                  controller=Controller(registry, pool=pool))
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause(0.3)
        shown = str(app.query_one(ModelSidebar).render())
        assert "provider lan: credentials are sent over plain http://" in shown
        assert "gpu-box.lan" in app.trace.text
        assert KEY not in shown
