"""The on-call view out of the worker's process (issue 16), on the real bus and a real broker.

``view.in_worker: false`` and ``child_process: false``: `seabus run` reads nothing back (its gateway keeps
/metrics and /readyz, and serves no view routes); `seabus gateway` in its own
process serves the overdue list, the statistics and a state's own view from the
topics, and after a restart it has rebuilt the same answers from them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from dashboard.dashboard_support import TOKEN, write_dashboard_file
from replies.replies_support import KEN_TOKEN
from support import bus_env, free_port, unique_prefix, wait_for
from support.bus import BusPool, BusProcess, producer
from support.routing import event

from seabus.connectors.gateway import token_sha256
from seabus.schemas.codec import encode_model
from seabus.schemas.enums import PersonnelCategory as P
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

AID = "SYNTH-VIEW-OUT-0001"


@dataclass
class Setup:
    pool: BusPool
    worker: BusProcess
    env: dict[str, str]
    worker_url: str


def _get(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            body = r.read()
            return r.status, json.loads(body) if r.headers.get_content_type() == "application/json" else body
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError):
        return 0, b""


def _files(tmp: Path) -> dict[str, Path]:
    gateway = tmp / "gateway.yaml"
    gateway.write_text(
        yaml.safe_dump(
            {
                "host": "127.0.0.1",
                "recipients": [{"recipient": "KEN", "token_sha256": token_sha256(KEN_TOKEN)}],
            }
        )
    )
    recipients = tmp / "recipients.yaml"
    entries = [{"id": i, "name": f"{i} (test)"} for i in ("OSC", "OIOS", "VRA", "KEN")]
    recipients.write_text(yaml.safe_dump({"recipients": entries}, sort_keys=False))
    return {
        "SEABUS_GATEWAY_FILE": gateway,
        "SEABUS_RECIPIENTS_FILE": recipients,
        "SEABUS_DASHBOARD_FILE": write_dashboard_file(tmp),
    }


@pytest.fixture(scope="module")
def setup(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("viewout")
    prefix = unique_prefix()
    env = bus_env(
        kafka=kafka,
        prefix=prefix,
        data_dir=tmp / "data",
        SEABUS_VIEW__IN_WORKER="false",
        SEABUS_VIEW__CHILD_PROCESS="false",
        **_files(tmp),
    )
    with BusPool() as pool:
        worker = pool.spawn(env)
        worker.wait_ready()
        p = producer(kafka)
        record = event(
            AID,
            subjects=[("SYNTH-SUBJ-VIEW-OUT", "KEN", None, P.STAFF_MEMBER)],
            published_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        p.send(f"{prefix}.allegations", key=AID.encode(), value=encode_model(record)).get(timeout=30)
        p.close()
        try:
            yield Setup(
                pool=pool,
                worker=worker,
                env=env,
                worker_url=f"http://127.0.0.1:{env['SEABUS_GATEWAY__PORT']}",
            )
        finally:
            worker.stop_cleanly()


def _gateway(setup: Setup) -> tuple[BusProcess, str]:
    """`seabus gateway` on its own port, once /readyz says its read model has caught up."""
    port = free_port()
    process = setup.pool.spawn(setup.env, args=("gateway", "--port", str(port)))
    url = f"http://127.0.0.1:{port}"

    def ready() -> dict[str, Any] | None:
        assert process.running, process.tail()
        status, body = _get(f"{url}/readyz")
        return body if status == 200 else None

    checks = wait_for(ready, timeout=90, what="the standalone gateway's read model caught up")["checks"]
    assert set(checks) == {"view"}  # no worker in this process, so none waited for
    return process, url


def _owed(url: str) -> list[str]:
    status, body = _get(f"{url}/v1/recipients/KEN/obligations", KEN_TOKEN)
    assert status == 200, body
    return [i["obligation"] for i in body["items"] if i["allegation_id"] == AID]


def _entries(timeline: dict[str, Any]) -> list[str]:
    return sorted(json.dumps(e, sort_keys=True) for e in timeline["entries"])


def _overdue_ids(url: str) -> set[str]:
    status, body = _get(f"{url}/v1/overdue", TOKEN)
    assert status == 200, body
    return {i["allegation_id"] for i in body["items"]}


def test_the_worker_reads_nothing_back_and_keeps_its_operations_routes(setup: Setup) -> None:
    def ready() -> dict[str, Any] | None:
        status, body = _get(f"{setup.worker_url}/readyz")
        return body if status == 200 else None

    body = wait_for(ready, timeout=60, what="the worker's /readyz answering 200")
    assert set(body["checks"]) == {"worker"}
    assert _get(f"{setup.worker_url}/metrics")[0] == 200
    for path in ("/v1/overdue", "/v1/overdue/summary", "/v1/stats", "/v1/recipients/KEN/obligations"):
        assert _get(f"{setup.worker_url}{path}", TOKEN)[0] == 404, path
    assert not setup.worker.saw("read model following topics")


def test_the_gateway_serves_the_view_and_rebuilds_it_after_a_restart(setup: Setup) -> None:
    gateway, url = _gateway(setup)
    owed = wait_for(lambda: _owed(url), timeout=90, what="KEN's obligation in the standalone gateway's view")
    assert "ACKNOWLEDGE" in owed
    wait_for(lambda: AID in _overdue_ids(url) or None, timeout=60, what="the allegation in /v1/overdue")
    summary_status, summary = _get(f"{url}/v1/overdue/summary", TOKEN)
    assert summary_status == 200
    assert summary["overdue"] + summary["due"] >= 1
    stats_status, _ = _get(f"{url}/v1/stats", TOKEN)
    assert stats_status == 200
    timeline_status, timeline = _get(f"{url}/v1/allegations/{AID}/timeline", TOKEN)
    assert timeline_status == 200
    assert any(e["kind"] == "notification" and e["recipient"] == "KEN" for e in timeline["entries"])

    gateway.stop_cleanly()
    assert gateway.saw("read model stopped")
    again, url = _gateway(setup)
    try:
        assert _owed(url) == owed  # rebuilt from the topics, nothing kept between runs
        assert AID in _overdue_ids(url)
        rebuilt = _get(f"{url}/v1/allegations/{AID}/timeline", TOKEN)[1]
        # Entries of one time from different topics follow the order they are read in: compare as sets.
        assert _entries(rebuilt) == _entries(timeline)
        assert rebuilt["obligations"] == timeline["obligations"]
    finally:
        again.stop_cleanly()
    assert not setup.worker.saw("read model following topics")
