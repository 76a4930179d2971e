"""The routing benchmark's report (bench/routing/run.py), on made-up results: no broker, no timing.

What is checked is the arithmetic and the bookkeeping of the secured/plaintext comparison
(each round's ratio from the pair measured in that round, their median and range, a round
with one side missing left out), of seabus against the Quix and bare cases (issue 16: the
ratios per round and the goals), and the output check that compares a case's notifications
with the bus's own routing (missing, duplicated, unexpected, differing), on notifications
built by the bus's intake step; not any figure of a real run.
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


def _paced(
    case: str, round_: int, *, seconds: float, cpu: float, p99: float, security: str = "secured"
) -> object:
    """A result whose paced samples put p99 (and p50) at ``p99`` for both rates of the full run."""
    r = run.Result(case, n=100, routed=100, seconds=seconds, cpu_ms_per_event=cpu, round=round_)
    r.security = security
    r.latencies_ms = {200.0: [p99] * 10, 50.0: [p99 / 2] * 10}
    r.paced_sent = {200.0: 10, 50.0: 10}
    return r


def test_seabus_against_quix_and_bare_per_round_with_the_goals() -> None:
    rates = [200.0, 50.0]
    results = [
        # round 1: seabus 100 events/s, Quix 50, bare 400
        _paced(run.SEABUS, 1, seconds=1.0, cpu=4.0, p99=30.0),
        _paced(run.QUIX, 1, seconds=2.0, cpu=1.0, p99=60.0),
        _paced(run.BARE, 1, seconds=0.25, cpu=0.5, p99=10.0),
        # round 2: seabus 50 events/s, Quix 100, bare 80
        _paced(run.SEABUS, 2, seconds=2.0, cpu=5.0, p99=40.0),
        _paced(run.QUIX, 2, seconds=1.0, cpu=1.0, p99=20.0),
        _paced(run.BARE, 2, seconds=1.25, cpu=0.5, p99=40.0),
    ]
    text = run.versus(results, rates)
    rows = {
        (int(line.split()[0]), line.split(maxsplit=2)[2][:40].strip()): line.split(maxsplit=2)[2][40:].split()
        for line in text.splitlines()
        if line.strip()[:1].isdigit()
    }
    # events/s, cpu ms/ev, p99@200, p99@50, then the goal
    assert rows[(1, run.QUIX)] == ["2.00", "4.00", "0.50", "0.50", ">=", "1:", "met"]
    assert rows[(1, run.BARE)] == ["0.25", "8.00", "3.00", "3.00", ">=", "0.5:", "NOT", "met"]
    assert rows[(2, run.QUIX)] == ["0.50", "5.00", "2.00", "2.00", ">=", "1:", "NOT", "met"]
    assert rows[(2, run.BARE)] == ["0.62", "10.00", "1.00", "1.00", ">=", "0.5:", "met"]


def test_versus_leaves_out_what_was_not_measured() -> None:
    incomplete = run.Result(run.QUIX, n=100, routed=60, seconds=1.0, round=1)  # no events/s: not all routed
    incomplete.security = "plaintext"
    text = run.versus(
        [_paced(run.SEABUS, 1, seconds=1.0, cpu=4.0, p99=30.0, security="plaintext"), incomplete], [200.0]
    )
    line = next(line for line in text.splitlines() if run.QUIX in line)
    assert line.split(run.QUIX, 1)[1].split() == ["-", "-", "-"]  # no ratio, no goal verdict
    assert run.versus([incomplete], [200.0]) == ""  # no seabus row: nothing to compare


# --- the output check, on records built by the bus's own intake step (no broker) ---------


@pytest.fixture(scope="module")
def expected() -> list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]:
    from seabus.schemas.codec import Codec
    from seabus.streams.config import load_settings
    from seabus.streams.context import load_context

    ctx = load_context(load_settings(bootstrap="127.0.0.1:1"))  # nothing connects
    work = run.make_workload(4, [], 0.0, Codec())
    outputs = run.bus_outputs(work.burst, ctx, "t", notifications_only=True)
    return [r for records in outputs.values() for r in records]


def _rerouted(record: tuple[str, bytes | None, bytes, list[tuple[str, bytes]]], **changes: object) -> tuple:
    """The same notification as another router run would write it: routed later, no obligations."""
    from seabus.schemas.codec import Codec, decode_model, encode_model
    from seabus.schemas.envelopes import headers_for
    from seabus.schemas.models import Notification

    topic, key, value, _ = record
    n = decode_model(value, Notification, codec=Codec())
    n = n.model_copy(
        update={"routed_at": n.routed_at.replace(year=n.routed_at.year + 1), "obligations": (), **changes}
    )
    return (
        topic,
        key,
        encode_model(n, codec=Codec()),
        headers_for(n, n.notification_id, n.allegation_id, n.routed_at, "seabus/router"),
    )


def test_the_same_notifications_routed_again_pass(expected: list) -> None:
    from seabus.schemas.codec import Codec

    assert len(expected) > 4  # several recipients per event
    check = run.check_outputs(expected, [_rerouted(r) for r in reversed(expected)], Codec())
    assert check.ok, check.summary()
    assert (check.expected, check.read) == (len(expected), len(expected))


def test_missing_duplicated_unexpected_and_differing_notifications_are_named(expected: list) -> None:
    from seabus.schemas.codec import Codec, decode_model
    from seabus.schemas.models import Notification

    codec = Codec()
    nid = [decode_model(r[2], Notification, codec=codec).notification_id for r in expected]
    got = [_rerouted(r) for r in expected[2:]]  # 0 and 1 missing
    got.append(got[0])  # 2 duplicated
    got[1] = _rerouted(expected[3], sequence=99)  # 3 differs in one field
    topic, key, value, headers = _rerouted(expected[4])
    got[2] = (topic + "X", key, value, headers)  # 4 on another topic
    got[3] = (
        got[3][0],
        got[3][1],
        got[3][2],
        [(k, b"other" if k == "ce_source" else v) for k, v in got[3][3]],
    )  # 5
    stranger = _rerouted(expected[0], notification_id="SYNTH-not-routed-by-the-bus")
    check = run.check_outputs(expected, [*got, stranger], codec)
    assert not check.ok
    assert check.missing == nid[:2]
    assert check.duplicates == [nid[2]]
    assert check.unexpected == ["SYNTH-not-routed-by-the-bus"]
    assert check.differing == [f"{nid[3]}: field sequence", f"{nid[4]}: topic", f"{nid[5]}: headers"]
    # the naive script's own ce_source is allowed where asked for
    assert run.check_outputs(expected[5:6], got[3:4], codec, ignore_headers=("ce_source",)).ok


def test_intake_outcomes_are_summed_over_the_summary_lines() -> None:
    lines = [
        '{"event": "intake summary", "seconds": 0.1, "routed": 3, "level": "info", "logger": "x", "timestamp": "t"}',
        '{"event": "seabus worker ready", "level": "info"}',
        "not json at all, mentions intake summary",
        '{"event": "intake summary", "seconds": 30.0, "routed": 5, "duplicate": 1, "level": "info"}',
    ]
    assert run.intake_outcomes(lines) == {"routed": 8, "duplicate": 1}
