"""The routing job written as a Quix Streams user would write it (issue 16), for bench/routing/run.py.

Runs in its own virtual environment (``.build/bench-quix-venv``, made by run.py): quixstreams
pins pydantic below the version the bus is tested with, so installing it next to the bus
would change the bus under test. That venv holds ``quixstreams`` and seabus's light install
(the contract package, no Faust), nothing else of the bus.

What the job does, per input record of ``<prefix>.allegations``:

1. the topic's value deserializer decodes the single-object Avro (``C3 01``, CRC-64-AVRO
   fingerprint, datum) with fastavro and the shipped ``.avsc`` (a user's own deserializer,
   not seabus's codec);
2. a stateful filter drops an event id already seen for that allegation (Quix's RocksDB
   state, per message key, with its changelog topic: the Quix way of keeping state);
3. ``routes.yaml`` is applied with seabus's own rule engine (``seabus.streams.routing``,
   part of the light install): a user of the bus's contract would import it rather than
   write a second interpreter of the same YAML, and the benchmark compares frameworks, not
   two rule engines;
4. one notification per recipient (``expand=True``), minimised per recipient profile by the
   same code, with the bus's CloudEvents headers (``ce_source`` "seabus/router", as the
   router it stands in for), produced to ``<prefix>.notify.<RECIPIENT>`` with a value
   serializer writing the single-object Avro with fastavro and the shipped schema.

Not done here, because it is not the routing job: the deadline engine (the bus's
notifications carry the obligations it creates; these carry none) and the obligation
updates. run.py's output check leaves ``obligations`` and ``routed_at`` out of the
comparison for that reason.

Quix's defaults are kept (at-least-once, produce asynchronously, flush and commit every
5 s), as a Quix user would run it; the bus instead awaits each input's acknowledgements.

Run by run.py only: ``python quix_job.py --prefix P --routes FILE --state-dir DIR``, the
cluster in ``SEABUS_BOOTSTRAP`` / ``SEABUS_KAFKA__*`` (what ``KafkaConnection.env()`` gives).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form
from quixstreams import Application, State
from quixstreams.kafka.configuration import ConnectionConfig
from quixstreams.models import Deserializer, SerializationContext, Serializer, Topic

import seabus.schemas
from seabus.schemas.envelopes import headers_for
from seabus.schemas.models import AllegationEvent, Notification
from seabus.streams.routing.notifications import build_notifications
from seabus.streams.routing.rules import RoutingRules, load_rules

LOOP_READY = "bench loop ready"  # run.py waits for this line on stderr
SOURCE = "seabus/router"
MAGIC = b"\xc3\x01"
AVRO = Path(seabus.schemas.__file__).parent / "avro"


def _schema(family: str, version: str) -> tuple[bytes, Any]:
    """(fingerprint as on the wire, parsed schema) of one shipped .avsc."""
    parsed = parse_schema(json.loads((AVRO / family / f"{version}.avsc").read_text(encoding="utf-8")))
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO")), parsed


def _latest(family: str) -> str:
    return max((p.stem for p in (AVRO / family).glob("v*.avsc")), key=lambda s: int(s[1:]))


class SingleObjectAvro(Deserializer):
    """Avro single-object encoding -> dict, read at the latest shipped schema version."""

    def __init__(self, family: str) -> None:
        super().__init__()
        _, self.reader = _schema(family, _latest(family))
        self.writers = dict(_schema(family, p.stem) for p in (AVRO / family).glob("v*.avsc"))

    def __call__(self, value: bytes, ctx: SerializationContext) -> dict[str, Any]:
        if value[:2] != MAGIC or value[2:10] not in self.writers:
            raise ValueError("not a single-object Avro AllegationEvent")
        datum = schemaless_reader(io.BytesIO(value[10:]), self.writers[value[2:10]], self.reader)
        if not isinstance(datum, dict):
            raise ValueError("the datum is not a record")
        return datum


class NotificationAvro(Serializer):
    """Notification model -> Avro single-object encoding with the latest shipped schema."""

    def __init__(self) -> None:
        self.fingerprint, self.schema = _schema("notification", _latest("notification"))

    def __call__(self, value: Notification, ctx: SerializationContext) -> bytes:
        out = io.BytesIO()
        out.write(MAGIC + self.fingerprint)
        schemaless_writer(out, self.schema, value.to_avro(), strict_allow_default=True)
        return out.getvalue()


def connection_from_env(env: dict[str, str]) -> ConnectionConfig:
    """librdkafka's settings for the cluster run.py describes in ``SEABUS_*`` (KafkaConnection.env())."""
    protocol = env.get("SEABUS_KAFKA__SECURITY_PROTOCOL", "PLAINTEXT")
    options: dict[str, Any] = {"bootstrap_servers": env["SEABUS_BOOTSTRAP"], "security_protocol": protocol}
    if protocol in ("SASL_SSL", "SASL_PLAINTEXT"):
        password = env.get("SEABUS_KAFKA__PASSWORD")
        if password is None:
            password = Path(env["SEABUS_KAFKA__PASSWORD_FILE"]).read_text(encoding="utf-8").strip()
        options |= {
            "sasl_mechanism": env["SEABUS_KAFKA__SASL_MECHANISM"],
            "sasl_username": env["SEABUS_KAFKA__USERNAME"],
            "sasl_password": password,
        }
    if protocol in ("SSL", "SASL_SSL"):
        if "SEABUS_KAFKA__CA_FILE" in env:
            options["ssl_ca_location"] = env["SEABUS_KAFKA__CA_FILE"]
        if "SEABUS_KAFKA__CERT_FILE" in env:
            options["ssl_certificate_location"] = env["SEABUS_KAFKA__CERT_FILE"]
            options["ssl_key_location"] = env["SEABUS_KAFKA__KEY_FILE"]
        # KafkaConnection checks the broker's host name unless told not to; so does this.
        check = env.get("SEABUS_KAFKA__CHECK_HOSTNAME", "true").lower() != "false"
        options["ssl_endpoint_identification_algorithm"] = "https" if check else "none"
    return ConnectionConfig(**options)


