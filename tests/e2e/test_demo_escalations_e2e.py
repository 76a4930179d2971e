"""The README's demo shows silence escalating: `make demo-run`'s files, `seabus demo`, real receivers.

The bus runs with the shipped demo files (policies.demo.yaml, recipients.demo.yaml,
delivery.demo.yaml) — only the receivers' addresses are rewritten to this test's
local servers, which verify every signature as ``seabus demo-receivers`` does. One
unanswered demo allegation: each state concerned gets its REMINDER and OVERDUE at its
webhook, OSC the SECOND_LEVEL, on-call a page per step, once per escalation_id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from delivery.delivery_support import ReceiverThread
from support import REPO, unique_prefix, wait_for
from support.bus import BusPool, BusProcess

from seabus.connectors.delivery import ONCALL
from seabus.deploy.cli import main as cli_main
from seabus.deploy.cli.demo_receivers_cmd import describe
from seabus.schemas.models import Escalation
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

CONFIG = REPO / "deploy" / "config"
SECRET = "whsec_c2VhYnVzLWRlbW8tb25seS1ub3QtYS1zZWNyZXQtMDE="  # the Makefile's synthetic demo secret
NAMES = ("OSC", "FRA", "KEN", "URY", "NPL", "BGD", ONCALL)


@pytest.fixture(scope="module")
def demo_bus(
    kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BusProcess, ReceiverThread]]:
    tmp = tmp_path_factory.mktemp("demo")
    with ReceiverThread({name: {"secrets": [SECRET]} for name in NAMES}) as receivers, BusPool() as pool:
        for name in ("recipients.demo.yaml", "delivery.demo.yaml"):
            text = (CONFIG / name).read_text()
            for ident in NAMES:
                text = text.replace(f"http://127.0.0.1:8090/hook/{ident}", receivers[ident].url)
            assert "url: http://127.0.0.1:8090" not in text, (
                f"{name} names an endpoint this test does not serve"
            )
            (tmp / name).write_text(text)
        process = pool.start(
            kafka,
            unique_prefix(),
            tmp / "data",
            SEABUS_POLICIES_FILE=CONFIG / "policies.demo.yaml",
            SEABUS_RECIPIENTS_FILE=tmp / "recipients.demo.yaml",
            SEABUS_DELIVERY_FILE=tmp / "delivery.demo.yaml",
            SEABUS_DEMO_WEBHOOK_SECRET=SECRET,
            SEABUS_DEMO_ROUTING_KEY="synthetic-demo-routing-key",
        )
        try:
            yield process, receivers
        finally:
            process.stop_cleanly()


def _acks(receivers: ReceiverThread, name: str, aid: str) -> dict[tuple[str, str, int], set[str]]:
    """(owed by, level, repeat) -> ids of ``aid``'s ACKNOWLEDGE steps that ``name`` accepted."""
    found: dict[tuple[str, str, int], set[str]] = {}
    for r in receivers[name].requests:
        if r.event_type != "org.seabus.Escalation" or not 200 <= r.status < 300:
            continue
        e = Escalation.model_validate_json(r.body)
        if e.allegation_id == aid and e.obligation is not None and e.obligation.value == "ACKNOWLEDGE":
            found.setdefault((e.recipient or "-", e.level.value, e.repeat), set()).add(e.escalation_id)
    return found


def test_the_demo_escalates_to_the_states_osc_and_on_call(
    kafka: KafkaConnection, demo_bus: tuple[BusProcess, ReceiverThread]
) -> None:
    process, receivers = demo_bus
    keys = (
        "SEABUS_TOPIC_PREFIX",
        "SEABUS_APP_ID",
        "SEABUS_DATA_DIR",
        "SEABUS_BOOTSTRAP",
        "SEABUS_GATEWAY__PORT",
    )
    env = (
        {k: process.env[k] for k in keys}
        | {"SEABUS_CACHE_DIR": process.env["SEABUS_CACHE_DIR"]}
        | kafka.env()
    )
    args = ["demo", "--count", "1", "--interval", "0", "--answer-ratio", "0", "--no-token", "--seed", "3"]
    result = CliRunner().invoke(cli_main.cli, args, env=env)
    assert result.exit_code == 0, result.output
    found = re.search(
        r"^published (SYNTH-DEMO-\S+) \(\S+; concerns ([A-Z, ]+)\): left unanswered$", result.stdout, re.M
    )
    assert found is not None, result.stdout
    aid, states = found.group(1), found.group(2).split(", ")

    def ladder_done() -> bool:
        state_steps = all(
            {(s, "REMINDER", 0), (s, "OVERDUE", 0)} <= set(_acks(receivers, s, aid)) for s in states
        )
        return state_steps and all((s, "SECOND_LEVEL", 0) in _acks(receivers, "OSC", aid) for s in states)

    wait_for(
        ladder_done, timeout=120, interval=0.5, what="reminder and overdue at the states, second level at OSC"
    )
    step_ids = set()
    for name in (*states, "OSC"):
        steps = _acks(receivers, name, aid)
        assert all(len(ids) == 1 for ids in steps.values()), steps  # one id per step
        step_ids |= {i for ids in steps.values() for i in ids}

    def pages() -> set[str]:
        events = [json.loads(r.body) for r in receivers[ONCALL].requests if 200 <= r.status < 300]
        return {e["dedup_key"] for e in events if e["payload"]["custom_details"]["allegation_id"] == aid}

    wait_for(lambda: step_ids <= pages(), timeout=60, what="a page per step at the on-call webhook")
    line = describe(ONCALL, None, receivers[ONCALL].requests[0].body)
    assert line.startswith(f"{ONCALL}: PAGE ")  # what `seabus demo-receivers` prints for it
