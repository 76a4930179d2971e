"""The connection setting turned into each library's options, without a broker."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import faust
import pytest
import trustme
from pydantic import SecretStr

from seabus.schemas.errors import ConfigError
from seabus.streams.config import load_settings
from seabus.streams.kafka_connection import KafkaConnection, KafkaSecurity

SECRET = "s3cret-synthetic-password"


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def scram(ca_file: Path, **changes: object) -> KafkaConnection:
    security = KafkaSecurity(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        username="seabus",
        password=SecretStr(SECRET),
        ca_file=ca_file,
    )
    return KafkaConnection(bootstrap="b1:9093, b2:9093", security=security.model_copy(update=changes))


def test_plaintext_is_only_the_servers() -> None:
    conn = KafkaConnection(bootstrap="127.0.0.1:9092")
    assert conn.kafka_python_options() == {
        "bootstrap_servers": ["127.0.0.1:9092"],
        "security_protocol": "PLAINTEXT",
    }
    assert conn.aiokafka_options() == {
        "bootstrap_servers": ["127.0.0.1:9092"],
        "security_protocol": "PLAINTEXT",
    }
    assert conn.faust_options() == {"broker": "kafka://127.0.0.1:9092", "broker_credentials": None}


def test_sasl_ssl_reaches_all_three_libraries(ca_file: Path) -> None:
    conn = scram(ca_file)
    for options in (conn.kafka_python_options(), conn.aiokafka_options()):
        assert options["bootstrap_servers"] == ["b1:9093", "b2:9093"]
        assert options["security_protocol"] == "SASL_SSL"
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert options["sasl_plain_username"] == "seabus"
        assert options["sasl_plain_password"] == SECRET
        context = options["ssl_context"]
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
    faust_options = conn.faust_options()
    assert faust_options["broker"] == "kafka://b1:9093,kafka://b2:9093"
    credentials = faust_options["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert (credentials.username, credentials.password) == ("seabus", SECRET)


def test_mutual_tls_presents_the_client_certificate(tmp_path: Path) -> None:
    ca = trustme.CA()
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem.bytes())
    client = ca.issue_cert("client.example.org")
    client.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
    client.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    conn = KafkaConnection(
        bootstrap="b1:9093",
        security=KafkaSecurity(
            security_protocol="SSL",
            ca_file=tmp_path / "ca.pem",
            cert_file=tmp_path / "client.pem",
            key_file=tmp_path / "client.key",
        ),
    )
    assert conn.ssl_context() is not None  # loading a wrong pair would raise here
    assert "sasl_mechanism" not in conn.kafka_python_options()
    assert isinstance(conn.faust_options()["broker_credentials"], faust.SSLCredentials)


def test_the_password_is_never_in_a_repr_or_a_description(ca_file: Path) -> None:
    conn = scram(ca_file)
    assert SECRET not in repr(conn)
    assert SECRET not in str(conn.describe())
    assert SECRET not in repr(conn.faust_options()["broker_credentials"])


def test_a_password_file_is_read_at_each_use(ca_file: Path, tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("first\n")
    conn = scram(ca_file, password=None, password_file=secret)
    assert conn.kafka_python_options()["sasl_plain_password"] == "first"
    secret.write_text("rotated\n")
    assert conn.aiokafka_options()["sasl_plain_password"] == "rotated"
    secret.unlink()
    with pytest.raises(ConfigError, match="password file"):
        conn.password()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"security_protocol": "SASL_SSL", "username": "u", "password": "p"}, "needs sasl_mechanism"),
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "username": "u"}, "exactly one"),
        ({"username": "u"}, "SASL settings given"),
        ({"security_protocol": "SSL", "cert_file": "c.pem"}, "both cert_file and key_file"),
        ({"ca_file": "ca.pem"}, "TLS files given"),
        (
            {"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI", "username": "u", "password": "p"},
            "sasl_mechanism",
        ),
    ],
)
def test_inconsistent_settings_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KafkaSecurity.model_validate(fields)


def test_the_environment_gives_the_bus_the_same_connection(
    ca_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)
    conn = scram(ca_file)
    for key, value in conn.env().items():
        monkeypatch.setenv(key, value)
    assert load_settings().connection() == conn


def test_a_password_written_in_the_config_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)
    config = tmp_path / "seabus.yaml"
    config.write_text(
        "bootstrap: b1:9093\nkafka:\n  security_protocol: SASL_SSL\n  sasl_mechanism: PLAIN\n"
        "  username: u\n  password: in-the-file\n"
    )
    monkeypatch.setenv("SEABUS_CONFIG", str(config))
    with pytest.raises(ConfigError, match="must not be written in a configuration file") as caught:
        load_settings()
    assert "in-the-file" not in str(caught.value)


def test_no_cluster_configured_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)
    with pytest.raises(ConfigError, match="seabus kafka up"):
        load_settings().connection()
