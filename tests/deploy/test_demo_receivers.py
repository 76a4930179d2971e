"""What `seabus demo-receivers` prints for each kind of delivery: ids and steps, never content."""

from __future__ import annotations

import json

from seabus.connectors.delivery import pagerduty_event
from seabus.deploy.cli.demo_receivers_cmd import describe
from seabus.schemas.testing import synthetic_escalation, synthetic_notification


def test_each_kind_is_one_line_of_ids_and_steps() -> None:
    note = synthetic_notification(1)
    step = synthetic_escalation(2)
    page = json.dumps(pagerduty_event(step, routing_key="synthetic-key", source="seabus-test")).encode()

    noted = describe("FRA", "org.seabus.Notification", note.model_dump_json().encode())
    chased = describe("PAK", "org.seabus.Escalation", step.model_dump_json().encode())
    paged = describe("ONCALL", None, page)

    assert noted.startswith(f"FRA: notification REPORTED {note.allegation_id} seq {note.sequence}")
    assert chased.startswith(f"PAK: ESCALATION OVERDUE ACKNOWLEDGE owed by PAK on {step.allegation_id}")
    assert paged.startswith(f"ONCALL: PAGE warning seabus OVERDUE on allegation {step.allegation_id}")
    assert "synthetic-key" not in paged
    assert all("narrative" not in line.lower() for line in (noted, chased, paged))
