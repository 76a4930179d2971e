"""The stable-id contract: each namespace and one derived id per kind, as already on the wire.

These values were computed by the code before the ids moved to ``seabus.schemas.ids``;
a change here changes every id in Kafka, the read model and recipients' systems.
"""

from __future__ import annotations

import uuid

from seabus.schemas import ids


def test_namespaces_never_change() -> None:
    assert uuid.UUID("8a1f0b3e-5c2d-4e7f-9b61-3d4c5e6f7a82") == ids.RECORD_NAMESPACE
    assert uuid.UUID("0c5e2f7a-31d4-4b8e-b6f0-9d7a1e3c5b42") == ids.NOTIFICATION_NAMESPACE
    assert uuid.UUID("6f1d3c52-0b7e-4d8e-9a55-5e7d2b1c0a01") == ids.SYNTHETIC_NAMESPACE
    assert uuid.UUID("6f1d7f2e-5c7b-4f0a-9a51-5ea5b0e1d0c1") == ids.OBLIGATION_ESCALATION_NAMESPACE
    assert uuid.UUID("3d0a7f8e-2b4c-5e61-9f13-7c5b8a2d4e90") == ids.IMPORT_NAMESPACE
    assert uuid.UUID("6f1c3e9a-5d0b-4a8e-9c57-2b7d4f0e8a13") == ids.ATTEMPT_NAMESPACE


def test_one_derived_id_per_kind() -> None:
    assert ids.stable_id("SYNTH-topic", "0", "7", "UNDECODABLE") == "42c4926a-ef3b-5287-9420-48d728e45cae"
    assert ids.notification_id("SYNTH-EVT-1", "STATE:FRA") == "f82445e0-24ac-5c06-96a2-6b5d8fc1b9ba"
    assert ids.synthetic_event_id("SYNTH-ALG-1", 2) == "6bdc5aba-5425-5c44-b710-6b9547cf14c7"
    assert (
        ids.escalation_id("SYNTH-ALG-1|STATE:FRA|ACKNOWLEDGE", "L1") == "4fdb0a6e-2984-55a4-8cb0-40a37f773faa"
    )
    assert ids.stable_event_id("MINUSCA", "SYNTH-ALG-1", 3) == "5b75a431-79e0-579d-afd2-28b202598e9d"
    assert ids.attempt_id("wh-1", "STATE:FRA", 2) == "5b21a860-1d34-57f9-b062-385347ea6e7e"


def test_the_public_sdk_names_are_the_contract_ones() -> None:
    """Publishers import ids from ``seabus.connectors.publisher``; it must be the same function."""
    from seabus.connectors import publisher

    assert publisher.stable_event_id is ids.stable_event_id
    assert publisher.IMPORT_NAMESPACE is ids.IMPORT_NAMESPACE


def test_a_random_event_id_is_a_uuid4() -> None:
    assert uuid.UUID(ids.new_event_id()).version == 4


def test_webhook_attempt_ids_match_the_contract() -> None:
    """connectors/webhooks/records.py still derives attempt ids itself (branch delivery1 reworks it);
    until it imports them from seabus.schemas.ids, both must give the same ids."""
    from seabus.connectors.webhooks import records

    assert records.ATTEMPT_NAMESPACE == ids.ATTEMPT_NAMESPACE
    assert records.attempt_id("wh-1", "STATE:FRA", 2) == ids.attempt_id("wh-1", "STATE:FRA", 2)
