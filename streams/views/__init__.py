"""Read models for on-call: the overdue view and allegation timelines, rebuilt from the topics.

:class:`ViewIndex` is the pure part (records in, answers out); :class:`ViewReader`
moves records from Kafka into it; :class:`ViewService` runs that inside
``seabus run`` and :func:`read_view` once for ``seabus overdue``.
"""

from seabus.streams.views import models as _models
from seabus.streams.views.errors import ViewError
from seabus.streams.views.index import Ingested, ViewIndex
from seabus.streams.views.models import *  # noqa: F403 (the answer models: what models.__all__ lists)
from seabus.streams.views.overdue import OverdueFilter
from seabus.streams.views.reader import ReaderStatus, ViewReader
from seabus.streams.views.service import ViewService, read_view
from seabus.streams.views.topics import SourceTopic, TopicKind, classify, topic_pattern

__all__ = [
    "Ingested",
    "OverdueFilter",
    "ReaderStatus",
    "SourceTopic",
    "TopicKind",
    "ViewError",
    "ViewIndex",
    "ViewReader",
    "ViewService",
    "classify",
    "read_view",
    "topic_pattern",
]
__all__ += _models.__all__
