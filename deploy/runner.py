"""The main job: local Kafka when none is configured, topics, then the Faust worker.

Whatever this function started it stops again on the way out (Ctrl-C, SIGTERM or
an error), so nothing is left running; a cluster that was already up is left up.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faust
import structlog
from kafka.errors import KafkaError

from seabus.deploy import access, worker_topics
from seabus.deploy import topics as provisioning
from seabus.deploy.gateway_service import GatewayService
from seabus.deploy.kafka import LocalCluster
from seabus.deploy.services import gateway_routes, worker_services
from seabus.schemas.clock import Clock, FileClock
from seabus.schemas.errors import ConfigError, KafkaUnavailable, SeabusError
from seabus.streams import faust_compat, logs
from seabus.streams.app import create_app
from seabus.streams.config import Settings
from seabus.streams.context import load_context
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.restore import restore_tables
from seabus.streams.retry import Backoff, retrying

log = structlog.get_logger(__name__)


class _Worker(faust.Worker):
    """Faust's worker, announcing readiness in our log format."""

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, _dump_tasks)
        extra = {"test_clock": os.environ[TEST_CLOCK_ENV]} if os.environ.get(TEST_CLOCK_ENV) else {}
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]  # "asyncio" or "uvloop"
        log.info("seabus worker ready", app_id=self.app.conf.id, event_loop=loop, **extra)


def _dump_tasks() -> None:
    """SIGUSR2: print every task's stack to stderr (diagnosing a stuck worker)."""
    for task in asyncio.all_tasks():
        print(f"TASK {task.get_name()}", file=sys.stderr)
        coro: Any = task.get_coro()
        while coro is not None:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
            if frame is not None:
                print(
                    f"    {frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}", file=sys.stderr
                )
            coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)


TEST_CLOCK_ENV = "SEABUS_TEST_CLOCK_FILE"


def _test_clock() -> Clock | None:
    """TEST ONLY (tests/e2e deadline runs): with SEABUS_TEST_CLOCK_FILE set, the worker's clock
    reads the time from that file instead of the system, so a test advances deadlines rather
    than sleeping through them. Environment only (no YAML key), so no configuration file can
    turn it on; unset, the real clock. Logged as a warning at start and on the ready line."""
    path = os.environ.get(TEST_CLOCK_ENV)
    if not path:
        return None
    clock = FileClock(Path(path))
    log.warning(
        "TEST CLOCK IN USE: deadlines follow the time in a file, not the real time; "
        f"never set {TEST_CLOCK_ENV} outside the test suite",
        file=path,
        now=clock.now().isoformat(),
    )
    return clock


