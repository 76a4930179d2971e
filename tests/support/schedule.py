"""How `make test` (``pytest -n 4 --dist loadfile``) deals its files to the pytest-xdist processes.

pytest-xdist's ``loadfile`` hands out whole files, the files with the most tests first. Here the
most tests are the cheapest ones (the in-process twins), so the heaviest files — one or two
end-to-end scenarios of a minute each — came last and set the tail alone while the other
processes idled. This scheduler keeps ``loadfile``'s unit (a file: its module fixtures start
once) but deals the units by their measured cost, heaviest first (longest-processing-time
first), and splits a few heavy files whose tests share nothing (each starts its own buses)
into one unit per test, so no single file is the tail.

The costs are seconds of setup + call + teardown per file, from ``--durations=0`` of a run of
`make test` (see ``COSTS``); only their order matters, a stale figure costs balance, never a
test. A file not listed counts ``DEFAULT_PER_TEST_S`` per test. At the end of a run under xdist
the summary shows each process's busy time and ``test-artifacts/file-seconds.json`` holds
every file's seconds of that run, to refresh ``COSTS`` from.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

# Seconds per file (setup + call + teardown of its tests), from test-artifacts/file-seconds.json
# of the clean-clone CI at main c80c5df (2026-12-03 21:15 UTC), 2-core machine,
# load 0.5-4: indicative, for the order only. Files under 3 s are left to DEFAULT_PER_TEST_S.
COSTS: dict[str, float] = {
    "tests/e2e/test_deadlines_survival_e2e.py": 162,
    "tests/faults/test_faults.py": 90,
    "tests/e2e/test_escalations_delivered_e2e.py": 68,
    "tests/e2e/test_operator_cli_e2e.py": 65,
    "tests/e2e/test_restart_e2e.py": 54,
    "tests/deploy/test_view_process_e2e.py": 54,
    "tests/stats/test_stats_e2e.py": 53,
    "tests/deploy/test_launcher.py": 49,
    "tests/e2e/test_demo_escalations_e2e.py": 46,
    "tests/deploy/test_access.py": 45,
    "tests/e2e/test_access_e2e.py": 43,
    "tests/dashboard/test_dashboard_e2e.py": 40,
    "tests/replies/test_replies_http.py": 32,
    "tests/dashboard/test_dashboard_browser.py": 31,
    "tests/deploy/test_cli_contract.py": 30,
    "tests/e2e/test_obligations_from_facts_e2e.py": 25,
    "tests/delivery/test_delivery_isolation.py": 25,
    "tests/deploy/test_secure_cluster.py": 24,
    "tests/deploy/test_run.py": 24,
    "tests/deploy/test_start_during_outage.py": 23,
    "tests/test_packaging.py": 23,
    "tests/gateway/test_gateway_http.py": 22,
    "tests/e2e/test_hardening_e2e.py": 21,
    "tests/e2e/test_deadlines_e2e.py": 21,
    "tests/publish/test_sdk.py": 20,
    "tests/recipients/test_recipient_view_e2e.py": 18,
    "tests/deploy/test_event_loop_e2e.py": 18,
    "tests/delivery/test_delivery_e2e.py": 18,
    "tests/views/test_view_out_of_worker_e2e.py": 17,
    "tests/recipients/test_recipient_view_http.py": 17,
    "tests/subscriber/test_subscriber.py": 16,
    "tests/publish/test_publish_e2e.py": 16,
    "tests/e2e/test_poison_records_e2e.py": 15,
    "tests/e2e/test_origin_e2e.py": 15,
    "tests/deploy/test_worker_topics.py": 14,
    "tests/delivery/test_delivery_restart.py": 13,
    "tests/deadlines/test_restore.py": 13,
    "tests/gateway/test_gateway_broker_down.py": 13,
    "tests/stats/test_suppression_property.py": 12,
    "tests/replies/test_reply_notices_e2e.py": 12,
    "tests/replies/test_replies_e2e.py": 11,
    "tests/publish/test_publish_cli.py": 11,
    "tests/config/test_read_once.py": 10,
    "tests/gateway/test_gateway_hardening.py": 10,
    "tests/deploy/test_topics.py": 8,
    "tests/dashboard/test_dashboard_band_browser.py": 6,
    "tests/views/test_view_lean.py": 6,
    "tests/streams/test_produce.py": 6,
    "tests/replies/test_reply_dates.py": 4,
    "tests/notices/test_notice_browser.py": 4,
    "tests/e2e/test_routing_e2e.py": 3,
    "tests/schemas/test_schema_cli.py": 3,
}

# Files whose tests share no module fixture (each test starts and stops its own buses): one
# unit per test, so their minutes spread over the processes.
SPLIT_BY_TEST: frozenset[str] = frozenset(
    {
        "tests/e2e/test_deadlines_survival_e2e.py",
        "tests/e2e/test_restart_e2e.py",
    }
)

DEFAULT_PER_TEST_S = 0.3

# Files that change the same state of the shared broker and so must not run at the same time:
# one unit each group (one process, one after the other). Both files make SCRAM credentials
# for User:URY (test_access rotates and deletes them; test_access_e2e signs in with its own and
# deletes them at the end), so side by side one's URY could not sign in.
SAME_PROCESS: dict[str, str] = {
    "tests/deploy/test_access.py": "URY's SCRAM credentials",
    "tests/e2e/test_access_e2e.py": "URY's SCRAM credentials",
}

# Session fixtures a process starts on first use and keeps to the end (a `seabus run` each):
# the files using one are dealt as one unit, so one process starts it instead of each.
SHARED_SESSION_FIXTURES = ("default_bus",)
UNITS_FILE = "xdist-units.json"  # in the run's shared folder (tests/conftest.py)


def write_units(folder: Path, items: list[pytest.Item]) -> None:
    """Worker side, after collection: the files that use a shared session fixture, by fixture.
    Every worker writes the same content; the rename makes each write whole."""
    units: dict[str, str] = {}
    for item in items:
        for name in SHARED_SESSION_FIXTURES:
            if name in getattr(item, "fixturenames", ()):
                units.setdefault(_file_of(item.nodeid), name)
    tmp = folder / f"{UNITS_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(units, sort_keys=True))
    tmp.replace(folder / UNITS_FILE)


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


class CostOrderedFileScheduling(LoadFileScheduling):
    """``loadfile`` with the units dealt heaviest first, and the files of ``SPLIT_BY_TEST``
    dealt test by test."""

    def __init__(self, config: pytest.Config, log: Any = None, *, units_file: Path | None = None) -> None:
        super().__init__(config, log)
        self.units_file = units_file
        self.shared_units: dict[str, str] = {}  # file -> the shared fixture's unit

    def _split_scope(self, nodeid: str) -> str:
        path = _file_of(nodeid)
        if path in SAME_PROCESS:
            return f"<{SAME_PROCESS[path]}>"
        if path in self.shared_units:
            return f"<uses {self.shared_units[path]}>"
        return nodeid if path in SPLIT_BY_TEST else path

    def schedule(self) -> None:
        """xdist's ``LoadScopeScheduling.schedule`` with the work queue ordered by cost."""
        assert self.collection_is_completed
        if self.collection is not None:  # a node added later: xdist's own rescheduling
            super().schedule()
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = list(next(iter(self.registered_collections.values())))
        if not self.collection:
            return
        if self.units_file is not None and self.units_file.exists():  # written by the workers
            self.shared_units = json.loads(self.units_file.read_text())
        units: dict[str, dict[str, bool]] = {}
        tests_in_file: dict[str, int] = defaultdict(int)
        for nodeid in self.collection:
            units.setdefault(self._split_scope(nodeid), {})[nodeid] = False
            tests_in_file[_file_of(nodeid)] += 1

        def cost(scope: str) -> float:
            files = {_file_of(nodeid) for nodeid in units[scope]}
            return sum(
                COSTS.get(path, DEFAULT_PER_TEST_S * tests_in_file[path])
                * sum(1 for nodeid in units[scope] if _file_of(nodeid) == path)
                / tests_in_file[path]
                for path in files
            )

        for scope in sorted(units, key=lambda scope: -cost(scope)):  # stable: ties keep file order
            self.workqueue[scope] = units[scope]
        for _ in range(len(self.nodes) - len(self.workqueue)):  # more processes than units
            unused, _assigned = self.assigned_work.popitem()
            unused.shutdown()
        for node in self.nodes:
            self._assign_work_unit(node)
        for node in self.nodes:  # each starts with a unit queued behind its first (xdist #277)
            self._reschedule(node)
        if not self.workqueue:
            for node in self.nodes:
                node.shutdown()


