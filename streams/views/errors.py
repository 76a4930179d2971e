"""Errors of the read model; each says what happened and what to do.

SeabusError
└── ViewError            the read model cannot be built as asked (no topics of the prefix)
"""

from __future__ import annotations

from seabus.schemas.errors import SeabusError

__all__ = ["ViewError"]


class ViewError(SeabusError):
    """The read model cannot be built as asked."""
