"""gateway.yaml's ``public_url``: the address notices are linked under."""

from __future__ import annotations

from pathlib import Path

import pytest

from seabus.connectors.gateway import load_gateway_config
from seabus.connectors.publisher.errors import GatewayConfigError
from seabus.streams.config import Settings

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "config" / "gateway.yaml"


def test_shipped_file_has_no_public_url(settings: Settings) -> None:
    assert load_gateway_config(settings, path=SHIPPED).public_url is None


def test_public_url_from_the_file_and_the_environment(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("public_url: https://seabus.example.org/\n")
    assert load_gateway_config(settings, path=path).public_url == "https://seabus.example.org"
    monkeypatch.setenv("SEABUS_GATEWAY__PUBLIC_URL", "https://bus.example.net/seabus")
    assert load_gateway_config(settings, path=path).public_url == "https://bus.example.net/seabus"


@pytest.mark.parametrize("value", ["seabus.example.org", "ftp://seabus.example.org", "https://x.org/?a=1"])
def test_a_bad_public_url_names_the_entry_and_the_fix(settings: Settings, tmp_path: Path, value: str) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(f"public_url: '{value}'\n")
    with pytest.raises(
        GatewayConfigError, match=r"gateway\.yaml: public_url: .*https://seabus\.example\.org"
    ):
        load_gateway_config(settings, path=path)
