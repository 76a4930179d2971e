"""`seabus publish FILE` against the real broker: good rows out, bad rows named, exit status says which."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from publish.publish_support import event_ids, has_ids, read_records
from support import free_port

from seabus.connectors.publisher import FileFormat, parse_text, stable_event_id
from seabus.deploy.cli import main as cli_main
from seabus.streams.config import Settings
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def run_cli(settings: Settings, kafka: KafkaConnection, *args: str) -> Result:
    """The real `seabus` group (so a SeabusError becomes exit status 2), in this process."""
    env = (
        {k: None for k in os.environ if k.startswith("SEABUS_")}
        | kafka.env()
        | {
            "SEABUS_TOPIC_PREFIX": settings.topic_prefix,
            "SEABUS_DATA_DIR": str(settings.data_dir),
        }
    )
    return CliRunner().invoke(cli_main.cli, ["publish", *args], env=env)


def mixed_csv(tmp_path: Path) -> tuple[Path, list[str]]:
    """The shipped CSV example plus two bad rows (lines 5 and 6)."""
    lines = (EXAMPLES / "allegations.csv").read_text().splitlines()
    bad_country = (
        lines[1].replace("SYNTH-CSV-2025-0001,1,", "SYNTH-CSV-2025-0009,1,").replace(",URY,URY,", ",XXY,URY,")
    )
    bad_status = (
        lines[2]
        .replace("SYNTH-CSV-2025-0002,1,", "SYNTH-CSV-2025-0010,1,")
        .replace("UNDER_INVESTIGATION", "MAYBE")
    )
    path = tmp_path / "cases.csv"
    path.write_text("\n".join([*lines, bad_country, bad_status]) + "\n")
    good_ids = [
        stable_event_id("MINUSCA", "SYNTH-CSV-2025-0001", 1),
        stable_event_id("MONUSCO", "SYNTH-CSV-2025-0002", 1),
        stable_event_id("MINUSCA", "SYNTH-CSV-2025-0001", 2),
    ]
    return path, good_ids


def test_good_rows_are_published_bad_rows_reported_exit_1(
    provisioned: Settings, kafka: KafkaConnection, tmp_path: Path
) -> None:
    path, good_ids = mixed_csv(tmp_path)
    result = run_cli(provisioned, kafka, str(path))
    assert result.exit_code == 1, result.output
    assert "line 5: nationality_1 (allegation.subjects[0].nationality): is not an ISO 3166-1" in result.stderr
    assert "line 6: status (allegation.status):" in result.stderr
    assert "published 3 of 5 rows" in result.stdout
    records = read_records(kafka, provisioned.topic("allegations"), until=has_ids(*good_ids))
    assert sorted(event_ids(records)) == sorted(good_ids)

    again = run_cli(provisioned, kafka, str(path))  # re-run: the same event ids again
    assert again.exit_code == 1
    records = read_records(kafka, provisioned.topic("allegations"), until=lambda rs: len(event_ids(rs)) >= 6)
    assert sorted(event_ids(records)) == sorted(good_ids * 2)


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_json_files_publish_cleanly_exit_0(provisioned: Settings, kafka: KafkaConnection, fmt: str) -> None:
    path = EXAMPLES / f"allegations.{fmt}"
    ids = [
        r.event.event_id
        for r in parse_text(
            path.read_text(), format=FileFormat(fmt), known_entities=None, now=datetime.now(UTC)
        )
        if r.event
    ]
    result = run_cli(provisioned, kafka, str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    records = read_records(kafka, provisioned.topic("allegations"), until=has_ids(*ids))
    assert sorted(event_ids(records)) == sorted(ids)


def test_dry_run_publishes_nothing(provisioned: Settings, kafka: KafkaConnection, tmp_path: Path) -> None:
    path, _ = mixed_csv(tmp_path)
    result = run_cli(provisioned, kafka, "--dry-run", str(path))
    assert result.exit_code == 1
    assert "3 of 5 rows valid, 2 invalid" in result.stdout
    clean = run_cli(provisioned, kafka, "--dry-run", str(EXAMPLES / "allegations.csv"))
    assert clean.exit_code == 0
    # then a real run; per partition records come in offset order, so anything a dry run had
    # sent (the same stable ids) would be read before the real run's records
    _, ids = mixed_csv(tmp_path)
    assert run_cli(provisioned, kafka, str(EXAMPLES / "allegations.csv")).exit_code == 0
    records = read_records(kafka, provisioned.topic("allegations"), until=has_ids(*ids))
    assert sorted(event_ids(records)) == sorted(ids)


def test_unreachable_kafka_exits_2_with_a_clear_message(provisioned: Settings) -> None:
    closed = KafkaConnection(bootstrap=f"127.0.0.1:{free_port()}")
    result = run_cli(provisioned, closed, "--timeout", "1", str(EXAMPLES / "allegations.csv"))
    assert result.exit_code == 2
    assert "did not acknowledge" in result.stderr
    assert "0 row(s) of allegations.csv were published" in result.stderr
    assert "Run the same command again" in result.stderr


def test_a_file_that_is_not_json_exits_2(
    provisioned: Settings, kafka: KafkaConnection, tmp_path: Path
) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"allegation_id": "x"},\n oops]')
    result = run_cli(provisioned, kafka, str(path))
    assert result.exit_code == 2
    assert "not valid JSON at line 2" in result.stderr


def test_publishing_as_an_agency_writes_its_inbound_topic_and_refuses_other_rows(
    provisioned: Settings, kafka: KafkaConnection, tmp_path: Path
) -> None:
    path, _ = mixed_csv(tmp_path)
    result = run_cli(provisioned, kafka, "--entity", "minusca", str(path))
    assert result.exit_code == 1, result.output
    assert "line 3: reporting_entity: MONUSCO is not MINUSCA (--entity)" in result.stderr
    assert f"published 2 of 5 rows to {provisioned.inbound_topic('MINUSCA')}" in result.stdout
    mine = [stable_event_id("MINUSCA", "SYNTH-CSV-2025-0001", n) for n in (1, 2)]
    records = read_records(kafka, provisioned.inbound_topic("MINUSCA"), until=has_ids(*mine))
    assert sorted(event_ids(records)) == sorted(mine)


def test_an_unknown_entity_is_refused_before_reading_the_file(
    provisioned: Settings, kafka: KafkaConnection
) -> None:
    result = run_cli(provisioned, kafka, "--entity", "NOPE", str(EXAMPLES / "allegations.csv"))
    assert result.exit_code == 2
    assert "NOPE is not a configured reporting entity" in result.output
