"""Principals and ACLs as data: the desired ACLs (pure), their plan, and apply / credentials
against the session's real secured cluster (SASL_SSL + SCRAM-SHA-512, StandardAuthorizer)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.admin import UserScramCredentialDeletion
from kafka.errors import KafkaError
from pydantic import SecretStr
from support import JAR_CACHE, bus_env, free_base_port, wait_for
from support.bus import BusPool

from seabus.deploy import access
from seabus.deploy.access import Grant
from seabus.deploy.kafka import LocalCluster
from seabus.schemas.errors import ConfigError
from seabus.streams.config import Settings
from seabus.streams.config.recipients import load_recipients
from seabus.streams.kafka_connection import KafkaConnection

RECIPIENTS = ["OSC", "OIOS", "FRA", "URY"]


@pytest.fixture
def small(settings: Settings, tmp_path: Path) -> Settings:
    """The test's prefix with two reporting entities, so every ACL can be named in a test."""
    entities = tmp_path / "entities.yaml"
    entities.write_text("reporting_entities: [MINUSCA, OIOS]\n", encoding="utf-8")
    return settings.model_copy(update={"reporting_entities_file": entities})


@pytest.fixture
def secured(kafka: KafkaConnection) -> KafkaConnection:
    if not (kafka.tls and kafka.sasl):
        pytest.skip("the suite runs against a cluster without TLS and SASL (SEABUS_BOOTSTRAP)")
    return kafka


def topic(principal: str, name: str, operation: str) -> Grant:
    return Grant(
        principal=f"User:{principal}", resource="TOPIC", pattern="LITERAL", name=name, operation=operation
    )


def groups(principal: str, name: str | None = None, pattern: str = "PREFIXED") -> Grant:
    return Grant(
        principal=f"User:{principal}",
        resource="GROUP",
        pattern=pattern,
        name=name or f"{principal}.",
        operation="READ",
    )


# -- the desired ACLs, pure ----------------------------------------------------------------


def test_a_recipient_reads_its_topic_and_groups_and_writes_only_its_inbound_topic(small: Settings) -> None:
    p = small.topic_prefix
    fra = [g for g in access.desired_grants(small, RECIPIENTS) if g.user == "FRA"]
    assert sorted(fra) == sorted(
        [
            topic("FRA", f"{p}.notify.FRA", "READ"),
            topic("FRA", f"{p}.notify.FRA", "DESCRIBE"),
            topic("FRA", f"{p}.inbound.FRA", "WRITE"),
            topic("FRA", f"{p}.inbound.FRA", "DESCRIBE"),
            groups("FRA"),
        ]
    )


def test_an_agency_writes_its_inbound_topic_and_reads_its_own_feed(small: Settings) -> None:
    p = small.topic_prefix
    minusca = [g for g in access.desired_grants(small, RECIPIENTS) if g.user == "MINUSCA"]
    assert sorted(minusca) == sorted(
        [
            topic("MINUSCA", f"{p}.inbound.MINUSCA", "WRITE"),
            topic("MINUSCA", f"{p}.inbound.MINUSCA", "DESCRIBE"),
            topic("MINUSCA", f"{p}.notify.MINUSCA", "READ"),
            topic("MINUSCA", f"{p}.notify.MINUSCA", "DESCRIBE"),
            groups("MINUSCA"),
        ]
    )


def test_no_one_is_granted_anything_on_the_bus_only_topics(small: Settings) -> None:
    grants = access.desired_grants(small, RECIPIENTS)
    p = small.topic_prefix
    # Every principal, once each; OIOS is recipient and entity and gets the same five ACLs once.
    assert {g.user for g in grants} == {"OSC", "OIOS", "FRA", "URY", "MINUSCA"}
    assert len(grants) == 5 * 5
    assert all(g.permission == "ALLOW" and g.host == "*" for g in grants)
    named = {g.name for g in grants}
    assert not named & {small.topic(t) for t in access.BUS_ONLY_TOPICS}
    assert all(
        g.name.startswith((f"{p}.notify.{g.user}", f"{p}.inbound.{g.user}")) or g.resource == "GROUP"
        for g in grants
    )
    assert not any(
        g.name.startswith(f"{small.app_id}-") for g in grants if g.resource == "TOPIC"
    )  # changelogs
    assert not any(g.pattern == "PREFIXED" for g in grants if g.resource == "TOPIC")


@pytest.mark.parametrize("bad", ["fra", "F", "FR*", "A=B", "ANONYMOUS", "FR A"])
def test_an_id_that_is_no_safe_principal_name_is_refused(small: Settings, bad: str) -> None:
    with pytest.raises(ConfigError, match="cannot be a Kafka principal"):
        access.desired_grants(small, [*RECIPIENTS, bad])


