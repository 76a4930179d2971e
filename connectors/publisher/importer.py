"""Bulk import: read a JSON, NDJSON or CSV file into events, each with its line number.

Pure (text in, rows out) so it is tested without Kafka; ``seabus publish``
does the sending. Every record becomes either a valid event or the list of its
problems, located by the line where the record starts, so one bad row never
hides or stops the good ones.

Two defaults make re-running a file harmless: a record without ``event_id``
gets :func:`~seabus.connectors.publisher.ids.stable_event_id` of its (reporting_entity,
allegation_id, sequence), and one without ``published_at`` gets the import time.
The bus drops an event id it has already seen, so the second run of the same
file routes nothing new.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from seabus.connectors.publisher.csv_columns import MappedRow, check_header, map_row
from seabus.connectors.publisher.errors import ImportFileError
from seabus.connectors.publisher.ids import stable_event_id
from seabus.connectors.publisher.outgoing import event_problems
from seabus.schemas.errors import Problem
from seabus.schemas.models import AllegationEvent

__all__ = ["FileFormat", "ImportRow", "detect_format", "parse_text", "read_file"]

_PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"
"""Stands in for an id that cannot be derived; only ever used in a record that is invalid anyway."""


class FileFormat(StrEnum):
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"


_SUFFIXES = {
    ".json": FileFormat.JSON,
    ".ndjson": FileFormat.NDJSON,
    ".jsonl": FileFormat.NDJSON,
    ".csv": FileFormat.CSV,
}


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One record of the file: a valid event, or why not. ``line`` is 1-based."""

    line: int
    event: AllegationEvent | None
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.event is not None and not self.problems

    def report(self) -> list[str]:
        """``line N: path: message`` for every problem."""
        return [f"line {self.line}: {p}" for p in self.problems]


def detect_format(path: Path) -> FileFormat:
    """The format named by the file's suffix (.json, .ndjson/.jsonl, .csv)."""
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ImportFileError(
            f"cannot tell the format of {path.name} from its suffix; name it .json, .ndjson or .csv, "
            f"or pass --format json|ndjson|csv"
        ) from None


def read_file(
    path: Path,
    *,
    format: FileFormat | None = None,
    known_entities: frozenset[str] | None,
    now: datetime,
) -> list[ImportRow]:
    """Every record of ``path``; raises :class:`ImportFileError` if the file as a whole is unusable."""
    fmt = format or detect_format(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path} is not UTF-8 text ({exc.reason}); save it as UTF-8") from exc
    return parse_text(text, format=fmt, known_entities=known_entities, now=now)


def parse_text(
    text: str, *, format: FileFormat, known_entities: frozenset[str] | None, now: datetime
) -> list[ImportRow]:
    """Every record of ``text`` in ``format``, validated, with duplicates within the file flagged."""
    parse: Callable[[], list[ImportRow]]
    if format is FileFormat.JSON:

        def parse() -> list[ImportRow]:
            return [_record(line, obj, known_entities, now) for line, obj in _json_items(text)]

    elif format is FileFormat.NDJSON:

        def parse() -> list[ImportRow]:
            return _ndjson(text, known_entities, now)

    else:

        def parse() -> list[ImportRow]:
            return _csv(text, known_entities, now)

    return _flag_repeats(parse())


# --- records -------------------------------------------------------------------


