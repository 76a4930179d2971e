"""`seabus run` with the on-call view in its child process (the default, issue 16), on a real broker.

The dashboard answers on the gateway's one URL but from another process (the
child's pid is not the worker's); the worker's own log shows no read model; the
child is restarted when it dies, and never outlives its parent, however the
parent stops (SIGINT, SIGTERM, SIGKILL).
"""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from dashboard.dashboard_support import TOKEN, write_dashboard_file
from support import WITH_VIEW, bus_env, unique_prefix, wait_for
from support.bus import BusPool, BusProcess

from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka


def _get(url: str, token: str | None = TOKEN) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError):
        return 0, b""


def _alive(pid: int) -> bool:
    """A process that runs (a zombie waiting for init to reap it has stopped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _log(bus: BusProcess, event: str) -> list[dict[str, Any]]:
    found = []
    for line in bus.lines:
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event") == event:
                found.append(entry)
    return found


def _view_pid(bus: BusProcess, *, after: int = 0) -> int:
    """The pid of the (``after``+1)-th view process the worker said it started."""
    entries = wait_for(
        lambda: e if len(e := _log(bus, "on-call view process listening")) > after else None,
        timeout=120,
        what="the worker starting its view process",
    )
    return int(entries[after]["pid"])


def _start(kafka: KafkaConnection, tmp: Path, pool: BusPool) -> tuple[BusProcess, str]:
    env = bus_env(
        kafka=kafka,
        prefix=unique_prefix(),
        data_dir=tmp / "data",
        SEABUS_DASHBOARD_FILE=write_dashboard_file(tmp),
        **WITH_VIEW,
    )
    bus = pool.spawn(env)
    bus.wait_ready()
    return bus, f"http://127.0.0.1:{env['SEABUS_GATEWAY__PORT']}"


def _ready(url: str) -> dict[str, Any] | None:
    status, body = _get(f"{url}/readyz", token=None)
    return json.loads(body) if status == 200 else None


def test_the_dashboard_comes_from_a_child_process_that_is_restarted_when_it_dies(
    kafka: KafkaConnection, tmp_path: Path, buses: BusPool
) -> None:
    bus, url = _start(kafka, tmp_path, buses)
    child = _view_pid(bus)
    assert child != bus.proc.pid
    assert _parent(child) == bus.proc.pid
    ready = wait_for(lambda: _ready(url), timeout=90, what="/readyz 200 with the child's read model")
    assert set(ready["checks"]) == {"worker", "view"}
    status, page = _get(f"{url}/dashboard")
    assert status == 200
    assert b"<html" in page.lower()
    status, body = _get(f"{url}/v1/overdue")
    assert status == 200
    assert "items" in json.loads(body)
    metrics = _get(f"{url}/metrics")[1].decode()
    assert "seabus_view_caught_up 1.0" in metrics
    # The child's own routes are its parent's only.
    assert _get(f"{url}/internal/view-status")[0] == 404
    # The read model follows the topics in the child, never in the worker.
    following = wait_for(
        lambda: _log(bus, "read model following topics"), timeout=60, what="the view following topics"
    )
    assert all(e.get("process") == "view" for e in following)

    os.kill(child, signal.SIGKILL)
    wait_for(
        lambda: _log(bus, "on-call view process died; restarting it (the dashboard answers 503 meanwhile)"),
        timeout=60,
        what="the worker noticing its view process died",
    )
    again = _view_pid(bus, after=1)
    assert again != child
    assert _parent(again) == bus.proc.pid
    wait_for(
        lambda: _get(f"{url}/dashboard")[0] == 200, timeout=90, what="the dashboard back after a restart"
    )
    bus.stop_cleanly()
    assert not _alive(again)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_the_view_process_never_outlives_seabus_run(
    kafka: KafkaConnection, tmp_path: Path, buses: BusPool, sig: signal.Signals
) -> None:
    bus, _ = _start(kafka, tmp_path, buses)
    child = _view_pid(bus)
    assert _alive(child)
    os.kill(bus.proc.pid, sig)  # the worker only, not its process group
    bus.proc.wait(timeout=120)
    wait_for(
        lambda: not _alive(child), timeout=60, what=f"the view process gone after {sig.name} of its parent"
    )
