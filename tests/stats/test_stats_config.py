"""statistics.min_cell: shipped default, SEABUS_* override, and a bad value named with its fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seabus.schemas.errors import ConfigError
from seabus.streams.config import load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)


def test_default_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().statistics.min_cell == 3
    monkeypatch.setenv("SEABUS_STATISTICS__MIN_CELL", "5")
    assert load_settings().statistics.min_cell == 5


def test_a_bad_threshold_stops_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "seabus.yaml"
    config.write_text("statistics:\n  min_cell: 0\n")
    monkeypatch.setenv("SEABUS_CONFIG", str(config))
    with pytest.raises(ConfigError, match=r"statistics\.min_cell|statistics") as caught:
        load_settings()
    assert str(config) in str(caught.value)
