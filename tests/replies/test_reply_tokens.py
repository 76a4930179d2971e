"""Recipient reply tokens: gateway.yaml's `recipients:`, reply_token_env, and `seabus gateway token --recipient`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from seabus.connectors.gateway import load_gateway_config, token_sha256
from seabus.connectors.gateway.responses import RecipientAuth
from seabus.connectors.publisher.errors import GatewayConfigError
from seabus.deploy.cli.gateway_cmd import gateway
from seabus.streams.config import Settings
from seabus.streams.config.recipients import RecipientsDirectory

HASH = "a" * 64


def test_recipient_tokens_are_read_by_hash(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(f"recipients:\n  - recipient: FRA\n    token_sha256: {HASH}\n    note: case desk\n")
    config = load_gateway_config(settings, path=path)
    assert [(r.recipient, r.token_sha256) for r in config.recipients] == [("FRA", HASH)]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (f"recipients:\n  - recipient: France\n    token_sha256: {HASH}\n", "recipients.0.recipient"),
        (
            f"agencies:\n  - {{entity: MINUSCA, token_sha256: {HASH}}}\nrecipients:\n"
            f"  - {{recipient: FRA, token_sha256: {HASH}}}\n",
            "agency or recipient",
        ),
    ],
)
def test_bad_recipient_entries_stop_the_gateway(
    settings: Settings, tmp_path: Path, text: str, named: str
) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    with pytest.raises(GatewayConfigError, match=re.escape(named)):
        load_gateway_config(settings, path=path)


def test_a_token_in_the_directorys_reply_token_env_is_accepted_too(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEABUS_DEMO_KEN_TOKEN", "sbk_synthetic-ken-demo-token")
    directory = RecipientsDirectory.model_validate(
        {
            "recipients": [
                *({"id": o, "name": o} for o in ("OSC", "OIOS", "VRA")),
                {"id": "KEN", "name": "Kenya", "reply_token_env": "SEABUS_DEMO_KEN_TOKEN"},
                {"id": "URY", "name": "Uruguay", "reply_token_env": "SEABUS_DEMO_URY_TOKEN_UNSET"},
            ]
        }
    )
    path = tmp_path / "gateway.yaml"
    path.write_text(f"recipients:\n  - recipient: FRA\n    token_sha256: {token_sha256('sbk_fra')}\n")
    auth = RecipientAuth.from_config(load_gateway_config(settings, path=path), directory)
    assert auth.recipient_for("sbk_synthetic-ken-demo-token") == "KEN"
    assert auth.recipient_for("sbk_fra") == "FRA"
    assert auth.recipients == {"FRA", "KEN"}


def test_the_token_command_makes_a_reply_token_for_a_recipient(settings: Settings) -> None:
    result = CliRunner().invoke(gateway, ["token", "--recipient", "fra"])
    assert result.exit_code == 0, result.output
    token = re.search(r"^  (sbk_\S+)$", result.output, re.M)
    digest = re.search(r"token_sha256: ([0-9a-f]{64})", result.output)
    assert token
    assert digest
    assert "recipient: FRA" in result.output
    assert token_sha256(token.group(1)) == digest.group(1)


def test_the_token_command_wants_exactly_one_owner(settings: Settings) -> None:
    assert CliRunner().invoke(gateway, ["token"]).exit_code != 0
    assert CliRunner().invoke(gateway, ["token", "MINUSCA", "--recipient", "FRA"]).exit_code != 0
    unknown = CliRunner().invoke(gateway, ["token", "--recipient", "ZZZ"])
    assert unknown.exit_code != 0
    assert "not in the recipients directory" in str(unknown.exception)
