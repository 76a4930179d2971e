"""Everything the bus needs, loaded and validated once at start-up, handed to every part.

The settings tree (seabus.yaml and its gateway, delivery and dashboard sections) plus
the data files it names (recipients, routes, policies, reporting entities): built once
by :func:`load_context` and given to the worker's agents, the gateway, the delivery
service and the dashboard, so none of them reads a file again. A bad file stops start-up
here, with the file, the entry and the fix named, before any message is read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from seabus.schemas.clock import Clock, SystemClock
from seabus.schemas.codec import Codec
from seabus.schemas.errors import ConfigError
from seabus.streams.config.recipients import RecipientsDirectory, load_recipients
from seabus.streams.config.sections import check_agencies
from seabus.streams.config.settings import Settings
from seabus.streams.deadlines.calendar import WorkingCalendar
from seabus.streams.deadlines.policy import PolicySet, load_policies
from seabus.streams.intake import Intake, ObligationHook
from seabus.streams.origin import reporting_entities
from seabus.streams.routing.rules import RoutingRules, load_rules


async def _no_topic_creation(topic: str) -> None:  # pragma: no cover - replaced by the runner
    return None


@dataclass(kw_only=True)
class BusContext:
    settings: Settings
    rules: RoutingRules
    directory: RecipientsDirectory
    known_entities: frozenset[str]
    codec: Codec
    clock: Clock = field(default_factory=SystemClock)
    policies: PolicySet
    ensure_topic: Callable[[str], Awaitable[None]] = _no_topic_creation
    max_message_bytes: int = 1_000_000
    tick_interval_s: float = 0.5

    def calendar_for(self, recipient: str) -> WorkingCalendar:
        """The recipient's own calendar (recipients.yaml ``calendar``) in its time zone, else the default."""
        entry = self.directory.get(recipient)
        if entry is None:
            return self.policies.calendar()
        return self.policies.calendar(entry.calendar, time_zone=entry.timezone)

    def intake(self, obligations: ObligationHook | None = None) -> Intake:
        """The routing step configured from this context (the agent's, a benchmark's)."""
        return Intake(
            rules=self.rules,
            codec=self.codec,
            known_entities=self.known_entities,
            directory=frozenset(self.directory.ids()),
            max_bytes=self.max_message_bytes,
            obligations=obligations,
        )


def load_context(settings: Settings, *, clock: Clock | None = None) -> BusContext:
    """Read each data file once and check them against each other (calendars, agencies)."""
    directory = load_recipients(settings.resolve(settings.recipients_file))
    policies_file = settings.resolve(settings.policies_file)
    policies = load_policies(policies_file)
    for recipient in directory.recipients:
        if recipient.calendar and not policies.has_calendar(recipient.calendar):
            raise ConfigError(
                f"{settings.resolve(settings.recipients_file)}: recipient {recipient.id}: calendar "
                f"'{recipient.calendar}' is not defined in {policies_file}; add it under 'calendars:' or "
                "remove the reference."
            )
    known_entities = reporting_entities(settings)
    if settings.gateway is not None:
        check_agencies(settings.gateway, known_entities, settings.section_file("gateway"))
    return BusContext(
        settings=settings,
        rules=load_rules(settings.resolve(settings.routes_file)),
        directory=directory,
        policies=policies,
        known_entities=known_entities,
        codec=Codec(max_bytes=settings.max_message_bytes),
        clock=clock or SystemClock(),
        max_message_bytes=settings.max_message_bytes,
        tick_interval_s=settings.tick_interval_s,
    )
