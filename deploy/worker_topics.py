"""Before the worker starts: its changelogs exist and every broker reports every topic whole.

Why (issue 16, docs/RELIABILITY.md "PartitionsMismatch"): Faust learns partition
counts from its consumer's metadata, where a topic that metadata does not hold counts
as 0 partitions, and aiokafka refreshes it only every 5 minutes. When Faust created
the changelogs itself at start, the consumer's first metadata could come from a broker
that had not learnt them yet: table writes failed with ``PartitionsMismatch`` and the
assignor left the "missing" topics out, so the bus routed nothing for minutes. Here
the changelogs are created first (with the shape Faust would give them), and the start
waits until every broker that answers reports each source and changelog topic with
its expected partition count. It either returns, or raises a :class:`ProvisioningError`
naming the topics (``seabus run`` exits non-zero), or :class:`KafkaUnavailable` when no
broker answers at all (which ``seabus run`` waits out, as for topic provisioning).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import structlog
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.metadata import MetadataRequest
from kafka.errors import TopicAlreadyExistsError

from seabus.deploy.topics import new_topic, observe
from seabus.schemas.errors import KafkaUnavailable, ProvisioningError
from seabus.streams.faust_compat import WorkerTopics
from seabus.streams.kafka_connection import KafkaConnection

log = structlog.get_logger(__name__)

#: broker id -> topic -> partitions that broker reports (0: it does not know the topic)
BrokerViews = dict[int, dict[str, int]]
Probe = Callable[[list[str]], Awaitable[BrokerViews]]


def ensure_worker_topics(topics: WorkerTopics, *, kafka: KafkaConnection, timeout_s: float = 60.0) -> None:
    """Create the missing changelogs, then wait for every broker to report every topic whole."""
    create_changelogs(topics, kafka=kafka)
    wait_for_metadata(topics.expected(), kafka=kafka, timeout_s=timeout_s)


def create_changelogs(topics: WorkerTopics, *, kafka: KafkaConnection) -> list[str]:
    """Create the changelogs that do not exist yet; returns their names.

    An existing changelog with another partition count than its table is refused here,
    before any state is written to it.
    """
    if not topics.changelogs:
        return []
    try:
        admin = kafka.kafka_admin(client_id="seabus-worker-topics", request_timeout_ms=15000)
    except Exception as exc:
        raise KafkaUnavailable(
            f"cannot reach Kafka at {kafka.bootstrap} ({exc.__class__.__name__}) to create the changelogs"
        ) from exc
    try:
        observed = observe(admin, [t.name for t in topics.changelogs])
        wrong = [
            f"{t.name} has {observed[t.name].partitions} partitions, its table expects {t.partitions}"
            for t in topics.changelogs
            if t.name in observed and observed[t.name].partitions != t.partitions
        ]
        if wrong:
            raise ProvisioningError(
                "table changelogs do not match their tables (a table must have as many partitions as "
                "the topics that write it):\n  " + "\n  ".join(wrong) + "\nThe worker was not started."
            )
        missing = [t for t in topics.changelogs if t.name not in observed]
        created: list[str] = []
        for t in missing:
            try:
                admin.create_topics([new_topic(t)])
                created.append(t.name)
            except TopicAlreadyExistsError:  # another worker of the group was faster
                continue
        if created:
            log.info("changelog topics created before the worker", topics=created)
        return created
    finally:
        admin.close()


def wait_for_metadata(
    expected: Mapping[str, int],
    *,
    kafka: KafkaConnection | None = None,
    timeout_s: float = 60.0,
    probe: Probe | None = None,
) -> BrokerViews:
    """Return once every broker that answers reports each topic with its expected partitions.

    ``probe`` (tests) replaces the per-broker metadata requests; otherwise ``kafka`` is asked.
    Raises :class:`ProvisioningError` after ``timeout_s`` with what each broker reported.
    """
    loop = asyncio.new_event_loop()  # not the thread's current loop: Faust's worker sets up its own
    try:
        return loop.run_until_complete(_wait(dict(expected), kafka=kafka, timeout_s=timeout_s, probe=probe))
    finally:
        loop.close()


@dataclass
class _Outcome:
    views: BrokerViews = field(default_factory=dict)
    answered: bool = False


def missing_from(views: BrokerViews, expected: Mapping[str, int]) -> dict[int, dict[str, int]]:
    """Per broker, the topics it does not (yet) report with the expected partition count."""
    return {
        broker: {t: seen.get(t, 0) for t, want in expected.items() if seen.get(t, 0) != want}
        for broker, seen in views.items()
        if any(seen.get(t, 0) != want for t, want in expected.items())
    }


async def _wait(
    expected: dict[str, int], *, kafka: KafkaConnection | None, timeout_s: float, probe: Probe | None
) -> BrokerViews:
    names = sorted(expected)
    outcome = _Outcome()
    client: AIOKafkaClient | None = None
    if probe is None:
        assert kafka is not None
        client = kafka.aio_client(client_id="seabus-worker-topics")
        try:
            await client.bootstrap()
        except (TimeoutError, KafkaError, OSError) as exc:
            await client.close()
            raise KafkaUnavailable(
                f"cannot reach Kafka at {kafka.bootstrap} to check topic metadata ({exc.__class__.__name__})"
            ) from exc
        probe = _client_probe(client)
    deadline = time.monotonic() + timeout_s
    delay = 0.1
    try:
        while True:
            outcome.views = await probe(names)
            if outcome.views:
                outcome.answered = True
                if not missing_from(outcome.views, expected):
                    return outcome.views
            if time.monotonic() >= deadline:
                break
            log.info(
                "waiting for every broker to report the worker's topics",
                missing=missing_from(outcome.views, expected),
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
    finally:
        if client is not None:
            await client.close()
    if not outcome.answered:
        raise KafkaUnavailable("no broker answered a metadata request for the worker's topics")
    lines = [
        f"broker {broker}: "
        + ", ".join(
            f"{t} reports {n} partition(s), expected {expected[t]}" for t, n in sorted(topics.items())
        )
        for broker, topics in sorted(missing_from(outcome.views, expected).items())
    ]
    raise ProvisioningError(
        f"after {timeout_s:.0f}s the cluster's metadata still does not show the worker's topics whole:\n  "
        + "\n  ".join(lines)
        + "\nThe worker was not started (it would route nothing for those partitions). Check the "
        "brokers' logs and the bus's ACLs (Describe on those topics), then start again."
    )


def _client_probe(client: AIOKafkaClient) -> Probe:
    """Each broker of the cluster's metadata asked in turn; one that does not answer is skipped."""

    async def probe(names: list[str]) -> BrokerViews:
        views: BrokerViews = {}
        for broker in client.cluster.brokers():
            try:
                response = await client.send(broker.nodeId, MetadataRequest(names, False))
            except (TimeoutError, KafkaError, OSError) as exc:
                log.info(
                    "broker did not answer a metadata request",
                    broker=broker.nodeId,
                    error=exc.__class__.__name__,
                )
                continue
            views[broker.nodeId] = partition_counts(response, names)
        return views

    return probe


def partition_counts(response: object, names: list[str]) -> dict[str, int]:
    """Partitions per topic in a metadata response; a topic with an error (unknown, not authorised,
    being created) counts 0, as it does in Faust's view."""
    counts = dict.fromkeys(names, 0)
    for topic_data in getattr(response, "topics", ()):
        if len(topic_data) == 3:  # v0: error, name, partitions
            error_code, topic, partitions = topic_data
        else:
            error_code, topic, _internal, partitions, *_ = topic_data
        if error_code == 0 and topic in counts:
            counts[topic] = len(partitions)
    return counts