class BusyTime:
    """Controller side: the scheduler, the seconds each xdist process spent in tests, and each
    file's seconds."""

    def __init__(self, shared_folder: Path | None) -> None:
        self.shared_folder = shared_folder
        self.by_worker: dict[str, float] = defaultdict(float)
        self.by_file: dict[str, float] = defaultdict(float)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> LoadFileScheduling | None:
        if config.getvalue("dist") == "loadfile":
            units = None if self.shared_folder is None else self.shared_folder / UNITS_FILE
            return CostOrderedFileScheduling(config, log, units_file=units)
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        node = getattr(report, "node", None)  # set by xdist on the controller
        if node is None:
            return
        self.by_worker[str(node.gateway.id)] += report.duration
        self.by_file[_file_of(report.nodeid)] += report.duration

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.by_worker:
            return
        busy = ", ".join(f"{w} {s:.0f} s" for w, s in sorted(self.by_worker.items()))
        terminalreporter.write_line(f"busy time per xdist process: {busy}")
        ARTIFACTS.mkdir(exist_ok=True)
        ordered = OrderedDict(
            sorted(((f, round(s, 1)) for f, s in self.by_file.items()), key=lambda kv: -kv[1])
        )
        (ARTIFACTS / "file-seconds.json").write_text(json.dumps(ordered, indent=1) + "\n")


def register(config: pytest.Config, shared_folder: Path | None) -> None:
    """Install the scheduler and the busy-time summary on the xdist controller only."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(BusyTime(shared_folder), "seabus-schedule")
