"""The public surface of ``seabus.streams.deadlines``: sorted, complete, importable."""

from __future__ import annotations

import seabus.streams.deadlines as deadlines


def test_public_names_are_sorted_and_exported() -> None:
    assert deadlines.__all__ == sorted(deadlines.__all__)
    for name in deadlines.__all__:
        assert getattr(deadlines, name) is not None


def test_the_api_the_agents_call_is_public() -> None:
    wired = {
        "DeadlineEngine",
        "ResponseOutcome",
        "EscalationDraft",
        "CaseFacts",
        "load_policies",
        "ValueFormat",
        "SystemClock",
        "ManualClock",
    }
    assert wired <= set(deadlines.__all__)
