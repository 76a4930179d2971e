"""Fixtures for the dashboard tests that need no broker: settings pointing nowhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seabus.streams.config import Settings, load_settings


@pytest.fixture
def offline_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings of this test's own (data dir in tmp_path); nothing here connects to Kafka."""
    for key in [k for k in os.environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)
    return load_settings(bootstrap="127.0.0.1:9", topic_prefix="sea", data_dir=tmp_path / "data")