def build_app(prefix: str, rules: RoutingRules, state_dir: Path, connection: ConnectionConfig) -> Application:
    app = Application(
        broker_address=connection,
        consumer_group=prefix,
        auto_offset_reset="earliest",
        state_dir=str(state_dir),
        loglevel="WARNING",
    )
    allegations = app.topic(
        f"{prefix}.allegations",
        key_deserializer="bytes",
        value_deserializer=SingleObjectAvro("allegation_event"),
    )
    outputs: dict[str, Topic] = {}
    value_serializer = NotificationAvro()

    def topic_for(value: Notification, key: bytes, timestamp: int, headers: Any) -> Topic:
        name = f"{prefix}.notify.{value.recipient}"
        if name not in outputs:
            outputs[name] = app.topic(name, key_serializer="bytes", value_serializer=value_serializer)
        return outputs[name]

    def first_time(value: dict[str, Any], state: State) -> bool:
        if state.get(value["event_id"]) is not None:
            return False
        state.set(value["event_id"], 1)
        return True

    def route(value: dict[str, Any]) -> list[Notification]:
        event = AllegationEvent.model_validate(value)
        decision = rules.decide(event)
        return build_notifications(
            event,
            recipients={r: list(c) for r, c in decision.recipients.items()},
            rules=rules,
            routed_at=datetime.now(UTC),
        )

    sdf = app.dataframe(allegations)
    sdf = sdf.filter(first_time, stateful=True)
    sdf = sdf.apply(route, expand=True)
    sdf = sdf.set_headers(
        lambda n, key, timestamp, headers: headers_for(
            n, n.notification_id, n.allegation_id, n.routed_at, SOURCE
        )
    )
    sdf.to_topic(topic_for)
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--routes", type=Path, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    args = parser.parse_args()
    app = build_app(
        args.prefix, load_rules(args.routes), args.state_dir, connection_from_env(dict(os.environ))
    )
    timer = threading.Timer(args.max_seconds, app.stop)  # bounded, like the other loops
    timer.daemon = True
    timer.start()
    print(LOOP_READY, file=sys.stderr, flush=True)
    app.run()  # SIGTERM / SIGINT stop it gracefully (flush, commit)
    timer.cancel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
