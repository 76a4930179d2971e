"""Read models for on-call: the overdue view and allegation timelines, rebuilt from the topics.

:class:`ViewIndex` is the pure part (records in, answers out); :class:`ViewReader`
moves records from Kafka into it; :class:`ViewService` runs that inside
``seabus run`` and :func:`read_view` once for ``seabus overdue``.
"""

from seabus.streams.views.errors import ViewError
from seabus.streams.views.index import Ingested, ViewIndex
from seabus.streams.views.models import (
    NO_LEVEL,
    DeadLetterEntry,
    DeliveryEntry,
    DueStatus,
    EscalationEntry,
    EventEntry,
    NotificationEntry,
    ObligationSummary,
    OverdueItem,
    OverdueReport,
    OverdueSummary,
    OwedItem,
    RecipientObligations,
    ResponseEntry,
    Timeline,
    TimelineEntry,
    TrendDay,
)
from seabus.streams.views.overdue import OverdueFilter
from seabus.streams.views.reader import ReaderStatus, ViewReader
from seabus.streams.views.service import ViewService, read_view
from seabus.streams.views.topics import SourceTopic, TopicKind, classify, topic_pattern

__all__ = [
    "NO_LEVEL",
    "DeadLetterEntry",
    "DeliveryEntry",
    "DueStatus",
    "EscalationEntry",
    "EventEntry",
    "Ingested",
    "NotificationEntry",
    "ObligationSummary",
    "OverdueFilter",
    "OverdueItem",
    "OverdueReport",
    "OverdueSummary",
    "OwedItem",
    "ReaderStatus",
    "RecipientObligations",
    "ResponseEntry",
    "SourceTopic",
    "Timeline",
    "TimelineEntry",
    "TopicKind",
    "TrendDay",
    "ViewError",
    "ViewIndex",
    "ViewReader",
    "ViewService",
    "classify",
    "read_view",
    "topic_pattern",
]
