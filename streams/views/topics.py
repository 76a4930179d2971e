"""Which bus topics the read model follows, and what each one carries.

The read model follows every topic of one prefix: the core topics by name and
each recipient's ``<prefix>.notify.<RECIPIENT>`` (including those created on
first use for Member States missing from the directory), so it matches names
rather than reading the directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["SourceTopic", "TopicKind", "classify", "topic_pattern"]


class TopicKind(StrEnum):
    """What a followed topic carries (the record type of its values)."""

    ALLEGATIONS = "allegations"
    NOTIFY = "notify"
    RESPONSES = "responses"
    ESCALATIONS = "escalations"
    DEADLETTER = "deadletter"
    AUDIT = "audit"
    OBLIGATIONS = "obligations"


_CORE = {kind.value: kind for kind in TopicKind if kind is not TopicKind.NOTIFY}


@dataclass(frozen=True, slots=True)
class SourceTopic:
    """A followed topic: its kind and, for a notify topic, the recipient."""

    name: str
    kind: TopicKind
    recipient: str | None = None


def classify(topic: str, prefix: str) -> SourceTopic | None:
    """The kind of ``topic`` under ``prefix``, or None when the read model ignores it."""
    head = prefix + "."
    if not topic.startswith(head):
        return None
    rest = topic[len(head) :]
    if rest in _CORE:
        return SourceTopic(topic, _CORE[rest])
    recipient = rest.removeprefix("notify.")
    if recipient != rest and recipient and "." not in recipient:
        return SourceTopic(topic, TopicKind.NOTIFY, recipient)
    return None


def topic_pattern(prefix: str) -> re.Pattern[str]:
    """A regular expression matching exactly the topics :func:`classify` accepts."""
    core = "|".join(sorted(_CORE))
    return re.compile(rf"^{re.escape(prefix)}\.(?:{core}|notify\.[^.]+)$")
