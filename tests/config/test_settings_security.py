"""Secure by default: a remote cluster is never used in PLAINTEXT because a setting was forgotten."""

from __future__ import annotations

import pytest

from seabus.schemas.errors import ConfigError
from seabus.streams.config import load_settings
from seabus.streams.kafka_connection import KafkaSecurity


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in [k for k in os.environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)


def test_a_remote_bootstrap_without_a_protocol_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(bootstrap="127.0.0.1:9092,kafka-1.example.org:9093")
    message = str(caught.value)
    assert "kafka-1.example.org:9093 is not on this machine" in message
    assert "SEABUS_KAFKA__SECURITY_PROTOCOL=SASL_SSL" in message


def test_the_same_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEABUS_BOOTSTRAP", "kafka.example.org:9092")
    with pytest.raises(ConfigError, match="does not fall back to PLAINTEXT silently"):
        load_settings()


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL"])
def test_an_explicit_protocol_is_respected(monkeypatch: pytest.MonkeyPatch, protocol: str) -> None:
    monkeypatch.setenv("SEABUS_BOOTSTRAP", "kafka.example.org:9092")
    monkeypatch.setenv("SEABUS_KAFKA__SECURITY_PROTOCOL", protocol)
    assert load_settings().connection().security.security_protocol == protocol


def test_an_explicit_protocol_object_is_respected() -> None:
    s = load_settings(bootstrap="kafka.example.org:9092", kafka=KafkaSecurity(security_protocol="PLAINTEXT"))
    assert s.connection().security.security_protocol == "PLAINTEXT"


@pytest.mark.parametrize("bootstrap", ["127.0.0.1:9092", "localhost:9092", "[::1]:9092", "127.0.0.2:19092"])
def test_a_broker_on_loopback_may_stay_plaintext(bootstrap: str) -> None:
    assert load_settings(bootstrap=bootstrap).connection().security.security_protocol == "PLAINTEXT"
