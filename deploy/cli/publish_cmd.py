"""``seabus publish FILE``: bulk import of allegation events from JSON, NDJSON or CSV.

Bad rows are reported (``line N: field: problem``) and skipped; the good ones
are published in batches, each acknowledged by Kafka before the next. Exit
status 0 when every row was published, 1 when any row was not, 2 when Kafka or
the file as a whole failed (the group turns a SeabusError into status 2).
Re-running the same file is safe: rows keep their event ids, and the bus drops
ids it has already routed.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from seabus.connectors.publisher.errors import PublishFailed
from seabus.connectors.publisher.importer import FileFormat, ImportRow, read_file
from seabus.connectors.publisher.outgoing import utc_now
from seabus.connectors.publisher.sdk import Publisher
from seabus.deploy.cli.common import JSON_OPTION, connection_or_local, echo_json, settings, timeout_option
from seabus.schemas.codec import Codec
from seabus.schemas.errors import Problem
from seabus.streams.config import Settings
from seabus.streams.origin import reporting_entities

__all__ = ["publish"]


class _Advance(Protocol):
    def __call__(self, count: int) -> None: ...


def known_entities(s: Settings) -> frozenset[str]:
    """The configured reporting entities (``reporting_entities_file``, else the shipped list)."""
    return reporting_entities(s)


@contextmanager
def _progress(total: int, *, enabled: bool) -> Iterator[_Advance]:
    if not enabled:
        yield lambda count: None
        return
    columns = (
        TextColumn("publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("publish", total=total)
        yield lambda count: bar.advance(task, count)


def _batches(rows: Sequence[ImportRow], size: int) -> Iterator[Sequence[ImportRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _own(row: ImportRow, entity: str) -> ImportRow:
    """A row of another entity is reported like any invalid row, before anything is sent."""
    if row.event is None or row.event.reporting_entity == entity:
        return row
    problem = Problem("reporting_entity", f"{row.event.reporting_entity} is not {entity} (--entity)")
    return dataclasses.replace(row, event=None, problems=(*row.problems, problem))


@click.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in FileFormat]),
    default=None,
    help="File format (default: from the suffix .json, .ndjson/.jsonl or .csv).",
)
@click.option(
    "--entity",
    default=None,
    help=(
        "Publish as this agency: to its own <prefix>.inbound.<ENTITY> (what its credentials may write); "
        "rows of another entity are refused. Default: <prefix>.allegations, for the bus's own credentials."
    ),
)
@click.option("--dry-run", is_flag=True, help="Validate and report every row; publish nothing.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
@timeout_option(default=30.0, help="Seconds Kafka has to acknowledge a batch.")
@JSON_OPTION
def publish(
    file: Path,
    fmt: str | None,
    entity: str | None,
    dry_run: bool,
    batch_size: int,
    timeout_s: float,
    as_json: bool,
) -> None:
    """Publish the allegation events in FILE (JSON, NDJSON or CSV; see docs/PUBLISHING.md)."""
    s = settings()
    entities = known_entities(s)
    if entity is not None:
        entity = entity.upper()
        if entities and entity not in entities:
            raise click.BadParameter(
                f"{entity} is not a configured reporting entity ({', '.join(sorted(entities))})",
                param_hint="--entity",
            )
    topic = s.inbound_topic(entity) if entity else s.topic("allegations")
    rows = read_file(file, format=FileFormat(fmt) if fmt else None, known_entities=entities, now=utc_now())
    if entity is not None:
        rows = [_own(row, entity) for row in rows]
    failed = 0
    problems: list[str] = []

    def report(line: str) -> None:
        problems.append(line)
        click.echo(line, err=True)

    def summary(published: int) -> None:
        if as_json:
            echo_json(
                {
                    "file": str(file),
                    "topic": None if dry_run else topic,
                    "dry_run": dry_run,
                    "rows": len(rows),
                    "valid": len(good),
                    "published": published,
                    "failed": failed,
                    "problems": problems,
                }
            )
        elif dry_run:
            click.echo(
                f"{file.name}: {len(good)} of {len(rows)} rows valid, {failed} invalid (dry run, nothing published)"
            )
        else:
            click.echo(
                f"{file.name}: published {published} of {len(rows)} rows to {topic}"
                + (f", {failed} failed (see above)" if failed else "")
            )

    for row in rows:
        if not row.ok:
            failed += 1
            for line in row.report():
                report(line)
    good = [row for row in rows if row.ok]
    if dry_run:
        summary(0)
        raise SystemExit(1 if failed else 0)

    published = 0
    if good:
        publisher = Publisher(
            kafka=connection_or_local(s),
            topic=topic,
            entity=entity,
            known_entities=entities,
            source="seabus-import",
            delivery_timeout_s=timeout_s,
            codec=Codec(max_bytes=s.max_message_bytes),
            client_id="seabus-import",
        )
        try:
            with _progress(len(good), enabled=sys.stdout.isatty()) as advance:
                for batch in _batches(good, batch_size):
                    result = publisher.publish_many([row.event for row in batch if row.event is not None])
                    for failure in result.failures:
                        row = batch[failure.index]
                        if isinstance(failure.error, PublishFailed):
                            raise PublishFailed(
                                f"{failure.error}\n{published} row(s) of {file.name} were published before "
                                f"Kafka stopped acknowledging (line {row.line} was not). Run the same command "
                                f"again when the broker is back: rows already published keep their event ids "
                                f"and the bus drops them as duplicates."
                            ) from failure.error
                        failed += 1
                        for problem in failure.error.problems:
                            report(f"line {row.line}: {problem}")
                    published += len(result.receipts)
                    advance(len(batch))
        finally:
            publisher.close()
    summary(published)
    raise SystemExit(1 if failed else 0)
