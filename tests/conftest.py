"""Session fixtures: one real Kafka broker for the whole run, a topic prefix per test.

Set SEABUS_BOOTSTRAP to run the suite against an existing cluster instead.

Bus processes (`seabus run`, `seabus gateway`) never outlive their test: start them with
the ``buses`` fixture (or a ``BusPool``), and whatever a test still leaves running is
stopped when it ends (``_stop_leftover_buses``) and, for module fixtures, when the
session ends.

Markers stay honest (docs/TESTING.md): a test that uses the ``kafka`` fixture (directly or
through ``settings`` and the like) must carry ``pytest.mark.kafka`` — checked at collection;
a test that starts a broker itself (a ``java`` process, ``seabus run`` without a configured
cluster, ``seabus kafka up``) must carry it too, and a test that carries it must use the broker
— both checked while it runs. So ``pytest -m "not kafka"`` starts no broker.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from support import JAR_CACHE, TEST_JVM_OPTIONS, free_base_port, schedule, unique_prefix
from support.bus import BusPool, BusProcess, live_buses, stop_buses

from seabus.deploy.kafka import LocalCluster
from seabus.streams.config import Settings, load_settings
from seabus.streams.kafka_connection import KafkaConnection

# -- honest markers ---------------------------------------------------------------------------

_BROKER_STARTS: pytest.StashKey[list[str]] = pytest.StashKey()
_CALL_PASSED: pytest.StashKey[bool] = pytest.StashKey()
_current_item: list[pytest.Item] = []  # the test running now (one at a time in each process)


def _starts_a_broker(args: Sequence[str], env: dict[str, str] | None) -> str | None:
    """What in this command line starts a Kafka broker, or None: a JVM, or `seabus run` /
    `seabus kafka up` with no cluster configured (they start their own)."""
    argv = [str(a) for a in args]
    if not argv:
        return None
    if Path(argv[0]).name.startswith("java"):
        return "java"
    for i, arg in enumerate(argv):
        if arg == "seabus.deploy.cli.main" or Path(arg).name == "seabus":
            rest = argv[i + 1 :]
            environment = os.environ if env is None else env
            if environment.get("SEABUS_BOOTSTRAP"):
                return None  # a configured cluster: neither command starts one of its own
            if rest[:1] == ["run"]:
                return "seabus run (own local kafka)"
            if rest[:2] == ["kafka", "up"]:
                return "seabus kafka up"
            return None
    return None


_real_popen_init = subprocess.Popen.__init__


def _watching_popen_init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
    """Every subprocess the suite starts passes here: a broker start is recorded on the test
    running, and refused outright if that test is not marked ``kafka``."""
    argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
    what = _starts_a_broker([os.fsdecode(a) for a in argv], kwargs.get("env"))
    if what and _current_item:
        item = _current_item[-1]
        if item.get_closest_marker("kafka") is None:
            raise pytest.UsageError(
                f"{item.nodeid} starts a Kafka broker ({what}) but is not marked kafka: "
                "add `pytestmark = pytest.mark.kafka` (or @pytest.mark.kafka) so "
                '`pytest -m "not kafka"` stays broker-free'
            )
        item.stash.setdefault(_BROKER_STARTS, []).append(what)
    _real_popen_init(self, args, *rest, **kwargs)


subprocess.Popen.__init__ = _watching_popen_init  # type: ignore[method-assign]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that reaches the ``kafka`` fixture (through any fixture) without the marker
    would start the broker under ``-m "not kafka"``: refuse the run and name them all.
    Under xdist, each worker also tells the scheduler which files share a session bus."""
    shared = os.environ.get(_SHARED_KAFKA_ENV)
    if shared and hasattr(config, "workerinput"):
        schedule.write_units(Path(shared), items)
    unmarked = [
        item.nodeid
        for item in items
        if "kafka" in getattr(item, "fixturenames", ()) and item.get_closest_marker("kafka") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests use the kafka fixture but are not marked kafka "
            "(add `pytestmark = pytest.mark.kafka`):\n  " + "\n  ".join(unmarked)
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _current_item.append(item)
    try:
        return (yield)
    finally:
        _current_item.pop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.when == "call":
        item.stash[_CALL_PASSED] = report.passed
    return report


@pytest.fixture(autouse=True)
def _kafka_marker_is_used(request: pytest.FixtureRequest) -> Iterator[None]:
    """The other half: a test marked ``kafka`` that passed without the ``kafka`` fixture and
    without starting a broker did not need one; it belongs to the fast set."""
    yield
    item = request.node
    if (
        item.get_closest_marker("kafka") is not None
        and "kafka" not in request.fixturenames
        and not item.stash.get(_BROKER_STARTS, [])
        and item.stash.get(_CALL_PASSED, False)
    ):
        pytest.fail(
            f"{item.nodeid} is marked kafka but used no broker (no kafka fixture, started none): "
            "drop the marker so it runs with the fast tests",
            pytrace=False,
        )


# -- one broker for the whole run, also when pytest-xdist runs it in several processes -------

# Set by the xdist controller for its workers: the folder of the broker they share.
_SHARED_KAFKA_ENV = "SEABUS_TEST_SHARED_KAFKA_DIR"


def pytest_configure(config: pytest.Config) -> None:
    """Under ``pytest -n N`` the controller names one folder for the run's broker; the first
    worker that needs it starts it there, the others join it (``kafka`` below), and the
    controller stops it when every worker is done (``pytest_unconfigure``). One JVM instead of N
    on a 2-core machine, and every test still on a topic prefix of its own."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        os.environ[_SHARED_KAFKA_ENV] = tempfile.mkdtemp(prefix="seabus-suite-kafka-")
    shared = os.environ.get(_SHARED_KAFKA_ENV)
    schedule.register(config, Path(shared) if shared else None)  # tests/support/schedule.py


def pytest_unconfigure(config: pytest.Config) -> None:
    shared = os.environ.get(_SHARED_KAFKA_ENV)
    if shared and not hasattr(config, "workerinput"):
        cluster = LocalCluster.existing(directory=Path(shared) / "kafka", cache_dir=JAR_CACHE)
        if cluster is not None:
            cluster.down()
        shutil.rmtree(shared, ignore_errors=True)


def _shared_cluster(folder: Path) -> LocalCluster:
    """The run's one broker in ``folder``: started by the first worker to ask, joined by the rest."""
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        port_file = folder / "base_port"
        if not port_file.exists():
            port_file.write_text(str(free_base_port(2)))
        cluster = LocalCluster(
            directory=folder / "kafka",
            cache_dir=JAR_CACHE,
            jvm_options=TEST_JVM_OPTIONS,
            nodes=1,
            base_port=int(port_file.read_text()),
        )
        cluster.up()
        return cluster


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaConnection]:
    """The session's cluster as the bus's principal: a local SASL_SSL + SCRAM-SHA-512 broker,
    or the one SEABUS_BOOTSTRAP and SEABUS_KAFKA__* name."""
    if os.environ.get("SEABUS_BOOTSTRAP"):
        yield load_settings().connection()
        return
    shared = os.environ.get(_SHARED_KAFKA_ENV)
    if shared:
        connection = _shared_cluster(Path(shared)).connection()
        try:
            yield connection
        finally:
            stop_buses(grace=10)  # the controller stops the broker once every worker is done
        return
    cluster = LocalCluster(
        directory=tmp_path_factory.mktemp("kafka"),
        cache_dir=JAR_CACHE,
        jvm_options=TEST_JVM_OPTIONS,
        nodes=1,
        base_port=free_base_port(2),
    )
    info = cluster.up()
    try:
        yield info.connection
    finally:
        stop_buses(grace=10)  # while the broker is still there to shut down against
        cluster.down()


