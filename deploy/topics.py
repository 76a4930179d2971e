"""Topic provisioning: bring the cluster's topics to the configured shape, idempotently.

Planning is pure (desired vs. observed → actions or refusals) so it is tested
without Kafka; applying is a thin loop over kafka-python's admin client.
Shrinking a topic is refused: Kafka cannot remove partitions, and re-creating the
topic would lose every allegation in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import structlog
from kafka.admin import (
    ConfigResource,
    ConfigResourceType,
    KafkaAdminClient,
    NewPartitions,
    NewTopic,
)

from seabus.schemas.errors import KafkaUnavailable, ProvisioningError
from seabus.streams.config.settings import Settings, TopicSpec
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.origin import principals
from seabus.streams.retry import poll_until

log = structlog.get_logger(__name__)

CORE_TOPICS = ("allegations", "responses", "escalations", "deadletter", "audit", "obligations", "owners")
MANAGED_CONFIGS = {
    "min.insync.replicas": "min_insync_replicas",
    "retention.ms": "retention_ms",
    "cleanup.policy": "cleanup_policy",
}


@dataclass(frozen=True, kw_only=True)
class TopicShape:
    """What provisioning compares and creates of a topic: partitions, replication and configs."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class DesiredTopic(TopicShape):
    """A topic as the settings want it."""


@dataclass(frozen=True, kw_only=True)
class ObservedTopic(TopicShape):
    """A topic as the cluster describes it."""


class _Shaped(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def partitions(self) -> int: ...
    @property
    def replication_factor(self) -> int: ...
    @property
    def configs(self) -> dict[str, str]: ...


def new_topic(t: _Shaped) -> NewTopic:
    """The admin request that creates ``t`` (a desired topic, or a changelog the worker needs)."""
    return NewTopic(t.name, t.partitions, t.replication_factor, topic_configs=t.configs)


@dataclass(kw_only=True)
class Plan:
    create: list[DesiredTopic] = field(default_factory=list)
    add_partitions: list[tuple[str, int, int]] = field(default_factory=list)  # name, from, to
    alter_configs: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.create or self.add_partitions or self.alter_configs)

    def describe(self) -> list[str]:
        lines = [
            f"create {t.name} ({t.partitions} partitions, rf {t.replication_factor})" for t in self.create
        ]
        lines += [f"grow {n} from {a} to {b} partitions" for n, a, b in self.add_partitions]
        lines += [f"set {n}: " + ", ".join(f"{k}={v}" for k, v in c.items()) for n, c in self.alter_configs]
        lines += [f"REFUSED: {r}" for r in self.refusals]
        return lines


def _desired(name: str, spec: TopicSpec) -> DesiredTopic:
    if not (spec.partitions and spec.replication_factor and spec.min_insync_replicas):
        raise ProvisioningError(
            f"topic {name}: partitions, replication_factor and min_insync_replicas must be set"
        )
    if spec.min_insync_replicas > spec.replication_factor:
        raise ProvisioningError(
            f"topic {name}: min_insync_replicas {spec.min_insync_replicas} exceeds replication_factor "
            f"{spec.replication_factor}; no write with acks=all could ever succeed. Lower it."
        )
    return DesiredTopic(
        name=name,
        partitions=spec.partitions,
        replication_factor=spec.replication_factor,
        configs={
            "min.insync.replicas": str(spec.min_insync_replicas),
            "retention.ms": str(spec.retention_ms),
            "cleanup.policy": str(spec.cleanup_policy),
        },
    )


def desired_topics(settings: Settings, recipients: list[str]) -> list[DesiredTopic]:
    """The topics of the public contract: core topics, one notify topic per recipient and one
    inbound topic per principal (every recipient and every reporting entity)."""
    cfg = settings.topics
    topics = [_desired(settings.topic(n), getattr(cfg, n).over(cfg.defaults)) for n in CORE_TOPICS]
    notify = cfg.notify.over(cfg.defaults)
    topics += [_desired(settings.notify_topic(r), notify) for r in sorted(set(recipients))]
    inbound = cfg.inbound.over(cfg.defaults)
    topics += [_desired(settings.inbound_topic(p), inbound) for p in principals(settings, recipients)]
    return topics


