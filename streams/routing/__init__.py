"""Routing: who is told about an allegation event, why, and what each may see.

Rules are data (``deploy/config/routes.yaml``); this package only interprets them.
Everything here is pure: no Kafka, no clock, testable with a plain event.
"""

from seabus.streams.routing.minimise import minimise
from seabus.streams.routing.rules import Decision, RouteChoice, RoutingRules, load_rules

__all__ = ["Decision", "RouteChoice", "RoutingRules", "load_rules", "minimise"]
