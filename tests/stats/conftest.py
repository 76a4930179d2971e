"""Fixtures of the statistics tests: the dashboard tests' offline settings."""

from dashboard.conftest import offline_settings

__all__ = ["offline_settings"]
