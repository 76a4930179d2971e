"""``seabus schema``: check, list and release the Avro contract.

``check`` is what CI and people run before shipping a schema change: it exits 0
when every version is compatible with every other in both directions, and 1
with one line per breakage (which field broke which rule) otherwise. Other
failures are :class:`~seabus.schemas.errors.SeabusError` s, which ``seabus`` prints as
one line with exit status 2.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from seabus.deploy.cli.common import JSON_OPTION, echo_json
from seabus.schemas.compat import check_all, release_all
from seabus.schemas.registry import SCHEMA_DIR, SchemaRegistry

__all__ = ["schema"]

_DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Schema directory (default: the shipped schemas, {SCHEMA_DIR}).",
)


@click.group(name="schema")
def schema() -> None:
    """The Avro contract: compatibility check, fingerprints, releases."""


@schema.command("check")
@_DIR_OPTION
@JSON_OPTION
def check(directory: Path | None, as_json: bool) -> None:
    """Verify every schema version is fully transitively compatible."""
    report = check_all(directory)
    if as_json:
        echo_json(
            {
                "ok": report.ok,
                "versions": list(report.versions),
                "pairs_checked": report.pairs_checked,
                "findings": [
                    {**dataclasses.asdict(f), "rule": f.rule.value, "text": str(f)} for f in report.findings
                ],
            }
        )
        if not report.ok:
            raise SystemExit(1)
        return
    for line in report.lines():
        click.echo(line, err=not report.ok and line.startswith(("BREAKS", "FAILED")))
    if not report.ok:
        raise SystemExit(1)


@schema.command("list")
@_DIR_OPTION
@JSON_OPTION
def list_versions(directory: Path | None, as_json: bool) -> None:
    """Print every schema version with its record name and fingerprint."""
    registry = SchemaRegistry.load(directory)
    if as_json:
        echo_json(
            [
                {
                    "label": sv.label,
                    "name": sv.full_name,
                    "fingerprint": sv.fingerprint.hex(),
                    "path": str(sv.path),
                }
                for sv in registry.all_versions()
            ]
        )
        return
    for sv in registry.all_versions():
        click.echo(f"{sv.label:<24} {sv.full_name:<28} {sv.fingerprint.hex()}  {sv.path}")


@schema.command("release")
@_DIR_OPTION
def release(directory: Path | None) -> None:
    """Pin unreleased versions in released.yaml (only when the check passes)."""
    added = release_all(directory)
    if added:
        click.echo("released: " + ", ".join(added))
    else:
        click.echo("nothing to release: every version is already pinned")


if __name__ == "__main__":  # pragma: no cover - exercised by a subprocess test
    schema()
