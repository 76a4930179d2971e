"""Prometheus metrics of one seabus process, served at ``GET /metrics`` on the gateway.

Three sources, each counted where it is known:

* the agents (this worker's share of the partitions): events received, routed,
  held, duplicate and dead-lettered (by reason), notifications by recipient
  class, the publish-to-notification latency, responses, escalations fired —
  each a one-line call in the agent to a function below;
* the read model (every partition, rebuilt from the topics at start): open and
  overdue obligations by escalation level, delivery attempts by channel and
  outcome (from the audit topic, so deliveries made by any process count once);
* a timer in the worker: lag per source partition (Kafka's end offset minus the
  bus's own next expected offset, :mod:`seabus.streams.progress`), and whether the worker
  is ready (settled, no agent crashed recently, no partition stalled).

With several workers, sum the agent counters across them; the read-model
figures are the same on every worker (take one, or the max). Label values are
enum names, topic names and partition numbers only: never an allegation id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

if TYPE_CHECKING:
    import faust

    from seabus.streams.deadlines.obligations import EscalationDraft
    from seabus.streams.intake import IntakeResult

__all__ = [
    "CONTENT_TYPE",
    "LADDER_LEVELS",
    "REGISTRY",
    "ViewStats",
    "WorkerHealth",
    "escalations_fired",
    "observe_intake",
    "observe_response",
    "render",
    "track_worker",
    "watch_view",
    "worker_health",
]

log = structlog.get_logger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
"""This process's metrics (not prometheus_client's global registry, so embedding stays clean)."""
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

CONTENT_TYPE = CONTENT_TYPE_LATEST

LADDER_LEVELS = ("NONE", "REMINDER", "OVERDUE", "SECOND_LEVEL")
"""Levels an open obligation can be at (``NONE``: nothing escalated yet); always exported, zero or not."""

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400)

EVENTS_RECEIVED = Counter(
    "seabus_events_received", "Messages read from the allegations topic by this worker.", registry=REGISTRY
)
EVENTS_ROUTED = Counter(
    "seabus_events_routed",
    "Allegation events applied and routed (a report releasing held updates counts each).",
    registry=REGISTRY,
)
EVENTS_DEAD_LETTERED = Counter(
    "seabus_events_dead_lettered",
    "Allegation messages sent to the dead-letter topic, by reason.",
    ["reason"],
    registry=REGISTRY,
)
EVENTS_HELD = Counter(
    "seabus_events_held", "Updates held until their allegation's REPORTED event arrives.", registry=REGISTRY
)
EVENTS_DUPLICATE = Counter(
    "seabus_events_duplicate", "Allegation events dropped as already seen (same event_id).", registry=REGISTRY
)
NOTIFICATIONS = Counter(
    "seabus_notifications",
    "Notifications produced to recipients' topics, by recipient class.",
    ["recipient_class"],
    registry=REGISTRY,
)
PUBLISH_TO_NOTIFICATION = Histogram(
    "seabus_publish_to_notification_seconds",
    "Time from an event's published_at to its notifications' routed_at.",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
RESPONSES = Counter(
    "seabus_responses",
    "Responses read by this worker, by kind and what the deadline engine made of them.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
INBOUND = Counter(
    "seabus_inbound_records",
    "Records read from principals' inbound topics, by principal and where they went (or refused).",
    ["principal", "outcome"],
    registry=REGISTRY,
)
ESCALATIONS = Counter(
    "seabus_escalations_fired", "Escalations produced by this worker, by level.", ["level"], registry=REGISTRY
)
CONSUMER_LAG = Gauge(
    "seabus_consumer_lag",
    "Records on a source partition not yet read by this worker (highwater minus position).",
    ["topic", "partition"],
    registry=REGISTRY,
)
SOURCE_OFFSETS = Counter(
    "seabus_source_offsets",
    "Source records the progress guard did not simply process in order, by kind: gap (records "
    "skipped by the consumer, sought back), redelivered (already processed, skipped), hole (offsets "
    "Kafka holds no record for), stalled (a partition with records and no progress, sought back).",
    ["topic", "kind"],
    registry=REGISTRY,
)
AGENT_FAILURES = Counter(
    "seabus_agent_record_failures",
    "Records an agent could not process and dead-lettered instead (kind: the exception class).",
    ["agent", "kind"],
    registry=REGISTRY,
)
AGENT_RETRIES = Counter(
    "seabus_agent_retries",
    "Attempts an agent repeated because Kafka did not answer (the record is never skipped).",
    ["agent"],
    registry=REGISTRY,
)
AGENT_RESTARTS = Counter(
    "seabus_agent_restarts",
    "Agent restarts by cause: crash (an exception escaped, logged at error level) or rebalance.",
    ["agent", "cause"],
    registry=REGISTRY,
)
WORKER_READY = Gauge(
    "seabus_worker_ready",
    "1 while the worker is started, neither rebalancing nor recovering its tables, no agent "
    "crashed recently and no source partition with records has stalled.",
    registry=REGISTRY,
)


# -- calls from the agents ----------------------------------------------------------


def observe_intake(result: IntakeResult) -> None:
    """Count what the intake step did with one message (called once per message)."""
    EVENTS_RECEIVED.inc()
    outcome = result.outcome.value
    if outcome == "dead_lettered":
        EVENTS_DEAD_LETTERED.labels(reason=result.reason.value if result.reason else "UNKNOWN").inc()
    elif outcome == "held":
        EVENTS_HELD.inc()
    elif outcome == "duplicate":
        EVENTS_DUPLICATE.inc()
    EVENTS_ROUTED.inc(len(result.applied))
    latencies: dict[str, float] = {}
    for note in result.notifications:
        NOTIFICATIONS.labels(recipient_class=note.recipient_class.value).inc()
        latencies[note.source_event_id] = (note.routed_at - note.source_published_at).total_seconds()
    for seconds in latencies.values():
        PUBLISH_TO_NOTIFICATION.observe(max(0.0, seconds))
    unroutable = sum(1 for o in result.outbound if o.route == "escalations")
    if unroutable:
        ESCALATIONS.labels(level="UNROUTABLE").inc(unroutable)


def observe_inbound(principal: str, outcome: str) -> None:
    """Count one inbound record: forwarded (``allegations``/``responses``) or ``refused``."""
    INBOUND.labels(principal=principal, outcome=outcome).inc()


def observe_response(kind: str, outcome: str) -> None:
    """Count one response (``outcome``: the engine's verdict, or ``dead_lettered``)."""
    RESPONSES.labels(kind=kind, outcome=outcome).inc()


def escalations_fired(drafts: Iterable[EscalationDraft]) -> None:
    """Count the escalations one deadline tick produced."""
    for draft in drafts:
        ESCALATIONS.labels(level=draft.level.value).inc()


# -- the read model -----------------------------------------------------------------


class ViewStats(Protocol):
    """What the read model exposes to metrics (:class:`seabus.streams.views.ViewIndex` is one)."""

    caught_up: bool

    def level_counts(self, now: datetime) -> tuple[dict[str, int], dict[str, int]]: ...

    def delivery_counts(self) -> Mapping[tuple[str, str], int]: ...


class _ViewCollector:
    """Obligation gauges and delivery counters computed from the read model at scrape time."""

    def __init__(self) -> None:
        self.views: list[ViewStats] = []

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        opened = GaugeMetricFamily(
            "seabus_obligations_open", "Open obligations, by current escalation level.", labels=["level"]
        )
        overdue = GaugeMetricFamily(
            "seabus_obligations_overdue",
            "Open obligations past their due time, by current escalation level.",
            labels=["level"],
        )
        deliveries = CounterMetricFamily(
            "seabus_deliveries",
            "Delivery attempts recorded on the audit topic, by channel and outcome.",
            labels=["channel", "outcome"],
        )
        caught_up = GaugeMetricFamily(
            "seabus_view_caught_up", "1 once the read model has read the topics' history.", labels=[]
        )
        for view in self.views[-1:]:  # one read model per process; the newest if a test made several
            open_counts, overdue_counts = view.level_counts(now)
            for level in sorted(set(LADDER_LEVELS) | set(open_counts)):
                opened.add_metric([level], open_counts.get(level, 0))
                overdue.add_metric([level], overdue_counts.get(level, 0))
            for (channel, outcome), count in sorted(view.delivery_counts().items()):
                deliveries.add_metric([channel, outcome], count)
            caught_up.add_metric([], 1 if view.caught_up else 0)
        yield from (opened, overdue, deliveries, caught_up)


_VIEWS = _ViewCollector()
REGISTRY.register(_VIEWS)


def watch_view(view: ViewStats) -> Callable[[], None]:
    """Export ``view``'s figures; returns the call that stops exporting them."""
    _VIEWS.views.append(view)

    def forget() -> None:
        if view in _VIEWS.views:
            _VIEWS.views.remove(view)

    return forget


# -- the worker: consumer lag and readiness ------------------------------------------


@dataclass(frozen=True, kw_only=True)
class WorkerHealth:
    """The worker's last self-check (monotonic ``checked_at``); ``None`` until the first."""

    ready: bool
    reason: str
    checked_at: float


_health: WorkerHealth | None = None


def worker_health() -> WorkerHealth | None:
    """The worker's last self-check in this process, or None (no worker here, or not started)."""
    return _health


def _set_health(ready: bool, reason: str) -> None:
    global _health
    _health = WorkerHealth(ready=ready, reason=reason, checked_at=time.monotonic())
    WORKER_READY.set(1 if ready else 0)


def track_worker(
    app: faust.App, *, topics: Iterable[str], interval_s: float = 2.0, stop_after_s: float | None = None
) -> None:
    """Every ``interval_s``: whether the worker is ready.

    Ready means every agent that ever started is running (not left dead by a crash),
    settled (no rebalance or table recovery under way) and no problem reported
    (:func:`set_problem`): an agent that crashed recently, a source partition with
    records and no progress, a record waiting too long for Kafka. The lag gauge is set
    by the progress timer from the bus's own offsets.

    An agent still dead ``stop_after_s`` after its crash (Faust's supervisor gave up
    on it) crashes the worker: a worker that holds partitions and routes none of them
    must not look alive (issue 16); it exits non-zero and its partitions move on.
    """
    health = HealthCheck(app=app, sources=frozenset(topics), stop_after_s=stop_after_s)

    @app.timer(interval=interval_s, name="seabus-worker-metrics")  # type: ignore[untyped-decorator]
    async def sample_worker() -> None:
        # An exception escaping a Faust timer stops the worker; a metrics sample must never do that.
        try:
            health.sample()
        except Exception as exc:  # logged with its traceback, and shown as not ready
            log.error("worker self-check failed", exc_info=exc)
            _set_health(False, f"self-check failed ({exc.__class__.__name__}); see the worker's log")


@dataclass(kw_only=True)
class HealthCheck:
    """One worker's self-check (:func:`track_worker`), a class so that tests can call it."""

    app: Any
    sources: frozenset[str]
    stop_after_s: float | None = None
    stopping: bool = False

    def sample(self) -> WorkerHealth:
        from seabus.streams import faust_compat

        dead = crashed_agents()
        if dead:
            text = "; ".join(
                f"the {agent} agent crashed ({error}) and has not run since, {down_s:.0f}s"
                for agent, (error, down_s) in sorted(dead.items())
            )
            _set_health(False, text)
            longest = max(down_s for _, down_s in dead.values())
            if self.stop_after_s is not None and not self.stopping and longest >= self.stop_after_s:
                self.stopping = True
                log.critical("an agent stays dead; stopping the worker", reason=text)
                faust_compat.crash_app(
                    self.app,
                    faust_compat.WorkerMustStop(f"{text}: the worker stops so that its partitions move on"),
                )
        elif not faust_compat.app_settled(self.app):
            _set_health(False, "rebalancing or recovering tables")
        elif unknown := sorted(t for t in self.sources if self.app.consumer.topic_partitions(t) == 0):
            # On the group's leader (the only member whose snapshot has counts; others say None)
            # 0 means the assignor left these topics out: nothing of them is routed until the
            # consumer's metadata knows them, so ask for it now (issue 16).
            faust_compat.request_metadata_refresh(self.app.consumer)
            _set_health(False, f"no partition metadata yet for {', '.join(unknown)}; refresh asked")
        elif found := problems():
            _set_health(False, "; ".join(found[k] for k in sorted(found)))
        else:
            count = len(faust_compat.active_source_partitions(self.app, self.sources))
            _set_health(True, f"{count} source partition(s) assigned")
        assert _health is not None
        return _health


def render() -> tuple[bytes, str]:
    """The Prometheus text exposition of this process and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE


# -- problems reported by the agents and the progress guard -------------------------

_problems: dict[str, tuple[str, float | None]] = {}


def set_problem(key: str, text: str | None, *, for_s: float | None = None) -> None:
    """Report (or clear, with None) a reason the worker is not ready; shown by ``/readyz``.

    ``for_s``: the problem clears itself after that many seconds (a crash that is over).
    """
    if text is None:
        _problems.pop(key, None)
    else:
        _problems[key] = (text, time.monotonic() + for_s if for_s is not None else None)


_crashed_agents: dict[str, tuple[str, float]] = {}


def agent_running(agent: str) -> None:
    """The agent (re)started: it is running."""
    _crashed_agents.pop(agent, None)


def agent_crashed(agent: str, error: str) -> None:
    """The agent died of ``error`` (an exception class name); it is not running until restarted."""
    _crashed_agents[agent] = (error, time.monotonic())


def crashed_agents() -> dict[str, tuple[str, float]]:
    """Agents dead after a crash and not restarted: name -> (error class, seconds since)."""
    now = time.monotonic()
    return {agent: (error, now - since) for agent, (error, since) in _crashed_agents.items()}


def problems() -> dict[str, str]:
    now = time.monotonic()
    for key in [k for k, (_, until) in _problems.items() if until is not None and until <= now]:
        del _problems[key]
    return {k: text for k, (text, _) in _problems.items()}


def report_lag(lags: Mapping[tuple[str, int], int], *, reporter: str = "") -> None:
    """Lag per source partition from the bus's own expected offsets (the progress timer).

    Each progress table's timer is its own ``reporter`` (the routed sources, the inbound
    topics): a partition is dropped only by the reporter that exported it, so one timer
    never removes the other's gauges (the scrape saw whichever ran last).
    """
    current = {(topic, str(partition)) for topic, partition in lags}
    for (topic, partition), lag in lags.items():
        CONSUMER_LAG.labels(topic, str(partition)).set(lag)
    exported = _exported_lag.setdefault(reporter, set())
    for gone in exported - current:
        CONSUMER_LAG.remove(*gone)
    exported.clear()
    exported.update(current)


_exported_lag: dict[str, set[tuple[str, str]]] = {}
