"""Stable event ids, so publishing the same thing twice is a duplicate the bus drops.

The bus remembers every ``event_id`` of an allegation and drops repeats, so a
publisher that derives the id from *what* the event is (which allegation, which
version of it) can retry or re-run an import without creating duplicates
downstream. A corrected event must therefore carry a higher ``sequence``: the
same (entity, allegation, sequence) is the same event.

The derivation lives in :mod:`seabus.schemas.ids` with every other stable id;
this module keeps the SDK's public names (``seabus.connectors.publisher.stable_event_id``).
"""

from __future__ import annotations

from seabus.schemas.ids import IMPORT_NAMESPACE, new_event_id, stable_event_id

__all__ = ["IMPORT_NAMESPACE", "new_event_id", "stable_event_id"]