def test_plan_removes_stale_acls_of_managed_principals_only(small: Settings) -> None:
    p = small.topic_prefix
    desired = access.desired_grants(small, RECIPIENTS)
    stale = [
        topic("FRA", f"{p}.allegations", "READ"),  # a current principal on a bus-only topic
        topic("FRA", "*", "READ"),  # a wildcard that reaches this bus's topics
        groups("FRA", "fra-case-system", "LITERAL"),  # a group outside FRA's prefix
        topic("GONE", f"{p}.notify.GONE", "READ"),  # a recipient since removed from the directory
        Grant(principal="User:URY", resource="TOPIC", pattern="PREFIXED", name=p, operation="READ"),
    ]
    kept = [
        topic("FRA", "elsewhere.notify.FRA", "READ"),  # another deployment's prefix on the same cluster
        topic("monitoring", f"{p}.audit", "READ"),  # an operator's own principal: not ours to judge
        topic("GONE", "elsewhere.notify.GONE", "READ"),
    ]
    result = access.plan(desired, [*desired[:3], *stale, *kept], settings=small)
    assert sorted(result.remove) == sorted(stale)
    assert sorted(result.add) == sorted(desired[3:])
    assert result.unchanged == 3
    assert access.plan(desired, [*desired, *kept], settings=small).empty


# -- against the real secured cluster -------------------------------------------------------


@pytest.mark.kafka
def test_apply_creates_the_acls_and_a_second_apply_changes_nothing(
    small: Settings, secured: KafkaConnection
) -> None:
    first = access.apply(small, RECIPIENTS, kafka=secured)
    desired = access.desired_grants(small, RECIPIENTS)
    p = small.topic_prefix
    assert set(first.add) >= {g for g in desired if g.resource == "TOPIC"}
    observed = set(access.observe(secured))
    assert set(desired) <= observed
    again = access.apply(small, RECIPIENTS, kafka=secured)
    assert again.empty
    assert again.unchanged == len(desired)
    assert access.apply(small, RECIPIENTS, kafka=secured, dry_run=True).empty
    # A stale ACL (someone granted FRA the allegations) is shown, then removed.
    admin = secured.kafka_admin()
    try:
        created = admin.create_acls([access._to_acl(topic("FRA", f"{p}.allegations", "READ"))])
    finally:
        admin.close()
    assert not created["failed"]
    # The broker's authorizer learns a new ACL from the metadata log a moment after create_acls
    # returns; wait until it is observed, as an operator's second look would.
    stale = topic("FRA", f"{p}.allegations", "READ")
    wait_for(lambda: stale in set(access.observe(secured)), timeout=60, what="the stale ACL to be observed")
    planned = access.apply(small, RECIPIENTS, kafka=secured, dry_run=True)
    assert planned.remove == [topic("FRA", f"{p}.allegations", "READ")]
    assert planned.add == []
    removed = access.apply(small, RECIPIENTS, kafka=secured)
    assert removed.remove == planned.remove
    assert topic("FRA", f"{p}.allegations", "READ") not in set(access.observe(secured))
    assert access.apply(small, RECIPIENTS, kafka=secured).empty


