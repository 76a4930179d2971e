"""Every Faust / aiokafka internal seabus touches still exists in the installed versions."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import re
from pathlib import Path

import pytest

from seabus.streams import faust_compat

REPO = Path(__file__).resolve().parents[2]


def _owner(path: str) -> type:
    module, _, name = path.partition(":")
    owner: type = getattr(importlib.import_module(module), name)
    return owner


@pytest.mark.parametrize(("owner", "attribute"), faust_compat.PRIVATE_NAMES)
def test_private_name_still_exists(owner: str, attribute: str) -> None:
    cls = _owner(owner)
    if hasattr(cls, attribute):
        return
    # instance attributes are assigned in a method of the class or one of its bases
    sources = "".join(
        inspect.getsource(c)
        for c in cls.__mro__
        if c.__module__.split(".")[0] in {"faust", "aiokafka", "mode"}
    )
    assert re.search(rf"self\.{attribute}\b\s*[:=]", sources), (
        f"{owner}.{attribute} is gone: update streams/faust_compat.py"
    )


def test_no_private_access_outside_the_compat_module() -> None:
    """Private attributes of other objects are reached only through streams/faust_compat.py."""
    offenders = []
    pattern = re.compile(r"\b(?!self\b|cls\b|super\(\))[a-z_]+\._[a-z][a-z_]*\b")
    for path in sorted((REPO / "streams").rglob("*.py")) + sorted((REPO / "deploy").rglob("*.py")):
        if path.name == "faust_compat.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            for match in pattern.finditer(code):
                text = match.group(0)
                if text.startswith(("faust_compat.", "os._", "sys._")):
                    continue
                offenders.append(f"{path.relative_to(REPO)}:{number}: {text}")
    assert offenders == []


def test_topic_creation_patch_is_installed_once() -> None:
    from faust.transport.drivers.aiokafka import Transport

    faust_compat.install_patches()
    first = Transport._create_topic
    faust_compat.install_patches()
    assert Transport._create_topic is first
    assert first.__wrapped__ is not None  # type: ignore[attr-defined]


def test_send_now_ends_the_linger_of_every_queued_batch() -> None:
    """On aiokafka's own accumulator: a batch lingering for 60 s is handed to the sender at once."""
    from types import SimpleNamespace

    from aiokafka.cluster import ClusterMetadata
    from aiokafka.producer.message_accumulator import MessageAccumulator
    from aiokafka.structs import TopicPartition

    async def scenario() -> tuple[float | None, float | None, int, bool]:
        accumulator = MessageAccumulator(ClusterMetadata(), 16384, 0, 30, linger_ms=60_000)
        tps = [TopicPartition("synthetic", 0), TopicPartition("synthetic", 1)]
        for tp in tps:
            await accumulator.add_message(tp, b"k", b"v", timeout=1)
        waiter = accumulator.waiter()
        before = accumulator._batches[tps[0]][0].remaining_linger()
        app = SimpleNamespace(
            producer=SimpleNamespace(_producer=SimpleNamespace(_message_accumulator=accumulator))
        )
        closed = faust_compat.send_now(app)  # type: ignore[arg-type]
        after = accumulator._batches[tps[0]][0].remaining_linger()
        return before, after, closed, waiter.done()

    before, after, closed, woken = asyncio.run(scenario())
    assert before is not None
    assert before > 50  # still lingering before the call
    assert after is None  # ready for the sender
    assert closed == 2
    assert woken


def test_send_now_without_a_started_producer_does_nothing() -> None:
    from types import SimpleNamespace

    assert faust_compat.send_now(SimpleNamespace(producer=SimpleNamespace(_producer=None))) == 0  # type: ignore[arg-type]
