"""Start-up checks of delivery: every unusable channel stops the bus with the file and the recipient named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from seabus.connectors.delivery import (
    ONCALL,
    DeliveryConfig,
    plan_delivery,
    plan_oncall,
)
from seabus.connectors.errors import DeliveryConfigError
from seabus.connectors.webhooks import generate_secret
from seabus.schemas.errors import ConfigError
from seabus.streams.config import Settings, load_settings
from seabus.streams.config.recipients import RecipientsDirectory

RECIPIENTS = Path("/etc/seabus/recipients.yaml")


def directory(*entries: dict[str, Any]) -> RecipientsDirectory:
    offices = [{"id": o, "name": o} for o in ("OSC", "OIOS", "VRA")]
    return RecipientsDirectory.model_validate({"recipients": [*offices, *entries]})


def plan(config: DeliveryConfig, *entries: dict[str, Any]) -> Any:
    return plan_delivery(directory(*entries), config=config, recipients_file=RECIPIENTS)


def test_an_email_channel_without_an_smtp_relay_stops_start_up() -> None:
    bgd = {"id": "BGD", "name": "Bangladesh", "channels": {"email": {"to": ["desk@bgd.example.org"]}}}
    with pytest.raises(ConfigError) as caught:
        plan(DeliveryConfig(source=Path("/etc/seabus/delivery.yaml")), bgd)
    message = str(caught.value)
    assert str(RECIPIENTS) in message
    assert "BGD" in message
    assert "/etc/seabus/delivery.yaml" in message
    assert "SEABUS_DELIVERY__SMTP__HOST" in message


def test_a_missing_webhook_secret_variable_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBHOOK_SECRET_KEN", raising=False)
    ken = {
        "id": "KEN",
        "name": "Kenya",
        "channels": {
            "webhook": {"url": "https://hooks.ken.example.org/seabus", "secrets_env": ["WEBHOOK_SECRET_KEN"]}
        },
    }
    with pytest.raises(DeliveryConfigError) as caught:
        plan(DeliveryConfig(), ken)
    assert "KEN" in str(caught.value)
    assert "WEBHOOK_SECRET_KEN" in str(caught.value)


def test_plain_http_needs_allow_private(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET_URY", generate_secret())
    ury = {
        "id": "URY",
        "name": "Uruguay",
        "channels": {
            "webhook": {"url": "http://hooks.ury.example.org/seabus", "secrets_env": ["WEBHOOK_SECRET_URY"]}
        },
    }
    with pytest.raises(DeliveryConfigError, match=r"URY.*plain http"):
        plan(DeliveryConfig(), ury)


def test_recipients_without_push_channels_get_no_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET_FRA", generate_secret())
    fra = {
        "id": "FRA",
        "name": "France",
        "channels": {
            "webhook": {"url": "https://hooks.fra.example.org/", "secrets_env": ["WEBHOOK_SECRET_FRA"]}
        },
    }
    plans = plan(DeliveryConfig(), fra, {"id": "KEN", "name": "Kenya"})
    assert [(p.recipient, p.channels) for p in plans] == [("FRA", ("webhook",))]


def test_smtp_settings_come_from_the_environment_and_the_password_only_from_there(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "delivery.yaml"
    path.write_text("smtp:\n  host: relay.example.org\n  port: 587\nemail:\n  max_attempts: 3\n")
    monkeypatch.setenv("SEABUS_DELIVERY_FILE", str(path))
    monkeypatch.setenv("SEABUS_DELIVERY__SMTP__PORT", "2525")
    monkeypatch.setenv("SEABUS_DELIVERY__SMTP__USERNAME", "seabus")
    monkeypatch.setenv("SEABUS_DELIVERY__SMTP__PASSWORD", "synthetic-password")
    config = load_settings().delivery
    assert (config.smtp.host, config.smtp.port, config.smtp.username) == ("relay.example.org", 2525, "seabus")
    assert config.smtp_password == "synthetic-password"
    assert config.email.max_attempts == 3

    path.write_text("smtp:\n  password: in-the-file\n")
    with pytest.raises(DeliveryConfigError, match=r"delivery\.yaml.*smtp\.password"):
        load_settings()


def test_a_missing_file_means_defaults(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEABUS_DELIVERY_FILE", str(tmp_path / "absent.yaml"))
    config = load_settings().delivery
    assert config.enabled
    assert config.smtp.host is None


def test_the_shipped_file_is_valid(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = Path(__file__).resolve().parents[2] / "deploy" / "config" / "delivery.yaml"
    monkeypatch.setenv("SEABUS_DELIVERY_FILE", str(shipped))
    config = load_settings().delivery
    assert config.retry.max_delay_s == 300
    assert plan_oncall(config) is None  # nobody to page until an operator names someone


# --- on-call receivers (the ``oncall`` section) -------------------------------------------


def _oncall_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "delivery.yaml"
    path.write_text(text)
    monkeypatch.setenv("SEABUS_DELIVERY_FILE", str(path))
    for name in (
        "SEABUS_DELIVERY__ONCALL__WEBHOOK__URL",
        "SEABUS_DELIVERY__ONCALL__WEBHOOK__ALLOW_PRIVATE",
        "SEABUS_DELIVERY__ONCALL__EMAIL__TO",
    ):
        monkeypatch.delenv(name, raising=False)
    return path


ONCALL_HOOK = """
oncall:
  webhook:
    url: https://events.pagerduty.example.org/v2/enqueue
    routing_key_env: SYNTH_ONCALL_KEY
    secrets_env: [SYNTH_ONCALL_SECRET]