@pytest.fixture(scope="session")
def default_bus(
    kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, BusProcess]]:
    """One `seabus run` with the shipped configuration, shared by the modules that only need
    such a bus (tests/e2e routing and origin, the gateway end to end): a prefix of its own, and each module its own
    allegation ids and filters, so they never see each other's records. Started on first use,
    stopped cleanly (exit code 0 required) when the session ends. A module that reads a whole
    topic without filtering (publish_e2e reads every record's ce_id) keeps a bus of its own."""
    prefix = unique_prefix()
    with BusPool() as pool:
        process = pool.start(kafka, prefix, tmp_path_factory.mktemp("default-bus"))
        yield prefix, process
        process.stop_cleanly()


@pytest.fixture(scope="session", autouse=True)
def _stop_buses_at_session_end() -> Iterator[None]:
    yield
    stop_buses(grace=10)


@pytest.fixture(autouse=True)
def _stop_leftover_buses() -> Iterator[None]:
    """The safety net: a bus process started during a test (by its body or its function-scoped
    fixtures) and still running when the test is over is interrupted, then SIGKILLed with its
    process group. Module-scoped buses, started before the test, are left to their fixtures."""
    before = {id(b) for b in live_buses()}
    yield
    leftovers = [b for b in live_buses() if id(b) not in before]
    running = stop_buses(leftovers, grace=10)
    if running:
        warnings.warn(f"stopped bus process(es) the test left running: {running}", stacklevel=1)


@pytest.fixture
def buses() -> Iterator[BusPool]:
    """Start bus processes with ``buses.start(kafka, prefix, data_dir, **env)`` or
    ``buses.spawn(env)``; each is interrupted, then SIGKILLed with its process group, when
    the test ends, pass or fail."""
    with BusPool() as pool:
        yield pool


@pytest.fixture
def prefix() -> str:
    """A topic prefix (and app id) of this test's own, so tests never see each other's data."""
    return unique_prefix()


# Where an unmarked test's settings point: a port nothing listens on, so a test that does need
# the broker but is not marked fails at its first connection instead of starting one.
OFFLINE_BOOTSTRAP = "127.0.0.1:9"


@pytest.fixture
def settings(
    prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Settings:
    """This test's settings. A test marked ``kafka`` gets the session's broker (started on
    first use); an unmarked one (config loading, in-memory twins) gets the same settings
    pointing at no broker, so it runs with ``-m "not kafka"`` and starts none."""
    for key in [k for k in os.environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)
    common: dict[str, Any] = {
        "topic_prefix": prefix,
        "app_id": prefix,
        "data_dir": tmp_path / "data",
        "cache_dir": JAR_CACHE,
    }
    if request.node.get_closest_marker("kafka") is None:
        return load_settings(bootstrap=OFFLINE_BOOTSTRAP, **common)
    kafka: KafkaConnection = request.getfixturevalue("kafka")
    return load_settings(bootstrap=kafka.bootstrap, kafka=kafka.security, **common)
