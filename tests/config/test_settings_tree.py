"""The one settings tree: seabus.yaml, the section files it names, one SEABUS_* convention."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from seabus.connectors.dashboard.errors import DashboardConfigError
from seabus.connectors.errors import DeliveryConfigError
from seabus.connectors.publisher.errors import GatewayConfigError
from seabus.schemas.errors import ConfigError
from seabus.streams.config import load_settings
from seabus.streams.config.settings import RENAMED_ENV
from seabus.streams.context import load_context

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "config"


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped configuration folder, named by SEABUS_CONFIG, no other SEABUS_* set."""
    for key in [k for k in os.environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)
    folder = tmp_path / "conf"
    shutil.copytree(SHIPPED, folder)
    monkeypatch.setenv("SEABUS_CONFIG", str(folder / "seabus.yaml"))
    monkeypatch.setenv("SEABUS_DATA_DIR", str(tmp_path / "data"))
    return folder


def test_the_shipped_files_make_one_tree(conf: Path) -> None:
    settings = load_settings()
    gateway = settings.gateway_config()
    assert (gateway.host, gateway.port, gateway.rate_limit.enabled) == ("127.0.0.1", 8080, True)
    assert settings.delivery.source == conf / "delivery.yaml"
    assert settings.delivery.retry.max_delay_s == 300
    assert settings.dashboard.users == ()
    assert settings.section_file("dashboard") == conf / "dashboard.yaml"


