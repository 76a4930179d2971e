"""Shared test data for the deadline tests: seconds-scale policies, a fixed start, counting stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from seabus.streams.deadlines.policy import PolicySet, parse_policies

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""A Monday morning, far from any DST change."""

LADDER: dict[str, Any] = {
    "reminders": ["PT10S"],
    "second_level_after": "PT15S",
    "repeat_every": "PT30S",
}
SECONDS_POLICIES: dict[str, Any] = {
    "version": 1,
    "policies": [
        {
            "name": "ack",
            "obligation": "ACKNOWLEDGE",
            "recipient_classes": ["MEMBER_STATE"],
            "window": {"duration": "PT20S"},
            **LADDER,
        },
        {
            "name": "decide-child",
            "obligation": "DECIDE",
            "recipient_classes": ["MEMBER_STATE"],
            "when": {"victim_under_18": True},
            "window": {"duration": "PT30S"},
            **LADDER,
            "max_repeats": 2,
        },
        {
            "name": "decide",
            "obligation": "DECIDE",
            "recipient_classes": ["MEMBER_STATE"],
            "window": {"duration": "PT40S"},
            **LADDER,
            "max_repeats": 2,
        },
    ],
}


def seconds_policies() -> PolicySet:
    """Acknowledge in 20 s and decide in 40 s (30 s with a child victim), MEMBER_STATE only."""
    return parse_policies(SECONDS_POLICIES, source="seconds-policies")


class CountingDict(dict[str, Any]):
    """A dict store that counts reads, to prove which keys a tick looks at."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def get(self, key: str, default: Any = None, /) -> Any:
        self.reads.append(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.reads.append(key)
        return super().__getitem__(key)
