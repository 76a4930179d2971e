"""Every Kafka client the project builds goes through ``seabus.streams.kafka_connection``.

A client constructed anywhere else would not get the TLS and SASL settings and would try
plaintext: this scan of the source tree (the packages, the tests, the benchmarks) fails
on any direct construction, so a new one cannot slip in unnoticed.
"""

from __future__ import annotations

import ast
from pathlib import Path

from support import REPO

MODULE = REPO / "streams" / "kafka_connection.py"
CLIENTS = {
    "KafkaConsumer",
    "KafkaProducer",
    "KafkaAdminClient",
    "KafkaClient",
    "AIOKafkaConsumer",
    "AIOKafkaProducer",
    "AIOKafkaAdminClient",
    "AIOKafkaClient",
}
TREES = ("streams", "connectors", "deploy", "tests", "bench")


def _constructed(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in CLIENTS:
            found.append((node.lineno, name))
        elif name == "App" and (
            isinstance(func, ast.Name) or (isinstance(func.value, ast.Name) and func.value.id == "faust")
        ):
            found.append((node.lineno, "faust.App"))
    return found


def _sources() -> list[Path]:
    return [p for root in TREES for p in sorted((REPO / root).rglob("*.py")) if p != MODULE]


def test_no_kafka_client_is_built_outside_the_connection_module() -> None:
    bypasses = [
        f"{path.relative_to(REPO)}:{line}: {name}(...)"
        for path in _sources()
        for line, name in _constructed(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    ]
    assert bypasses == [], (
        "build Kafka clients with KafkaConnection (kafka_producer, kafka_consumer, kafka_admin, "
        "aio_producer, aio_consumer, faust_app) so they get TLS and SASL:\n  " + "\n  ".join(bypasses)
    )


def test_the_scan_sees_a_direct_construction() -> None:
    """The guard itself can fail: each spelling of a bypass is found."""
    code = (
        "from kafka import KafkaProducer\nimport aiokafka, faust\n"
        "KafkaProducer(bootstrap_servers='x')\naiokafka.AIOKafkaConsumer('t')\nfaust.App('a')\n"
    )
    assert [name for _line, name in _constructed(ast.parse(code))] == [
        "KafkaProducer",
        "AIOKafkaConsumer",
        "faust.App",
    ]


def test_the_connection_module_builds_them() -> None:
    names = {name for _line, name in _constructed(ast.parse(MODULE.read_text(encoding="utf-8")))}
    assert {
        "KafkaProducer",
        "KafkaConsumer",
        "KafkaAdminClient",
        "AIOKafkaProducer",
        "AIOKafkaConsumer",
    } <= names
    assert "faust.App" in names
