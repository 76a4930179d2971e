"""No acknowledged event is lost when Kafka brokers and bus workers are SIGKILLed under load.

The short run (1 broker and 1 worker fault, ~150 events) is part of `make test`;
the full schedule (10 + 10 faults, 3,000 allegations) is `make test-slow` and
`make test-faults`. Both start their own 3-node cluster (SEABUS_BOOTSTRAP is not
used: the test must kill brokers) and stop everything they started.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faults.run import FaultConfig, run_faults


def _run(config: FaultConfig, directory: Path) -> None:
    report = run_faults(config, directory)
    print(report.summary())
    assert report.schedule_done, report.summary()
    assert report.missing == 0, report.summary()
    assert not report.mismatched, report.summary()
    assert report.ok, report.summary()


@pytest.mark.kafka
@pytest.mark.timeout(420)
def test_short_fault_run_loses_no_acknowledged_event(tmp_path: Path) -> None:
    _run(
        FaultConfig(allegations=112, broker_kills=1, worker_kills=1, rate=5.0, complete_timeout_s=90.0),
        tmp_path / "run",
    )


@pytest.mark.slow
@pytest.mark.kafka
@pytest.mark.timeout(2400)
def test_full_fault_schedule_loses_no_acknowledged_event(tmp_path: Path) -> None:
    _run(FaultConfig(allegations=3000, broker_kills=10, worker_kills=10), tmp_path / "run")
