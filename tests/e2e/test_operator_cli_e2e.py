"""`seabus obligations` and `seabus respond` as an operator runs them, against the real bus."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import bus_env, unique_prefix, wait_for
from support.bus import BusPool, producer
from support.routing import event

from seabus.deploy.cli.obligations_cmd import read_obligations
from seabus.schemas.codec import encode_model
from seabus.schemas.enums import PersonnelCategory as P
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka


def seabus(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seabus.deploy.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_obligations_then_respond(kafka: KafkaConnection, tmp_path: Path, buses: BusPool) -> None:
    prefix = unique_prefix()
    bus = buses.start(kafka, prefix, tmp_path / "data")
    env = bus_env(kafka=kafka, prefix=prefix, data_dir=tmp_path / "cli")
    aid = "SYNTH-CLI-0001"
    try:
        p = producer(kafka)
        subjects = [("SYNTH-SUBJ-CLI", "KEN", "KEN", P.MILITARY_CONTINGENT)]
        p.send(
            f"{prefix}.allegations", key=aid.encode(), value=encode_model(event(aid, subjects=subjects))
        ).get(30)
        p.close()

        def listed() -> list[dict[str, object]]:
            """What `seabus obligations --json` prints, run as an operator runs it (a process)."""
            out = seabus(env, "obligations", aid, "--json")
            return json.loads(out.stdout) if out.returncode == 0 else []

        def read() -> list[dict[str, object]]:
            """The same read in this process (the function the command calls): the polls below
            wait with it, each condition is then checked again on the command's own output."""
            updates = read_obligations(kafka=kafka, topic=f"{prefix}.obligations", allegation_id=aid)
            return [u.model_dump(mode="json") for u in updates]

        # The contributing state owes three things; the VRA (a victim is counted) acknowledges. The
        # synthetic event is months old, so KEN's DECIDE is overdue at once and opens OIOS's
        # INVESTIGATE (policies.yaml, opened_by overdue DECIDE) within a tick: five in all, the
        # fifth a moment after the first four.
        expected = {
            ("KEN", "ACKNOWLEDGE", "OPEN"),
            ("KEN", "DECIDE", "OPEN"),
            ("KEN", "REPORT_OUTCOME", "OPEN"),
            ("VRA", "ACKNOWLEDGE", "OPEN"),
            ("OIOS", "INVESTIGATE", "OPEN"),
        }

        def as_set(rows: list[dict[str, object]]) -> set[tuple[object, object, object]]:
            return {(r["recipient"], r["kind"], r["state"]) for r in rows}

        wait_for(lambda: as_set(read()) == expected, timeout=60, what="five obligations")
        assert as_set(listed()) == expected
        table = seabus(env, "obligations", aid)
        assert table.returncode == 0
        assert "ACKNOWLEDGE" in table.stdout

        answer = seabus(env, "respond", aid, "--recipient", "KEN", "--kind", "INVESTIGATION_ACCEPTED_NIO")
        assert answer.returncode == 0, answer.stderr
        assert "recorded INVESTIGATION_ACCEPTED_NIO from KEN" in answer.stdout

        def states(rows: list[dict[str, object]]) -> dict[str, tuple[str, str | None]]:
            return {
                str(r["kind"]): (str(r["state"]), r["answered_by"])  # type: ignore[misc]
                for r in rows
                if r["recipient"] == "KEN"
            }

        wait_for(
            lambda: states(read()).get("DECIDE", ("",))[0] == "SATISFIED",
            timeout=60,
            what="answer applied",
        )
        final = states(listed())
        assert final["DECIDE"] == ("SATISFIED", "KEN-CLI")
        assert final["ACKNOWLEDGE"] == ("SATISFIED", "KEN-CLI")  # a decision also acknowledges
        assert final["REPORT_OUTCOME"][0] == "OPEN"

        bad = seabus(env, "respond", aid, "--recipient", "XXQ")
        assert bad.returncode == 2
        assert "recipient" in bad.stderr
        missing = seabus(env, "obligations", "SYNTH-CLI-NEVER")
        assert missing.returncode == 1
    finally:
        bus.stop_cleanly()