def plan(
    desired: list[DesiredTopic],
    observed: dict[str, ObservedTopic],
    *,
    fixed: frozenset[str] = frozenset(),
) -> Plan:
    """Compare; ``fixed`` topics may not change partition count at all (state is keyed by it)."""
    result = Plan()
    for want in desired:
        have = observed.get(want.name)
        if have is None:
            result.create.append(want)
            continue
        changed = False
        if want.partitions < have.partitions:
            result.refusals.append(
                f"{want.name} has {have.partitions} partitions and the configuration asks for "
                f"{want.partitions}: Kafka cannot remove partitions and re-creating the topic would "
                f"lose its events. Set partitions to {have.partitions} or more."
            )
        elif want.partitions > have.partitions and want.name in fixed:
            result.refusals.append(
                f"{want.name} has {have.partitions} partitions and the configuration asks for "
                f"{want.partitions}: growing it would move allegations to other partitions than their "
                "history and the state built from it. Migrate to new topics instead, or keep "
                f"{have.partitions}."
            )
        elif want.partitions > have.partitions:
            result.add_partitions.append((want.name, have.partitions, want.partitions))
            changed = True
        if want.replication_factor != have.replication_factor:
            result.refusals.append(
                f"{want.name} has replication factor {have.replication_factor}, configuration says "
                f"{want.replication_factor}: changing it needs a partition reassignment "
                "(kafka-reassign-partitions), which seabus does not do on its own."
            )
        diff = {k: v for k, v in want.configs.items() if have.configs.get(k) != v}
        if diff:
            result.alter_configs.append((want.name, diff))
            changed = True
        if not changed:
            result.unchanged.append(want.name)
    return result


def connect_admin(
    kafka: KafkaConnection, client_id: str = "seabus-topics", *, connect_timeout_s: float = 30.0
) -> KafkaAdminClient:
    """An admin client on ``kafka``, or :class:`KafkaUnavailable` saying what to check (topics, access).

    ``connect_timeout_s`` bounds the wait for a first broker (kafka-python's bootstrap timeout);
    tests of an unreachable cluster shorten it rather than wait the full default."""
    try:
        return kafka.kafka_admin(
            client_id=client_id, request_timeout_ms=15000, bootstrap_timeout_ms=int(connect_timeout_s * 1000)
        )
    except Exception as exc:
        raise KafkaUnavailable(
            f"cannot reach Kafka at {kafka.bootstrap} ({exc.__class__.__name__}: {exc}); check SEABUS_BOOTSTRAP "
            "or start a local broker with `seabus kafka up`."
        ) from exc


def observe(admin: KafkaAdminClient, names: list[str]) -> dict[str, ObservedTopic]:
    existing = set(admin.list_topics())
    wanted = [n for n in names if n in existing]
    if not wanted:
        return {}
    described = admin.describe_topics(wanted)
    resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in wanted]
    raw = admin.describe_configs(resources, config_filter="all").get("topic", {})
    configs = {name: {k: str(v["value"]) for k, v in entries.items()} for name, entries in raw.items()}
    out = {}
    for topic in described:
        parts = topic["partitions"]
        out[topic["name"]] = ObservedTopic(
            name=topic["name"],
            partitions=len(parts),
            replication_factor=len(parts[0]["replica_nodes"]) if parts else 0,
            configs=configs.get(topic["name"], {}),
        )
    return out