"""


def test_no_oncall_section_pages_nobody(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _oncall_file(tmp_path, monkeypatch, "enabled: true\n")
    assert plan_oncall(load_settings().delivery) is None


def test_an_unset_routing_key_stops_start_up_naming_file_entry_and_fix(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _oncall_file(tmp_path, monkeypatch, ONCALL_HOOK)
    monkeypatch.setenv("SYNTH_ONCALL_SECRET", generate_secret())
    monkeypatch.delenv("SYNTH_ONCALL_KEY", raising=False)
    with pytest.raises(DeliveryConfigError) as caught:
        plan_oncall(load_settings().delivery)
    message = str(caught.value)
    assert str(path) in message
    assert "oncall.webhook.routing_key_env" in message
    assert "SYNTH_ONCALL_KEY" in message and "export" in message  # noqa: PT018

    monkeypatch.setenv("SYNTH_ONCALL_KEY", "synthetic-routing-key")
    monkeypatch.delenv("SYNTH_ONCALL_SECRET")
    with pytest.raises(DeliveryConfigError, match=r"oncall\.webhook: .*SYNTH_ONCALL_SECRET"):
        plan_oncall(load_settings().delivery)


def test_oncall_email_needs_a_relay_and_levels_must_be_known(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _oncall_file(tmp_path, monkeypatch, "oncall:\n  email:\n    to: [oncall@ops.example.org]\n")
    with pytest.raises(DeliveryConfigError, match=r"oncall\.email: .*SEABUS_DELIVERY__SMTP__HOST"):
        plan_oncall(load_settings().delivery)
    _oncall_file(tmp_path, monkeypatch, "oncall:\n  levels: [OVERDUE, LATE]\n")
    with pytest.raises(DeliveryConfigError, match=r"oncall\.levels\.1"):
        load_settings()


def test_environment_overrides_make_the_oncall_receivers(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _oncall_file(tmp_path, monkeypatch, "smtp:\n  host: relay.example.org\n")
    monkeypatch.setenv("SEABUS_DELIVERY__ONCALL__WEBHOOK__URL", "http://127.0.0.1:9/v2/enqueue")
    monkeypatch.setenv("SEABUS_DELIVERY__ONCALL__WEBHOOK__ALLOW_PRIVATE", "true")
    monkeypatch.setenv("SEABUS_DELIVERY__ONCALL__EMAIL__TO", "a@ops.example.org, b@ops.example.org")
    monkeypatch.setenv("SEABUS_ONCALL_ROUTING_KEY", "synthetic-routing-key")
    monkeypatch.setenv("SEABUS_ONCALL_WEBHOOK_SECRET", generate_secret())
    oncall = plan_oncall(load_settings().delivery)
    assert oncall is not None
    assert oncall.plan.recipient == ONCALL
    assert oncall.plan.channels == ("webhook", "email")
    assert oncall.plan.email is not None
    assert oncall.plan.email.to == ("a@ops.example.org", "b@ops.example.org")
    assert oncall.routing_key == "synthetic-routing-key"
    assert "synthetic-routing-key" not in repr(oncall)


def test_email_only_oncall_has_no_routing_key(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _oncall_file(
        tmp_path,
        monkeypatch,
        "smtp:\n  host: relay.example.org\noncall:\n  email:\n    to: [oncall@ops.example.org]\n",
    )
    oncall = plan_oncall(load_settings().delivery)
    assert oncall is not None
    assert oncall.plan.channels == ("email",)
    assert oncall.routing_key is None
