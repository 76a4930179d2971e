"""Errors of the on-call dashboard; each says what happened and what to do.

SeabusError
└── ConfigError
    └── DashboardConfigError   dashboard.yaml (or the local token file) is unusable
"""

from __future__ import annotations

from seabus.schemas.errors import ConfigError

__all__ = ["DashboardConfigError"]


class DashboardConfigError(ConfigError):
    """``dashboard.yaml`` or the local token file cannot be used as written."""
