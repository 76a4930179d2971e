"""Fixtures for the deadline tests (data lives in ``deadline_support``)."""

from __future__ import annotations

import pytest
from deadlines.deadline_support import seconds_policies as _seconds_policies

from seabus.streams.deadlines.policy import PolicySet


@pytest.fixture
def seconds_policies() -> PolicySet:
    """Acknowledge in 20 s and decide in 40 s (30 s with a child victim), MEMBER_STATE only."""
    return _seconds_policies()