def run_bus(settings: Settings, **app_overrides: Any) -> int:
    """Run until stopped; returns the worker's exit code."""
    _use_event_loop(settings.event_loop)
    test_clock = _test_clock()
    # Every configuration file was read and checked in load_settings and here, once, before anything starts.
    context = load_context(settings, clock=test_clock)
    gateway_enabled = GatewayService.enabled(settings)
    directory = context.directory
    cluster: LocalCluster | None = None
    started_here = False
    if settings.local_kafka:
        cluster = LocalCluster.wanted(
            directory=settings.data_dir / "kafka",
            cache_dir=settings.cache_dir,
            nodes=settings.local_kafka_nodes,
            base_port=settings.local_kafka_port,
            insecure=settings.local_kafka_insecure,
            jvm_options=settings.local_kafka_jvm_options,
        )
        started_here = not cluster.status().running
        # The local cluster's own credentials: the bus's principal, its password file, the CA.
        kafka = cluster.up().connection
        log.info("local kafka ready", started_here=started_here, **kafka.describe())
    else:
        kafka = settings.connection()
        log.info("kafka cluster configured", **kafka.describe())
    try:
        _provision_when_kafka_answers(settings, directory.ids(), kafka=kafka)
        if cluster is not None and cluster.secure:
            # The local cluster is ours, so its ACLs are too. On a configured cluster the operator
            # runs `seabus access apply` (the bus's principal may not be allowed to alter ACLs there,
            # or they may be managed elsewhere).
            _when_kafka_answers(
                "access control", lambda: access.apply(settings, directory.ids(), kafka=kafka)
            )
        context.ensure_topic = provisioning.NotifyTopicEnsurer(settings=settings, kafka=kafka)
        app = create_app(
            settings, kafka=kafka, context=context, loghandlers=[logs.handler()], **app_overrides
        )
        # Changelogs created, and every broker reporting every source and changelog topic whole,
        # before any agent runs: Faust reads a topic it has no metadata for as 0 partitions (issue 16).
        needed = faust_compat.worker_topics(app)
        _when_kafka_answers(
            "worker topics",
            lambda: worker_topics.ensure_worker_topics(
                needed, kafka=kafka, timeout_s=settings.topic_metadata_timeout_s
            ),
        )
        # RocksDB tables far behind their changelogs (a new or lost disk) are read back in bulk.
        _when_kafka_answers(
            "bulk table restore",
            lambda: restore_tables(app, kafka=kafka, min_records=settings.bulk_restore_min_records),
        )
        with open(os.devnull, "w") as quiet_stdout:  # Faust's spinner writes terminal codes there
            services = worker_services(
                settings=settings, kafka=kafka, context=context, gateway=gateway_enabled
            )
            if gateway_enabled:
                routes = gateway_routes(settings=settings, context=context, services=services, kafka=kafka)
                services.append(GatewayService(context=context, kafka=kafka, extra_routes=routes))
            worker = _Worker(
                app,
                *services,
                loglevel=settings.log_level,
                quiet=True,
                override_logging=False,
                redirect_stdouts=False,
                stdout=quiet_stdout,
            )
            return _execute(worker)
    finally:
        if cluster is not None and started_here:
            log.info("stopping the local kafka this run started")
            cluster.down()


def _use_event_loop(name: str) -> None:
    """uvloop for the worker when the settings say so (``event_loop``), before any loop exists."""
    if name != "uvloop":
        return
    import mode.loop

    try:
        mode.loop.use("uvloop")
    except ImportError:
        raise ConfigError(
            "event_loop: uvloop (seabus.yaml or SEABUS_EVENT_LOOP) but uvloop is not installed: "
            "pip install 'seabus[uvloop]', or set event_loop: asyncio"
        ) from None


def _provision_when_kafka_answers(
    settings: Settings, recipients: list[str], *, kafka: KafkaConnection, max_delay_s: float = 15.0
) -> None:
    """Topics first; a cluster that does not answer (yet) is waited for, never a reason to exit.

    A wrong configuration (ProvisioningError) still stops the bus at once.
    """
    _when_kafka_answers(
        "topic provisioning",
        lambda: provisioning.apply(settings, recipients, kafka=kafka),
        max_delay_s=max_delay_s,
    )


def _when_kafka_answers(step: str, attempt: Callable[[], object], *, max_delay_s: float = 15.0) -> None:
    """Run a start-up step, waiting out a cluster that does not answer (a broker down)."""
    retrying(
        retry_on=(KafkaUnavailable, KafkaError),
        backoff=Backoff(1.0, max_delay_s),
        on_retry=lambda w: log.warning(
            "waiting for the Kafka cluster",
            step=step,
            error=w.error.__class__.__name__,
            retry_in_s=w.retry_in_s,
        ),
    )(attempt)


def _execute(worker: faust.Worker) -> int:
    """Run the worker; a crash (e.g. ``faust_compat.WorkerMustStop``) is said, and exits non-zero."""
    code = 0
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        code = int(exc.code or 0)
    reason = worker.crash_reason
    if reason is None:
        return code
    # Only seabus's own messages are printed whole: another exception's text may quote a record.
    text = str(reason) if isinstance(reason, SeabusError) else "see the worker's log"
    log.critical("the worker stopped after a crash", error=reason.__class__.__name__, reason=text)
    return code or 1
