"""``seabus schema check|list|release`` through click and as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from pathlib import Path as _Path
from typing import Any

from click.testing import CliRunner

from seabus.deploy.cli.schema_cmd import schema
from seabus.schemas.errors import SchemaLoadError
from seabus.schemas.registry import default_registry

# Counted from the files, not from the code under test.
SHIPPED = len(list((_Path(__file__).resolve().parents[2] / "schemas" / "avro").glob("*/v*.avsc")))

REPO = Path(__file__).resolve().parents[2]


def _break_response(schema_copy: Any) -> int:
    """A new version of Response drops the required field `responder`; returns its number.

    Every earlier version's readers are broken by it: one breakage per earlier version.
    """
    new: int = schema_copy.latest_version("response") + 1
    schema_copy.add_version(
        "response",
        lambda raw: raw.update(fields=[f for f in raw["fields"] if f["name"] != "responder"]),
    )
    return new


def test_check_passes_on_the_shipped_schemas() -> None:
    result = CliRunner().invoke(schema, ["check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK: {SHIPPED} schema version(s) compatible in both directions")


def test_check_fails_readably_on_an_incompatible_version(schema_copy: Any) -> None:
    new = _break_response(schema_copy)
    result = CliRunner().invoke(schema, ["check", "--dir", str(schema_copy.dir)])
    assert result.exit_code == 1
    assert (
        f"BREAKS  response: v1 readers cannot read v{new} data: field responder: "
        f"FIELD_REMOVED_WITHOUT_DEFAULT: v{new} removes field responder of seabus.Response"
    ) in result.output
    assert f"FAILED: {new - 1} breakage(s)" in result.output


def test_list_prints_every_version_with_its_fingerprint() -> None:
    result = CliRunner().invoke(schema, ["list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(default_registry().all_versions())
    for sv, line in zip(default_registry().all_versions(), lines, strict=True):
        assert line.split()[:4] == [sv.family, f"v{sv.version}", sv.full_name, sv.fingerprint.hex()]


def test_release_pins_new_versions_only_when_compatible(schema_copy: Any) -> None:
    runner = CliRunner()
    new = schema_copy.latest_version("escalation") + 1
    schema_copy.add_version(
        "escalation",
        lambda raw: raw["fields"].append(
            {"name": "ticket", "type": ["null", "string"], "default": None, "doc": "Ticket."}
        ),
    )
    result = runner.invoke(schema, ["release", "--dir", str(schema_copy.dir)])
    assert (result.exit_code, result.output) == (0, f"released: escalation v{new}\n")
    result = runner.invoke(schema, ["release", "--dir", str(schema_copy.dir)])
    assert result.output == "nothing to release: every version is already pinned\n"
    _break_response(schema_copy)
    result = runner.invoke(schema, ["release", "--dir", str(schema_copy.dir)])
    assert isinstance(result.exception, SchemaLoadError)
    assert "cannot release while the check fails" in str(result.exception)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, cwd=REPO, env=env, check=False
    )


def test_seabus_schema_check_as_a_process(schema_copy: Any) -> None:
    ok = _run("seabus.deploy.cli.main", "schema", "check")
    assert ok.returncode == 0, ok.stderr
    assert f"OK: {SHIPPED} schema version(s)" in ok.stdout

    new = _break_response(schema_copy)
    broken = _run("seabus.deploy.cli.main", "schema", "check", "--dir", str(schema_copy.dir))
    assert broken.returncode == 1
    assert "field responder: FIELD_REMOVED_WITHOUT_DEFAULT" in broken.stderr
    assert f"FAILED: {new - 1} breakage(s)" in broken.stderr
