"""A real `seabus run` reads each configuration file exactly once (issue 15: validated once).

The bus runs as a subprocess with a Python audit hook (a ``sitecustomize`` on its path)
that records every file opened under the configuration folder; after the worker and the
gateway are up and the bus stopped cleanly, each of the eight files was opened once by
each process: the worker's, and the on-call view's child process (issue 16), which
starts from the same files.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from support import WITH_VIEW, bus_env, unique_prefix, wait_for
from support.bus import BusPool

from seabus.schemas.entities import DEFAULT_ENTITIES_FILE
from seabus.streams.kafka_connection import KafkaConnection

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "config"
FILES = (
    "seabus.yaml",
    "recipients.yaml",
    "routes.yaml",
    "policies.yaml",
    "entities.yaml",
    "gateway.yaml",
    "delivery.yaml",
    "dashboard.yaml",
)

HOOK = """
import os
import sys

_WATCH = os.environ["SYNTH_OPEN_WATCH"] + os.sep
_LOG = os.environ["SYNTH_OPEN_LOG"]


def _opened(event, args):
    if event != "open" or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.fsdecode(args[0])
    if path.startswith(_WATCH):
        with open(_LOG, "a", encoding="utf-8") as log:  # outside _WATCH: no recursion
            log.write(f"{os.getpid()} {path}\\n")


sys.addaudithook(_opened)
"""


@pytest.mark.kafka
def test_seabus_run_reads_each_configuration_file_once(
    kafka: KafkaConnection, tmp_path: Path, buses: BusPool
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    for name in FILES:
        source = DEFAULT_ENTITIES_FILE if name == "entities.yaml" else SHIPPED / name
        shutil.copyfile(source, conf / name)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    opened = tmp_path / "opened.log"
    env = bus_env(
        kafka=kafka,
        prefix=unique_prefix(),
        data_dir=tmp_path / "data",
        SEABUS_CONFIG=conf / "seabus.yaml",
        SEABUS_REPORTING_ENTITIES_FILE="entities.yaml",
        SYNTH_OPEN_WATCH=conf,
        SYNTH_OPEN_LOG=opened,
        **WITH_VIEW,
        PYTHONPATH=os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH")) if p),
    )
    run = buses.spawn(env)
    try:
        run.wait_ready()
        wait_for(lambda: run.saw("gateway listening"), timeout=60, what="gateway listening")
    finally:
        code = run.interrupt()
    assert code == 0, run.tail()
    by_process: dict[str, Counter[str]] = {}
    for line in opened.read_text(encoding="utf-8").splitlines():
        pid, _, path = line.partition(" ")
        by_process.setdefault(pid, Counter())[Path(path).name] += 1
    assert len(by_process) == 2, by_process  # the worker and its view process
    for counts in by_process.values():
        assert counts == Counter(dict.fromkeys(FILES, 1)), by_process
