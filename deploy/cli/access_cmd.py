"""``seabus access plan|apply|credentials``: principals and their ACLs (docs/SECURITY.md)."""

from __future__ import annotations

import dataclasses
import json

import click

from seabus.deploy import access as control
from seabus.deploy.cli.common import (
    JSON_OPTION,
    connection_or_local,
    recipients,
    report_plan,
    settings,
)
from seabus.streams.kafka_connection import KafkaConnection

PASSWORD_ENV = "SEABUS_KAFKA__PASSWORD"


@click.group()
def access() -> None:
    """One SCRAM principal per recipient and per agency, with exactly the ACLs each needs."""


def _run(dry_run: bool, *, as_json: bool = False) -> None:
    s = settings()
    result = control.apply(s, recipients(s).ids(), kafka=connection_or_local(s), dry_run=dry_run)
    verb = "would add" if dry_run else "added"
    gone = "would remove" if dry_run else "removed"
    report_plan(
        dry_run=dry_run,
        as_json=as_json,
        pending=not result.empty,
        data={
            "add": [dataclasses.asdict(g) for g in result.add],
            "remove": [dataclasses.asdict(g) for g in result.remove],
            "unchanged": result.unchanged,
        },
        lines=result.describe(),
        summary=f"{result.unchanged} ACL(s) already as configured; "
        + ("nothing to do" if result.empty else f"{verb} {len(result.add)}, {gone} {len(result.remove)}"),
    )


@access.command()
@JSON_OPTION
def plan(as_json: bool) -> None:
    """Show the ACLs `apply` would add and the stale ones it would remove; exit 1 when changes are pending."""
    _run(dry_run=True, as_json=as_json)


@access.command()
@JSON_OPTION
def apply(as_json: bool) -> None:
    """Add the missing ACLs and remove stale ones of the principals seabus manages; idempotent."""
    _run(dry_run=False, as_json=as_json)


def _snippets(kafka: KafkaConnection, principal: str, mechanism: str, topic: str) -> str:
    sec = kafka.security
    ca = str(sec.ca_file) if sec.ca_file else None
    py_ca = f', ssl_cafile="{ca}"' if ca else ""
    ck_ca = f'\n        "ssl.ca.location": "{ca}",' if ca else ""
    java_ca = f"ssl.truststore.type=PEM\nssl.truststore.location={ca}\n" if ca else ""
    return f"""\
Each snippet reads the secret from ${PASSWORD_ENV}; keep it in a secret store, not in code.

kafka-python:
    import os
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(
        "{topic}", bootstrap_servers="{kafka.bootstrap}",
        security_protocol="{sec.security_protocol}", sasl_mechanism="{mechanism}",
        sasl_plain_username="{principal}", sasl_plain_password=os.environ["{PASSWORD_ENV}"]{py_ca},
        group_id="{principal}.case-system",
    )

confluent-kafka:
    import os
    from confluent_kafka import Consumer
    consumer = Consumer({{
        "bootstrap.servers": "{kafka.bootstrap}",
        "security.protocol": "{sec.security_protocol}",
        "sasl.mechanisms": "{mechanism}",
        "sasl.username": "{principal}",
        "sasl.password": os.environ["{PASSWORD_ENV}"],{ck_ca}
        "group.id": "{principal}.case-system",
    }})

Java client properties (Kafka clients 3.5+ read the environment variable):
bootstrap.servers={kafka.bootstrap}
security.protocol={sec.security_protocol}
sasl.mechanism={mechanism}
config.providers=env
config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\
    username="{principal}" password="${{env:{PASSWORD_ENV}}}";
{java_ca}group.id={principal}.case-system
"""


@access.command()
@click.argument("principal")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="principal, password, bootstrap, security_protocol, sasl_mechanism, ca_file as one JSON object.",
)
def credentials(principal: str, as_json: bool) -> None:
    """Create or rotate PRINCIPAL's SCRAM secret and print it once (the old one stops working).

    PRINCIPAL is a recipient of recipients.yaml or a reporting entity. The secret is stored
    nowhere: copy it into the principal's secret store now.
    """
    s = settings()
    kafka = connection_or_local(s)
    password = control.rotate_credentials(s, recipients(s).ids(), principal, kafka=kafka)
    mechanism = control.scram_mechanism(kafka)
    sec = kafka.security
    if as_json:
        click.echo(
            json.dumps(
                {
                    "principal": principal,
                    "password": password,
                    "bootstrap": kafka.bootstrap,
                    "security_protocol": sec.security_protocol,
                    "sasl_mechanism": mechanism,
                    "ca_file": str(sec.ca_file) if sec.ca_file else None,
                }
            )
        )
        return
    click.echo(
        f"principal {principal}: new {mechanism} secret (shown once; the previous one no longer works)"
    )
    click.echo(f"  password: {password}")
    click.echo(f"  bootstrap: {kafka.bootstrap}   security_protocol: {sec.security_protocol}")
    if sec.ca_file:
        click.echo(f"  CA: {sec.ca_file}")
    click.echo(
        f"  may: read {s.notify_topic(principal)}, write {s.inbound_topic(principal)}, use groups {principal}.*"
    )
    click.echo("")
    click.echo(_snippets(kafka, principal, mechanism, s.notify_topic(principal)))
