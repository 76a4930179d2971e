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


# The shipped defaults' shape (who owes what from the facts) with windows a test
# can tell apart: hours where only the due time is checked, seconds where the
# ladder or a trigger must happen during the test.
FACTS = """
version: 1
count_from: reported_at
overdue_at_import: {summary_every: PT%(summary)dS}
calendars:
  default: {time_zone: UTC, weekend: [SATURDAY, SUNDAY], holidays: []}
  kenya: {time_zone: Africa/Nairobi, weekend: [SATURDAY, SUNDAY], country: KEN}
policies:
  - name: facts-acknowledge
    obligation: ACKNOWLEDGE
    recipient_classes: [MEMBER_STATE]
    window: {duration: PT1H}
    second_level_after: PT10S
  - name: facts-decide-urgent
    obligation: DECIDE
    recipient_classes: [MEMBER_STATE]
    when: {as: contributing_state, personnel_category: &troops [MILITARY_CONTINGENT, FORMED_POLICE_UNIT, NON_UN_FORCE_MEMBER], urgent: true}
    window: {duration: PT%(urgent_decide)dS}
  - name: facts-decide
    obligation: DECIDE
    recipient_classes: [MEMBER_STATE]
    when: {as: contributing_state, personnel_category: *troops}
    window: {duration: PT1H}
  - name: facts-outcome-urgent
    obligation: REPORT_OUTCOME
    recipient_classes: [MEMBER_STATE]
    when: {as: contributing_state, personnel_category: *troops, urgent: true}
    window: {duration: PT2H}
  - name: facts-outcome
    obligation: REPORT_OUTCOME
    recipient_classes: [MEMBER_STATE]
    when: {as: contributing_state, personnel_category: *troops}
    window: {duration: PT3H}
  - name: facts-action-taken
    obligation: REPORT_ACTION_TAKEN
    recipient_classes: [MEMBER_STATE]
    when: {as: contributing_state, personnel_category: *troops, status: [SUBSTANTIATED]}
    window: {duration: PT1H}
  - name: facts-referral
    obligation: DECIDE_REFERRAL
    recipient_classes: [MEMBER_STATE]
    when:
      as: nationality
      personnel_category: &individuals [STAFF_MEMBER, UN_VOLUNTEER, EXPERT_ON_MISSION, UN_POLICE_OFFICER, GOVERNMENT_PROVIDED_PERSONNEL, MILITARY_STAFF_OFFICER, CONTRACTOR_CONSULTANT]
      status: [SUBSTANTIATED]
    window: {duration: PT1H}
  - name: facts-oios-outcome
    obligation: REPORT_OUTCOME
    recipient_classes: [OIOS]
    when: {personnel_category: *individuals}
    window: {duration: PT3H}
  - name: facts-un-investigation
    obligation: INVESTIGATE
    recipient_classes: [OIOS]
    opened_by: [{response: INVESTIGATION_DECLINED, answering: DECIDE}, {overdue: DECIDE}]
    when: {source_stream: [UN_PERSONNEL]}
    window: {duration: PT1H}
  - name: facts-vra-acknowledge
    obligation: ACKNOWLEDGE
    recipient_classes: [VRA]
    window: {duration: PT1H}
"""


def write_facts_policies(directory: Path, *, summary: int = 5, urgent_decide: int = 4) -> Path:
    path = directory / "policies.facts.yaml"
    path.write_text(FACTS % {"summary": summary, "urgent_decide": urgent_decide})
    return path
