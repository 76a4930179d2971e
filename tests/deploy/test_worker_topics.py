"""Issue 16: before the worker starts, its changelogs exist and every broker reports every topic whole."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from support import bus_env, create_topic, unique_prefix
from support.bus import BusPool

from seabus.deploy import topics as provisioning
from seabus.deploy import worker_topics
from seabus.deploy.worker_topics import BrokerViews
from seabus.schemas.errors import KafkaUnavailable, ProvisioningError
from seabus.streams import faust_compat
from seabus.streams.app import create_app
from seabus.streams.config import Settings
from seabus.streams.context import load_context
from seabus.streams.kafka_connection import KafkaConnection

EXPECTED = {"SYNTH.allegations": 6, "SYNTH-allegation-state-changelog": 6}


class Cluster:
    """Simulated metadata answers: one dict of broker views per poll (the last repeats)."""

    def __init__(self, *answers: BrokerViews) -> None:
        self.answers = list(answers)
        self.polls = 0

    async def __call__(self, names: list[str]) -> BrokerViews:
        self.polls += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def whole() -> dict[str, int]:
    return dict(EXPECTED)


def test_the_start_waits_until_every_broker_knows_the_new_changelog() -> None:
    lagging = whole() | {"SYNTH-allegation-state-changelog": 0}
    cluster = Cluster({1: whole(), 2: lagging}, {1: whole(), 2: lagging}, {1: whole(), 2: whole()})
    views = worker_topics.wait_for_metadata(EXPECTED, probe=cluster, timeout_s=60)
    assert cluster.polls == 3
    assert views == {1: whole(), 2: whole()}


def test_metadata_that_never_converges_fails_loudly_naming_broker_and_topic() -> None:
    cluster = Cluster({1: whole(), 3: whole() | {"SYNTH-allegation-state-changelog": 0}})
    with pytest.raises(ProvisioningError) as raised:
        worker_topics.wait_for_metadata(EXPECTED, probe=cluster, timeout_s=0.0)
    text = str(raised.value)
    assert "broker 3: SYNTH-allegation-state-changelog reports 0 partition(s), expected 6" in text
    assert "broker 1" not in text
    assert "not started" in text


def test_no_broker_answering_is_kafka_unavailable_which_seabus_run_waits_out() -> None:
    with pytest.raises(KafkaUnavailable):
        worker_topics.wait_for_metadata(EXPECTED, probe=Cluster({}), timeout_s=0.0)


def test_a_topic_with_an_error_counts_zero_partitions() -> None:
    response = SimpleNamespace(
        topics=[
            (0, "SYNTH.allegations", False, [(0, p, 1, [1], [1]) for p in range(6)]),
            (3, "SYNTH-allegation-state-changelog", False, []),  # UNKNOWN_TOPIC_OR_PARTITION
        ]
    )
    assert worker_topics.partition_counts(response, sorted(EXPECTED)) == {
        "SYNTH.allegations": 6,
        "SYNTH-allegation-state-changelog": 0,
    }


# -- against the real broker ---------------------------------------------------------


def _app(settings: Settings, kafka: KafkaConnection) -> faust_compat.WorkerTopics:
    context = load_context(settings)
    provisioning.apply(settings, context.directory.ids(), kafka=kafka)
    app = create_app(settings, kafka=kafka, context=context)
    return faust_compat.worker_topics(app)


@pytest.mark.kafka
def test_changelogs_are_created_as_faust_would_and_a_fresh_consumer_is_assigned_everything(
    settings: Settings, kafka: KafkaConnection
) -> None:
    needed = _app(settings, kafka)
    names = {t.name for t in needed.changelogs}
    assert f"{settings.app_id}-allegation-state-changelog" in names
    assert needed.sources[settings.topic("allegations")] == 6

    worker_topics.ensure_worker_topics(needed, kafka=kafka, timeout_s=60)

    admin = kafka.kafka_admin()
    try:
        observed = provisioning.observe(admin, sorted(names))
    finally:
        admin.close()
    for t in needed.changelogs:
        assert observed[t.name].partitions == t.partitions
        assert observed[t.name].configs["cleanup.policy"] == "compact"
        assert observed[t.name].configs["min.insync.replicas"] == t.configs["min.insync.replicas"]
    assert worker_topics.create_changelogs(needed, kafka=kafka) == []  # a second start creates nothing

    # What the worker's consumer then sees on its very first assignment: every partition of every
    # source and changelog topic (the assignor leaves out a topic it has no metadata for).
    async def first_assignment() -> Counter[str]:
        consumer = kafka.aio_consumer(group_id=f"{settings.app_id}-probe", enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.subscribe(topics=sorted(needed.expected()))
            while not consumer.assignment():
                await consumer.getmany(timeout_ms=200)
            return Counter(tp.topic for tp in consumer.assignment())
        finally:
            await consumer.stop()

    assigned = asyncio.run(asyncio.wait_for(first_assignment(), timeout=120))
    assert dict(assigned) == needed.expected()


@pytest.mark.kafka
def test_a_changelog_of_the_wrong_shape_stops_the_start(settings: Settings, kafka: KafkaConnection) -> None:
    needed = _app(settings, kafka)
    state = next(t for t in needed.changelogs if t.name.endswith("-allegation-state-changelog"))
    create_topic(kafka, state.name, 3, wait=True)
    with pytest.raises(ProvisioningError) as raised:
        worker_topics.ensure_worker_topics(needed, kafka=kafka, timeout_s=60)
    assert f"{state.name} has 3 partitions, its table expects 6" in str(raised.value)


@pytest.mark.kafka
def test_a_source_topic_that_does_not_exist_times_out_with_its_name(
    settings: Settings, kafka: KafkaConnection
) -> None:
    missing = {f"{settings.topic_prefix}.SYNTH-never-created": 6}
    with pytest.raises(ProvisioningError) as raised:
        worker_topics.wait_for_metadata(missing, kafka=kafka, timeout_s=0.0)
    assert f"{settings.topic_prefix}.SYNTH-never-created reports 0 partition(s), expected 6" in str(
        raised.value
    )


@pytest.mark.kafka
def test_seabus_run_with_a_wrong_changelog_exits_non_zero_without_starting_the_worker(
    kafka: KafkaConnection, tmp_path: Path, buses: BusPool
) -> None:
    prefix = unique_prefix()
    changelog = f"{prefix}-allegation-state-changelog"
    create_topic(kafka, changelog, 3, wait=True)
    run = buses.spawn(bus_env(kafka=kafka, prefix=prefix, data_dir=tmp_path / "data"))
    code = run.proc.wait(timeout=180)
    output = "".join(run.lines)
    assert code == 2, run.tail()
    assert f"{changelog} has 3 partitions, its table expects 6" in output
    assert not run.saw("seabus worker ready")


_CRASHING_WORKER = """
import sys
from seabus.deploy.runner import _Worker, _execute
from seabus.streams import faust_compat
from seabus.streams.config import load_settings

settings = load_settings()
app = settings.connection().faust_app(settings.app_id, web_enabled=False, datadir=str(settings.data_dir))

@app.timer(interval=0.2)
async def give_up() -> None:
    faust_compat.crash_app(app, faust_compat.WorkerMustStop("SYNTH: the intake agent stays dead"))

sys.exit(_execute(_Worker(app, loglevel="info", quiet=True, override_logging=False, redirect_stdouts=False)))
"""


@pytest.mark.kafka
def test_a_crashed_app_makes_the_real_worker_exit_non_zero(kafka: KafkaConnection, tmp_path: Path) -> None:
    """What faust_compat.crash_app does to a running Faust worker: it stops, exit status 1."""
    env = bus_env(kafka=kafka, prefix=unique_prefix(), data_dir=tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-c", _CRASHING_WORKER],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "the worker stopped after a crash" in done.stdout
    assert "SYNTH: the intake agent stays dead" in done.stdout