def _seabus(
    kafka: KafkaConnection, small: Settings, tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    assert small.reporting_entities_file is not None
    env = bus_env(
        kafka=kafka,
        prefix=small.topic_prefix,
        data_dir=tmp_path / "data",
        SEABUS_REPORTING_ENTITIES_FILE=small.reporting_entities_file,
    )
    return subprocess.run(
        [sys.executable, "-m", "seabus.deploy.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.kafka
def test_the_plan_and_apply_commands(small: Settings, secured: KafkaConnection, tmp_path: Path) -> None:
    planned = _seabus(secured, small, tmp_path, "access", "plan")
    assert planned.returncode == 1, planned.stderr  # changes pending
    assert f"add    ALLOW User:FRA READ topic {small.topic_prefix}.notify.FRA" in planned.stdout
    assert "would add" in planned.stdout
    applied = _seabus(secured, small, tmp_path, "access", "apply")
    assert applied.returncode == 0, applied.stderr
    again = _seabus(secured, small, tmp_path, "access", "apply")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith("nothing to do"), again.stdout
    settled = _seabus(secured, small, tmp_path, "access", "plan")
    assert settled.returncode == 0, settled.stdout + settled.stderr


def _as(kafka: KafkaConnection, principal: str, password: str) -> KafkaConnection:
    return KafkaConnection(
        bootstrap=kafka.bootstrap,
        security=kafka.security.model_copy(
            update={"username": principal, "password": SecretStr(password), "password_file": None}
        ),
    )


def _visible_topics(connection: KafkaConnection) -> set[str]:
    admin = connection.kafka_admin(bootstrap_timeout_ms=5000)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


@pytest.mark.kafka
@pytest.mark.usefixtures("_no_leftover_credentials")
def test_credentials_json_creates_a_principal_that_sees_only_its_own_topics(
    small: Settings, secured: KafkaConnection, tmp_path: Path
) -> None:
    from seabus.deploy import topics as provisioning

    provisioning.apply(small, RECIPIENTS, kafka=secured)
    access.apply(small, RECIPIENTS, kafka=secured)
    made = _seabus(secured, small, tmp_path, "access", "credentials", "URY", "--json")
    assert made.returncode == 0, made.stderr
    out = json.loads(made.stdout)
    assert set(out) == {
        "principal",
        "password",
        "bootstrap",
        "security_protocol",
        "sasl_mechanism",
        "ca_file",
    }
    assert out["principal"] == "URY"
    assert out["bootstrap"] == secured.bootstrap
    assert out["security_protocol"] == "SASL_SSL"
    assert out["sasl_mechanism"] == "SCRAM-SHA-512"
    assert out["ca_file"] == str(secured.security.ca_file)
    assert len(out["password"]) >= 32
    assert out["password"] not in made.stderr  # the secret is printed once, never logged
    ury = _as(secured, "URY", out["password"])
    p = small.topic_prefix
    assert {t for t in _visible_topics(ury) if t.startswith(f"{p}.")} == {
        f"{p}.notify.URY",
        f"{p}.inbound.URY",
    }

    rotated = _seabus(secured, small, tmp_path, "access", "credentials", "URY")
    assert rotated.returncode == 0, rotated.stderr
    assert "kafka-python" in rotated.stdout
    assert "confluent-kafka" in rotated.stdout
    assert "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule" in rotated.stdout
    new = next(line.split(": ", 1)[1] for line in rotated.stdout.splitlines() if "password: " in line)
    assert new != out["password"]
    assert rotated.stdout.count(new) == 1
    assert _visible_topics(_as(secured, "URY", new))
    with pytest.raises(KafkaError):  # the old secret no longer signs in
        _visible_topics(ury)


@pytest.mark.kafka
def test_credentials_for_an_unknown_id_name_the_lists(
    small: Settings, secured: KafkaConnection, tmp_path: Path
) -> None:
    result = _seabus(secured, small, tmp_path, "access", "credentials", "ZZZ")
    assert result.returncode == 2
    assert "ZZZ is neither a recipient in" in result.stderr
    assert "recipients.yaml" in result.stderr
    assert "reporting entity in" in result.stderr
    assert str(small.reporting_entities_file) in result.stderr
    assert result.stdout == ""


@pytest.fixture
def _no_leftover_credentials(secured: KafkaConnection) -> Iterator[None]:
    """Credentials made here are the session cluster's; delete URY's so other tests start clean."""
    yield
    admin = secured.kafka_admin()
    try:
        users = admin.describe_user_scram_credentials()
        if "URY" in users and users["URY"]["credential_infos"]:
            admin.alter_user_scram_credentials([UserScramCredentialDeletion("URY", "SCRAM-SHA-512")])
    finally:
        admin.close()


@pytest.mark.kafka
def test_run_applies_the_acls_on_its_own_local_cluster(
    small: Settings, tmp_path: Path, buses: BusPool, request: pytest.FixtureRequest
) -> None:
    """`seabus run` owns the local cluster it starts, so it brings that cluster's ACLs to the
    configuration as it does the topics (on a configured cluster the operator runs apply)."""
    data = tmp_path / "own"
    request.addfinalizer(lambda: _stop_local_kafka(data / "kafka"))
    assert small.reporting_entities_file is not None
    run = buses.spawn(
        bus_env(
            kafka=None,
            prefix=small.topic_prefix,
            data_dir=data,
            SEABUS_LOCAL_KAFKA_PORT=free_base_port(2),
            SEABUS_REPORTING_ENTITIES_FILE=small.reporting_entities_file,
        )
    )
    try:
        run.wait_ready(timeout=180)
        cluster = LocalCluster.existing(directory=data / "kafka", cache_dir=JAR_CACHE)
        assert cluster is not None
        own = cluster.connection()
        directory = load_recipients(small.resolve(small.recipients_file)).ids()
        desired = access.desired_grants(small, directory)
        assert access.plan(desired, access.observe(own), settings=small).empty
        assert any(g.user == "FRA" and g.resource == "GROUP" for g in desired)
    finally:
        code = run.interrupt()
    assert code == 0, run.tail(30)


def _stop_local_kafka(directory: Path) -> None:
    cluster = LocalCluster.existing(directory=directory, cache_dir=JAR_CACHE)
    if cluster is not None:
        cluster.down()
