"""The CLI's promises to scripts: a version, exit 2 for what the operator must fix, 1 for "changes pending"."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import bus_env

from seabus.schemas.codec import encode_model
from seabus.schemas.models import Escalation, Notification
from seabus.schemas.testing import synthetic_escalation, synthetic_notification
from seabus.streams.kafka_connection import KafkaConnection

CLI = Path(__file__).resolve().parents[2] / "deploy" / "cli"


def _seabus(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seabus.deploy.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_version_prints_the_installed_distributions_version() -> None:
    out = _seabus("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"seabus {importlib.metadata.version('seabus')}"


def test_an_unknown_log_level_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    out = _seabus("--log-level", "bogus", "schema", "list")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "'bogus' is not one of" in out.stderr


def test_an_unknown_log_level_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    env = bus_env(kafka=None, prefix="unused", data_dir=tmp_path, SEABUS_LOG_LEVEL="loud")
    out = _seabus("schema", "list", env=env)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "SEABUS_LOG_LEVEL" in out.stderr


def test_an_actionable_command_error_exits_2_with_its_message(tmp_path: Path) -> None:
    env = bus_env(kafka=None, prefix="unused", data_dir=tmp_path)
    env.pop("SEABUS_DEMO_WEBHOOK_SECRET", None)
    out = _seabus("demo-receivers", "--port", "1", env=env)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "SEABUS_DEMO_WEBHOOK_SECRET" in out.stderr


def test_commands_raise_the_actionable_error_not_clicks_exit_1_exception() -> None:
    raw = [
        f"{p.name}:{n}"
        for p in sorted(CLI.glob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"raise\s+click\.ClickException\(", line)
    ]
    assert raw == [], f"use deploy.cli.common.ActionableError (exit 2): {raw}"


@pytest.mark.kafka
def test_topics_plan_exits_1_while_changes_are_pending(
    kafka: KafkaConnection, prefix: str, tmp_path: Path
) -> None:
    env = bus_env(kafka=kafka, prefix=prefix, data_dir=tmp_path / "data")
    pending = _seabus("topics", "plan", env=env)
    assert pending.returncode == 1, pending.stdout + pending.stderr
    assert "would change" in pending.stdout
    as_json = _seabus("topics", "plan", "--json", env=env)
    assert as_json.returncode == 1, as_json.stderr
    planned = json.loads(as_json.stdout)
    assert planned["pending"] is True
    assert f"{prefix}.allegations" in {t["name"] for t in planned["create"]}
    applied = _seabus("topics", "apply", "--json", env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert {t["name"] for t in json.loads(applied.stdout)["create"]} == {t["name"] for t in planned["create"]}
    settled = _seabus("topics", "plan", env=env)
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert "nothing to do" in settled.stdout
    assert json.loads(_seabus("topics", "plan", "--json", env=env).stdout)["pending"] is False


@pytest.mark.kafka
def test_respond_and_tail_print_json(kafka: KafkaConnection, prefix: str, tmp_path: Path) -> None:
    env = bus_env(kafka=kafka, prefix=prefix, data_dir=tmp_path / "data")
    assert _seabus("topics", "apply", env=env).returncode == 0
    answered = _seabus("respond", "SYNTH-CLI-0001", "--recipient", "fra", "--json", env=env)
    assert answered.returncode == 0, answered.stderr
    receipt = json.loads(answered.stdout)
    assert receipt["recipient"] == "FRA"
    assert receipt["kind"] == "ACKNOWLEDGED"
    assert receipt["topic"] == f"{prefix}.responses"
    assert receipt["offset"] >= 0
    # Two records on FRA's topic and one that is not a record: tail --json prints one object per line.
    note = synthetic_notification(1, recipient="FRA")
    step = synthetic_escalation(2, recipient="FRA")
    producer = kafka.kafka_producer(acks="all")
    try:
        topic = f"{prefix}.notify.FRA"
        for value in (encode_model(note), encode_model(step), b"not avro"):
            producer.send(topic, key=b"SYNTH", value=value).get(timeout=30)
    finally:
        producer.close()
    tailed = _seabus("tail", "FRA", "--from-beginning", "--max", "3", "--timeout", "20", "--json", env=env)
    assert tailed.returncode == 0, tailed.stderr
    lines = [json.loads(line) for line in tailed.stdout.splitlines()]
    assert [line["type"] for line in lines] == [Notification.avro_name, Escalation.avro_name, None]
    assert lines[0]["record"]["notification_id"] == note.notification_id
    assert lines[1]["record"]["escalation_id"] == step.escalation_id
    assert "error" in lines[2]


def test_schema_list_and_check_print_json() -> None:
    listed = _seabus("schema", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    versions = json.loads(listed.stdout)
    assert {"label", "name", "fingerprint", "path"} <= set(versions[0])
    checked = _seabus("schema", "check", "--json")
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["ok"] is True
    assert sorted(report["versions"]) == sorted(v["label"] for v in versions)


def test_gateway_token_json_holds_the_token_and_its_hash(tmp_path: Path) -> None:
    import hashlib

    env = bus_env(kafka=None, prefix="unused", data_dir=tmp_path)
    made = _seabus("gateway", "token", "--recipient", "fra", "--json", env=env)
    assert made.returncode == 0, made.stderr
    out = json.loads(made.stdout)
    assert out["recipient"] == "FRA"
    assert out["section"] == "recipients"
    assert hashlib.sha256(out["token"].encode()).hexdigest() == out["token_sha256"]