def _with_defaults(data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    out = dict(data)
    out.setdefault("published_at", now.isoformat())
    if "event_id" not in out:
        out["event_id"] = _derived_id(out)
    return out


def _derived_id(data: Mapping[str, Any]) -> str:
    entity, allegation_id, sequence = (
        data.get("reporting_entity"),
        data.get("allegation_id"),
        data.get("sequence"),
    )
    if not isinstance(entity, str) or not isinstance(allegation_id, str):
        return _PLACEHOLDER_ID
    try:
        number = int(sequence) if isinstance(sequence, int | str) and not isinstance(sequence, bool) else None
    except ValueError:
        number = None
    if number is None:
        return _PLACEHOLDER_ID
    return stable_event_id(entity, allegation_id, number)


def _record(
    line: int,
    obj: Any,
    known_entities: frozenset[str] | None,
    now: datetime,
    mapped: MappedRow | None = None,
) -> ImportRow:
    if not isinstance(obj, Mapping):
        return ImportRow(line=line, event=None, problems=(Problem("", "is not a JSON object"),))
    event, problems = event_problems(_with_defaults(obj, now), known_entities=known_entities, now=now)
    if mapped is not None:
        problems = [_name_column(p, mapped) for p in problems]
    if problems:
        return ImportRow(line=line, event=None, problems=tuple(problems))
    return ImportRow(line=line, event=event)


def _name_column(problem: Problem, mapped: MappedRow) -> Problem:
    column = mapped.column_for(problem.path)
    if column is None or column == problem.path:
        return problem
    return Problem(f"{column} ({problem.path})", problem.message)


def _flag_repeats(rows: list[ImportRow]) -> list[ImportRow]:
    """A second record with the same event id would be dropped by the bus: say so now."""
    first: dict[str, int] = {}
    out = []
    for row in rows:
        if row.event is not None:
            earlier = first.setdefault(row.event.event_id, row.line)
            if earlier != row.line:
                row = ImportRow(
                    line=row.line,
                    event=None,
                    problems=(
                        Problem(
                            "event_id",
                            f"repeats the event of line {earlier} (same event_id, or the same "
                            f"reporting_entity, allegation_id and sequence); the bus would drop it "
                            f"as a duplicate. A later version of an allegation needs a higher sequence",
                        ),
                    ),
                )
        out.append(row)
    return out


# --- formats ---------------------------------------------------------------------


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _json_items(text: str) -> list[tuple[int, Any]]:
    """Top-level object, or each element of a top-level array, with its starting line."""
    decoder = json.JSONDecoder()
    start = _skip_space(text, 0)
    if start >= len(text):
        return []
    try:
        if text[start] != "[":
            obj, end = decoder.raw_decode(text, start)
            _expect_end(text, end)
            return [(_line_of(text, start), obj)]
        items: list[tuple[int, Any]] = []
        position = _skip_space(text, start + 1)
        if position < len(text) and text[position] == "]":
            _expect_end(text, position + 1)
            return items
        while True:
            obj, end = decoder.raw_decode(text, position)
            items.append((_line_of(text, position), obj))
            position = _skip_space(text, end)
            if position < len(text) and text[position] == ",":
                position = _skip_space(text, position + 1)
                continue
            if position < len(text) and text[position] == "]":
                _expect_end(text, position + 1)
                return items
            raise json.JSONDecodeError("Expecting ',' delimiter or ']'", text, position)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"the file is not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); fix it "
            f"(or use NDJSON, one object per line, so one bad line does not block the rest). "
            f"Nothing was published."
        ) from exc


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _expect_end(text: str, position: int) -> None:
    position = _skip_space(text, position)
    if position < len(text):
        raise json.JSONDecodeError("Extra data", text, position)


def _ndjson(text: str, known_entities: frozenset[str] | None, now: datetime) -> list[ImportRow]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append(
                ImportRow(
                    line=number,
                    event=None,
                    problems=(Problem("", f"is not valid JSON ({exc.msg} at column {exc.colno})"),),
                )
            )
            continue
        rows.append(_record(number, obj, known_entities, now))
    return rows


def _csv(text: str, known_entities: frozenset[str] | None, now: datetime) -> list[ImportRow]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] = []
    rows: list[ImportRow] = []
    while True:
        line = reader.line_num + 1  # csv.reader consumes exactly one record's lines per step
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ImportFileError(
                f"the CSV file is malformed at line {reader.line_num} ({exc}); fix the quoting. "
                f"Nothing was published."
            ) from exc
        if not any(c.strip() for c in cells):
            continue
        if not header:
            header = [c.strip() for c in cells]
            check_header(header)
            continue
        if len(cells) > len(header):
            problem = Problem("", f"has {len(cells)} cells but the header has {len(header)} columns")
            rows.append(ImportRow(line=line, event=None, problems=(problem,)))
            continue
        mapped = map_row(dict(zip(header, cells, strict=False)))
        rows.append(_record(line, mapped.data, known_entities, now, mapped))
    return rows