def test_the_demo_files_are_usable(conf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEABUS_DELIVERY_FILE", "delivery.demo.yaml")
    monkeypatch.setenv("SEABUS_POLICIES_FILE", "policies.demo.yaml")
    monkeypatch.setenv("SEABUS_RECIPIENTS_FILE", "recipients.demo.yaml")
    settings = load_settings()
    assert settings.delivery.oncall.name == "demo on-call"
    assert settings.delivery.source == conf / "delivery.demo.yaml"
    context = load_context(settings)
    assert "OSC" in context.directory.ids()


def test_nested_variables_override_each_section(conf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEABUS_GATEWAY__PORT", "9100")
    monkeypatch.setenv("SEABUS_GATEWAY__RATE_LIMIT__BURST", "7")
    monkeypatch.setenv("SEABUS_DELIVERY__SMTP__HOST", "relay.example.org")
    monkeypatch.setenv("SEABUS_DELIVERY__SMTP__PASSWORD", "synthetic-password")
    monkeypatch.setenv("SEABUS_DELIVERY__ONCALL__EMAIL__TO", "a@ops.example.org, b@ops.example.org")
    monkeypatch.setenv("SEABUS_DASHBOARD__POLL_INTERVAL_S", "9")
    settings = load_settings()
    gateway = settings.gateway_config()
    assert (gateway.port, gateway.rate_limit.burst, gateway.rate_limit.requests_per_minute) == (9100, 7, 600)
    assert settings.delivery.smtp.host == "relay.example.org"
    assert settings.delivery.smtp.port == 587  # the file's other keys stay
    assert settings.delivery.smtp_password == "synthetic-password"
    assert "synthetic-password" not in repr(settings)
    assert settings.delivery.oncall.email is not None
    assert settings.delivery.oncall.email.to == ["a@ops.example.org", "b@ops.example.org"]
    assert settings.dashboard.poll_interval_s == 9


def test_a_section_may_sit_inline_in_seabus_yaml(conf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main = conf / "seabus.yaml"
    main.write_text(main.read_text(encoding="utf-8") + "\ngateway:\n  port: 8181\n", encoding="utf-8")
    monkeypatch.setenv("SEABUS_GATEWAY__HOST", "127.0.0.2")
    gateway = load_settings().gateway_config()
    assert (gateway.host, gateway.port, gateway.max_batch) == ("127.0.0.2", 8181, 500)


@pytest.mark.parametrize(("old", "new"), sorted(RENAMED_ENV.items()))
def test_an_old_variable_stops_start_up_naming_the_new_one(
    conf: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str
) -> None:
    monkeypatch.setenv(old, "synthetic-old-value")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"{old} -> {new}" in message
    assert "synthetic-old-value" not in message  # a value may be a secret (SEABUS_SMTP_PASSWORD)


def test_a_file_variable_names_another_section_file(
    conf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "elsewhere" / "gw.yaml"
    other.parent.mkdir()
    other.write_text("port: 9300\n", encoding="utf-8")
    monkeypatch.setenv("SEABUS_GATEWAY_FILE", str(other))
    settings = load_settings()
    assert settings.gateway_config().port == 9300
    assert settings.section_file("gateway") == other


@pytest.mark.parametrize(
    ("section", "body", "error", "fragment"),
    [
        ("gateway", "max_batch: 0\n", GatewayConfigError, "max_batch"),
        ("gateway", "port: [\n", GatewayConfigError, "not valid YAML"),
        ("delivery", "retry:\n  multiplier: 0\n", DeliveryConfigError, "retry.multiplier"),
        ("delivery", "smtp:\n  password: synthetic-in-file\n", DeliveryConfigError, "smtp.password must not"),
        ("dashboard", "poll_interval_s: 0\n", DashboardConfigError, "poll_interval_s"),
        ("dashboard", "- a list\n", DashboardConfigError, "top level must be a mapping"),
    ],
)
def test_a_bad_section_file_stops_start_up_naming_file_and_entry(
    conf: Path, section: str, body: str, error: type[ConfigError], fragment: str
) -> None:
    path = conf / f"{section}.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(error) as caught:
        load_settings()
    assert str(path) in str(caught.value)
    assert fragment in str(caught.value)
    assert "synthetic-in-file" not in str(caught.value)


def test_an_inline_smtp_password_is_refused_too(conf: Path) -> None:
    main = conf / "seabus.yaml"
    main.write_text(
        main.read_text(encoding="utf-8") + "\ndelivery:\n  smtp:\n    password: synthetic-inline\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"delivery\.smtp\.password must not be written") as caught:
        load_settings()
    assert "synthetic-inline" not in str(caught.value)


def test_a_bad_nested_variable_names_the_file_and_entry(conf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEABUS_GATEWAY__PORT", "not-a-port")
    with pytest.raises(GatewayConfigError, match=r"gateway\.yaml: port: "):
        load_settings()


def test_a_missing_gateway_file_stops_only_what_needs_the_gateway(conf: Path) -> None:
    (conf / "gateway.yaml").unlink()
    settings = load_settings()  # `seabus topics`, `seabus stats` ... still start
    with pytest.raises(GatewayConfigError, match="cannot read the gateway configuration") as caught:
        settings.gateway_config()  # `seabus run` and `seabus gateway` call this at start-up
    assert str(conf / "gateway.yaml") in str(caught.value)


def test_missing_delivery_and_dashboard_files_mean_defaults(conf: Path) -> None:
    (conf / "delivery.yaml").unlink()
    (conf / "dashboard.yaml").unlink()
    settings = load_settings()
    assert settings.delivery.enabled
    assert settings.delivery.smtp.host is None
    assert settings.dashboard.users == ()


def test_an_agency_outside_the_entities_list_stops_the_context(conf: Path) -> None:
    (conf / "gateway.yaml").write_text(
        "agencies:\n  - entity: SYNTH-NOT-LISTED\n    token_sha256: " + "ab" * 32 + "\n", encoding="utf-8"
    )
    settings = load_settings()
    with pytest.raises(GatewayConfigError, match="SYNTH-NOT-LISTED are not configured reporting entities"):
        load_context(settings)


def test_the_local_broker_jvm_options_default_to_the_launchers_and_take_a_json_list(
    conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seabus.deploy.kafka.layout import DEFAULT_JVM_OPTIONS

    assert load_settings().local_kafka_jvm_options == DEFAULT_JVM_OPTIONS  # shipped seabus.yaml
    monkeypatch.setenv("SEABUS_LOCAL_KAFKA_JVM_OPTIONS", '["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]')
    assert load_settings().local_kafka_jvm_options == ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


@pytest.mark.parametrize("option", ["-javaagent:/tmp/x.jar", "-cp", "kafka.Other", "-Xbootclasspath/a:/tmp"])
def test_a_local_broker_jvm_option_that_is_not_one_stops_start_up(
    conf: Path, monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    monkeypatch.setenv("SEABUS_LOCAL_KAFKA_JVM_OPTIONS", f'["-XX:+UseSerialGC", "{option}"]')
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    assert "local_kafka_jvm_options" in message
    assert repr(option) in message
    assert "-X... or -D..." in message
