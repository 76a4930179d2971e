"""The routing benchmark's report (bench/routing/run.py), on made-up results: no broker, no timing.

What is checked is the arithmetic and the bookkeeping of the secured/plaintext comparison
(each round's ratio from the pair measured in that round, their median and range, a round
with one side missing left out), not any figure of a real run.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest
from support import REPO


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_routing_run", REPO / "bench" / "routing" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


run = _load()
RATES = [50.0]


def _result(case: str, security: str, round_: int, *, seconds: float, cpu: float, latency: float) -> object:
    r = run.Result(case, n=100, routed=100, seconds=seconds, cpu_ms_per_event=cpu, round=round_)
    r.security = security
    r.broker_cpu_ms_per_event = 2 * cpu
    r.latencies_ms = {50.0: [latency] * 10}
    r.paced_sent = {50.0: 10}
    return r


def _row(text: str, case: str, figure: str) -> list[str]:
    """median, min, max, then each round's ratio ("-" where a round has no pair)."""
    for line in text.splitlines():
        if line.strip().startswith(f"{case} ") and f" {figure} " in line:
            return line.split(f" {figure} ", 1)[1].split()
    raise AssertionError(f"no {case} {figure} row in:\n{text}")


def test_secured_over_plaintext_per_round_median_and_range() -> None:
    results = [
        # round 1: secured half the throughput, 1.5x the CPU, 2x the latency
        _result("seabus worker", "plaintext", 1, seconds=1.0, cpu=2.0, latency=10.0),
        _result("seabus worker", "secured", 1, seconds=2.0, cpu=3.0, latency=20.0),
        # round 2: secured 0.8x the throughput, same CPU
        _result("seabus worker", "secured", 2, seconds=1.25, cpu=2.0, latency=10.0),
        _result("seabus worker", "plaintext", 2, seconds=1.0, cpu=2.0, latency=10.0),
        # round 3: the plaintext side is missing, so no ratio for this round
        _result("seabus worker", "secured", 3, seconds=9.0, cpu=9.0, latency=90.0),
    ]
    text = run.security_ratios(results, RATES)
    assert _row(text, "seabus worker", "events/s") == ["0.65", "0.50", "0.80", "0.50", "0.80", "-"]
    assert _row(text, "seabus worker", "cpu ms/ev") == ["1.25", "1.00", "1.50", "1.50", "1.00", "-"]
    assert _row(text, "seabus worker", "brk ms/ev") == ["1.25", "1.00", "1.50", "1.50", "1.00", "-"]
    assert _row(text, "seabus worker", "p50@50") == ["1.50", "1.00", "2.00", "2.00", "1.00", "-"]


def test_report_with_both_clusters_and_with_one() -> None:
    both = [
        _result("seabus worker", "plaintext", 1, seconds=1.0, cpu=2.0, latency=10.0),
        _result("seabus worker", "secured", 1, seconds=2.0, cpu=3.0, latency=20.0),
    ]
    clusters = {"plaintext": "PLAINTEXT", "secured": "SASL_SSL"}
    text = run.report(both, clusters=clusters, rates=RATES)
    assert "secured / plaintext" in text
    assert "round 1, plaintext:" in text
    assert "round 1, secured:" in text
    one = run.report(both[:1], clusters={"external": "SASL_SSL"}, rates=RATES)
    assert "secured / plaintext" not in one


def test_unknown_security_is_refused_before_any_cluster_starts() -> None:
    with pytest.raises(SystemExit):
        run.main(["--security", "tls-only"])
