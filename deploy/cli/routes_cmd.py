"""``seabus routes explain EVENT.json``: who gets an event and which rule chose each, without Kafka."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from seabus.deploy.cli.common import settings
from seabus.schemas.models import AllegationEvent
from seabus.schemas.validation import parse_model, recipient_class_of
from seabus.streams.routing import load_rules
from seabus.streams.routing.minimise import minimise


@dataclass(frozen=True, kw_only=True)
class _Row:
    recipient: str
    recipient_class: str
    rules: list[str]
    why: list[str]
    subjects_visible: list[str]
    narrative_visible: bool


@click.group()
def routes() -> None:
    """Inspect the routing rules."""


@routes.command()
@click.argument("event_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--rules", "rules_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def explain(event_file: Path, rules_file: Path | None, as_json: bool) -> None:
    """Print the recipients of the event in EVENT_FILE (JSON) and the rule that chose each."""
    s = settings()
    rules = load_rules(rules_file or s.resolve(s.routes_file))
    event = parse_model(AllegationEvent, event_file.read_text(encoding="utf-8"))
    decision = rules.decide(event)
    rows: list[_Row] = []
    for recipient, choices in decision.recipients.items():
        rclass = recipient_class_of(recipient)
        assert rclass is not None
        profile = rules.profiles[rclass.value]  # type: ignore[index]
        seen = minimise(event.allegation, recipient=recipient, recipient_class=rclass, profile=profile)
        rows.append(
            _Row(
                recipient=recipient,
                recipient_class=rclass.value,
                rules=[c.rule for c in choices],
                why=[c.explanation for c in choices],
                subjects_visible=[sub.subject_ref for sub in seen.subjects],
                narrative_visible=seen.confidential is not None,
            )
        )
    if as_json:
        payload = {"recipients": [asdict(r) for r in rows], "unroutable": decision.unroutable}
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"event {event.event_id} ({event.event_type.value}) of allegation {event.allegation_id}:")
    for row in rows:
        click.echo(f"  {row.recipient:<5} {row.recipient_class:<13} via {', '.join(row.rules)}")
        for why in row.why:
            click.echo(f"        - {why}")
        subjects = ", ".join(row.subjects_visible) or "(none)"
        click.echo(
            f"        sees subjects: {subjects}; narrative: {'yes' if row.narrative_visible else 'no'}"
        )
    if decision.unroutable:
        click.echo("  UNROUTABLE: no Member State could be determined; on-call is alerted.")
    for rule, value in decision.ignored:
        click.echo(f"  note: rule {rule} produced {value!r}, which is not a recipient id; ignored")
