"""Fixtures for the UI pieces' tests."""

from __future__ import annotations

import time

import pytest


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative dates are local times: fix the zone so "yesterday" names the same day on
    every machine (snapshots included)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
