"""Fixtures for the gateway tests: this test's topics on the session broker."""

from __future__ import annotations

import pytest

from seabus.deploy import topics
from seabus.streams.config import Settings
from seabus.streams.kafka_connection import KafkaConnection


@pytest.fixture
def provisioned(settings: Settings, kafka: KafkaConnection) -> Settings:
    """``settings`` with its allegations topic (and the rest of the contract) created."""
    topics.apply(settings, ["OSC", "FRA"], kafka=kafka)
    return settings
