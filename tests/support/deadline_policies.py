"""A policy file with windows of seconds, for tests on the real broker."""

from __future__ import annotations

from pathlib import Path

FAST = """
version: 1
# The synthetic events of these tests are reported at a fixed date in the past;
# the ladders under test count from receipt.
count_from: received
closing:
  events: [CLOSED, WITHDRAWN]
  statuses: [SUBSTANTIATED, NOT_SUBSTANTIATED, CLOSED_OTHER_CIRCUMSTANCES]
calendars:
  default: {time_zone: UTC, weekend: [SATURDAY, SUNDAY], holidays: []}
  kenya: {time_zone: Africa/Nairobi, weekend: [SATURDAY, SUNDAY], country: KEN}
policies:
  - name: test-acknowledge
    obligation: ACKNOWLEDGE
    recipient_classes: [MEMBER_STATE]
    window: {duration: PT%(due)dS}
    reminders: [PT%(reminder)dS]
    second_level_after: PT%(second)dS
    repeat_every: PT%(repeat)dS
    max_repeats: 1
  - name: test-decide
    obligation: DECIDE
    recipient_classes: [MEMBER_STATE]
    window: {duration: P1D}
    reminders: [PT1H]
    second_level_after: P1D
    repeat_every: P1D
  - name: test-outcome
    obligation: REPORT_OUTCOME
    recipient_classes: [MEMBER_STATE]
    window: {duration: P90D}
    reminders: [P7D]
    second_level_after: P7D
    repeat_every: P7D
"""


def write_fast_policies(
    directory: Path, *, due: int = 8, reminder: int = 4, second: int = 4, repeat: int = 4
) -> Path:
    path = directory / "policies.fast.yaml"
    path.write_text(FAST % {"due": due, "reminder": reminder, "second": second, "repeat": repeat})
    return path