def _wait_for_partitions(admin: KafkaAdminClient, want: dict[str, int], timeout_s: float = 30.0) -> None:
    """Return once metadata shows the grown partition counts, so a second apply sees them."""
    poll_until(
        lambda: {t["name"]: len(t["partitions"]) for t in admin.describe_topics(list(want))},
        until=lambda seen: all(seen.get(n, 0) >= count for n, count in want.items()),
        timeout_s=timeout_s,
        interval_s=0.2,
        timed_out=lambda seen: ProvisioningError(
            f"partitions were added but metadata still shows {seen} after {timeout_s:.0f}s"
        ),
    )


def _wait_for_configs(
    admin: KafkaAdminClient, want: list[tuple[str, dict[str, str]]], timeout_s: float = 30.0
) -> None:
    """Return once a describe shows the new configs, so a second apply (or ``topics plan``) sees them.

    A KRaft broker applies a config change from the metadata log after the alter has
    been acknowledged; a describe in between still shows the old value.
    """

    def pending() -> dict[str, dict[str, str]]:
        seen = observe(admin, [n for n, _c in want])
        shown = {n: seen[n].configs if n in seen else {} for n, _c in want}
        return {n: {k: v for k, v in c.items() if shown[n].get(k) != v} for n, c in want}

    poll_until(
        pending,
        until=lambda left: not any(left.values()),
        timeout_s=timeout_s,
        interval_s=0.2,
        timed_out=lambda left: ProvisioningError(
            f"configs were set but the broker still shows the old values of {left} after {timeout_s:.0f}s"
        ),
    )


def apply(
    settings: Settings,
    recipients: list[str],
    *,
    kafka: KafkaConnection,
    dry_run: bool = False,
    connect_timeout_s: float = 30.0,
) -> Plan:
    """Create or update topics; raises ProvisioningError (changing nothing) on any refusal."""
    desired = desired_topics(settings, recipients)
    admin = connect_admin(kafka, connect_timeout_s=connect_timeout_s)
    try:
        fixed = frozenset({settings.topic("allegations"), settings.topic("responses")})
        result = plan(desired, observe(admin, [d.name for d in desired]), fixed=fixed)
        if result.refusals:
            raise ProvisioningError("topics not changed:\n  " + "\n  ".join(result.refusals))
        if dry_run or result.empty:
            return result
        if result.create:
            admin.create_topics([new_topic(t) for t in result.create])
        if result.add_partitions:
            admin.create_partitions({n: NewPartitions(total_count=b) for n, _a, b in result.add_partitions})
            _wait_for_partitions(admin, {n: b for n, _a, b in result.add_partitions})
        if result.alter_configs:
            admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, n, configs=c) for n, c in result.alter_configs],
                incremental=True,
            )
            _wait_for_configs(admin, result.alter_configs)
        if result.create:
            admin.wait_for_topics([t.name for t in result.create], timeout_ms=30000)
        for line in result.describe():
            log.info("topic provisioning", change=line)
        return result
    finally:
        admin.close()


class NotifyTopicEnsurer:
    """Creates ``<prefix>.notify.<STATE>`` on first use for states absent from the directory.

    Routing never drops a Member State concerned just because it was not listed;
    its topic is created with the configured notify shape the first time.
    """

    def __init__(self, *, settings: Settings, kafka: KafkaConnection) -> None:
        self.settings = settings
        self.kafka = kafka
        self._known: set[str] = set()

    async def __call__(self, recipient: str) -> None:
        name = self.settings.notify_topic(recipient)
        if name in self._known:
            return
        import asyncio

        await asyncio.to_thread(self._create, name)
        self._known.add(name)

    def _create(self, name: str) -> None:
        from kafka.errors import TopicAlreadyExistsError

        cfg = self.settings.topics
        want = _desired(name, cfg.notify.over(cfg.defaults))
        admin = connect_admin(self.kafka)
        try:
            if name in set(admin.list_topics()):
                return
            try:
                admin.create_topics([new_topic(want)])
            except TopicAlreadyExistsError:
                return
            admin.wait_for_topics([name], timeout_ms=30000)
            log.info("created notify topic for a state outside the directory", topic=name)
        finally:
            admin.close()
