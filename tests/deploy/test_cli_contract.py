"""The CLI's promises to scripts: a version, exit 2 for what the operator must fix, 1 for "changes pending"."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import bus_env

from streams.kafka_connection import KafkaConnection

CLI = Path(__file__).resolve().parents[2] / "deploy" / "cli"


def _seabus(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli.main", *args],
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
    applied = _seabus("topics", "apply", env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    settled = _seabus("topics", "plan", env=env)
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert "nothing to do" in settled.stdout
