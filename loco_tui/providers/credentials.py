"""Credentials never shown: keys and URL passwords redacted from every message, URLs shown
without their userinfo, and a warning when a key would cross the network in clear text.

A server may echo what it received (the bearer key, the Basic credentials of a
``user:pass@`` URL) in an error body, and that body reaches panes, traces, the store and
exports. Messages are redacted *before* they are cut to length: cutting first could leave a
key's prefix straddling the cut, unrecognisable to the redactor and readable by anyone.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["Redactor", "insecure_key_warning", "shown_url", "url_secrets"]

REDACTED = "***"


def _netloc_without_userinfo(netloc: str) -> str:
    return netloc.rpartition("@")[2]


def shown_url(url: str) -> str:
    """``url`` as it may be shown: without ``user:pass@``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.rpartition("@")[2] if "@" in url else url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=_netloc_without_userinfo(parts.netloc)))


def url_secrets(url: str) -> list[str]:
    """What a ``user:pass@`` URL would let a server echo back: the password (raw and
    URL-decoded), ``user:pass`` and its Basic-auth base64 form."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    if parts.password is None:
        return []
    user = unquote(parts.username or "")
    password = unquote(parts.password)
    pair = f"{user}:{password}"
    basic = base64.b64encode(pair.encode()).decode()
    return [s for s in {parts.password, password, pair, basic} if len(s) >= 4]


class Redactor:
    """Replaces every known secret in a message, longest first, then cuts it to length."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first: a secret that contains another must go whole.
        found = {s for s in secrets if s and len(s) >= 4}
        self._secrets = sorted(found, key=len, reverse=True)

    def __call__(self, text: str, limit: int | None = None) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if limit is not None and len(text) > limit:
            text = text[: limit - 1] + "…"
        return text


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def insecure_key_warning(url: str, *, has_key: bool, provider: str) -> str | None:
    """A warning when credentials would travel in clear text: ``http://`` to a host that is
    not this machine, with an API key or a ``user:pass@`` in the URL. None when safe."""
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
    except ValueError:
        return None
    carries = has_key or parts.password is not None
    if not carries or parts.scheme != "http" or _is_loopback(parts.hostname or ""):
        return None
    return (
        f"provider {provider}: credentials are sent over plain http:// to "
        f"{parts.hostname}; anyone on the network path can read them (use https://)"
    )
