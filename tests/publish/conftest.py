"""Fixtures for the publishing tests: this test's topics on the session broker."""

from __future__ import annotations

import pytest

from deploy import topics
from streams.config import Settings


@pytest.fixture
def provisioned(settings: Settings, kafka_bootstrap: str) -> Settings:
    """``settings`` with the contract's topics created under this test's prefix."""
    topics.apply(settings, ["OSC", "FRA"], bootstrap=kafka_bootstrap)
    return settings
