"""``event_loop`` (issue 16): `seabus run` on uvloop when asked, on asyncio's own loop by default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import bus_env, unique_prefix, wait_for
from support.bus import BusPool

from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka


def _ready_loop(lines: list[str]) -> str | None:
    for line in lines:
        if line.startswith("{") and '"seabus worker ready"' in line:
            return str(json.loads(line)["event_loop"])
    return None


def test_seabus_run_uses_uvloop_when_the_settings_say_so(
    kafka: KafkaConnection, tmp_path: Path, buses: BusPool
) -> None:
    bus = buses.spawn(
        bus_env(kafka=kafka, prefix=unique_prefix(), data_dir=tmp_path / "data", SEABUS_EVENT_LOOP="uvloop")
    )
    bus.wait_ready()
    assert wait_for(lambda: _ready_loop(bus.lines), what="the ready line") == "uvloop"
    bus.stop_cleanly()
