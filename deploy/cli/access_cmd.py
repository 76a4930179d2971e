"""``seabus access plan|apply|credentials``: principals and their ACLs (docs/SECURITY.md)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click

from seabus.deploy import access as control
from seabus.deploy.cli.common import (
    connection_or_local,
    plan_and_apply,
    recipients,
    settings,
)
from seabus.streams.kafka_connection import KafkaConnection

PASSWORD_ENV = "SEABUS_KAFKA__PASSWORD"


@click.group()
def access() -> None:
    """One SCRAM principal per recipient and per agency, with exactly the ACLs each needs."""


def _data(result: control.AccessPlan) -> dict[str, Any]:
    return {
        "add": [dataclasses.asdict(g) for g in result.add],
        "remove": [dataclasses.asdict(g) for g in result.remove],
        "unchanged": result.unchanged,
    }


def _changes(result: control.AccessPlan, dry_run: bool) -> str:
    if dry_run:
        return f"would add {len(result.add)}, would remove {len(result.remove)}"
    return f"added {len(result.add)}, removed {len(result.remove)}"


plan_and_apply(
    access,
    control.apply,
    data=_data,
    noun="ACL",
    unchanged=lambda result: result.unchanged,
    changes=_changes,
    plan_help="Show the ACLs `apply` would add and the stale ones it would remove; exit 1 when changes are pending.",
    apply_help="Add the missing ACLs and remove stale ones of the principals seabus manages; idempotent.",
)


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
