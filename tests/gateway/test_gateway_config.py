"""gateway.yaml, tokens and the Idempotency-Key store: no broker needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from seabus.connectors.gateway import AgencyAuth, IdempotencyStore, load_gateway_config, token_sha256
from seabus.connectors.gateway.idempotency import ClaimResult, StoredResponse
from seabus.connectors.publisher.errors import GatewayConfigError
from seabus.deploy.cli.gateway_cmd import gateway
from seabus.schemas.entities import load_reporting_entities
from seabus.streams.config import Settings

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "config" / "gateway.yaml"
HASH = "ab" * 32


def test_shipped_file_loads_and_holds_no_agency(settings: Settings) -> None:
    config = load_gateway_config(settings, path=SHIPPED, known_entities=load_reporting_entities())
    assert config.agencies == ()
    assert (config.host, config.port) == ("127.0.0.1", 8080)
    limit = config.rate_limit
    assert (limit.enabled, limit.requests_per_minute, limit.burst, limit.max_clients) == (
        True,
        600,
        60,
        10_000,
    )


def test_agencies_and_environment_overrides(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(f"port: 9000\nagencies:\n  - entity: MINUSCA\n    token_sha256: {HASH}\n")
    monkeypatch.setenv("SEABUS_GATEWAY__PORT", "9100")
    config = load_gateway_config(settings, path=path, known_entities=load_reporting_entities())
    assert config.port == 9100
    assert [(a.entity, a.token_sha256) for a in config.agencies] == [("MINUSCA", HASH)]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (f"agencies:\n  - entity: NOT-A-MISSION\n    token_sha256: {HASH}\n", "NOT-A-MISSION"),
        ("agencies:\n  - entity: MINUSCA\n    token_sha256: plain-token\n", "token_sha256"),
        (
            f"agencies:\n  - {{entity: MINUSCA, token_sha256: {HASH}}}\n  - {{entity: UNMISS, token_sha256: {HASH}}}\n",
            "more than once",
        ),
        ("max_batch: 0\n", "max_batch"),
        ("rate_limit:\n  requests_per_minute: 0\n", "rate_limit.requests_per_minute"),
        ("rate_limit:\n  burst: -1\n", "rate_limit.burst"),
        ("rate_limit:\n  per_hour: 5\n", "rate_limit.per_hour"),
        ("agencies: [\n", "not valid YAML"),
    ],
)
def test_bad_files_name_the_entry(settings: Settings, tmp_path: Path, body: str, fragment: str) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(body)
    with pytest.raises(GatewayConfigError, match=re.escape(fragment)) as caught:
        load_gateway_config(settings, path=path, known_entities=load_reporting_entities())
    assert str(path) in str(caught.value)


def test_token_command_prints_a_token_and_its_hash(settings: Settings) -> None:
    result = CliRunner().invoke(gateway, ["token", "unmiss"])
    assert result.exit_code == 0, result.output
    token = re.search(r"^  (sbk_\S+)$", result.output, re.M)
    digest = re.search(r"token_sha256: ([0-9a-f]{64})", result.output)
    assert token
    assert digest
    assert "- entity: UNMISS" in result.output
    assert AgencyAuth.from_tokens({token.group(1): "UNMISS"}).entity_for(token.group(1)) == "UNMISS"
    assert token_sha256(token.group(1)) == digest.group(1)
    second = CliRunner().invoke(gateway, ["token", "UNMISS"])
    assert token.group(1) not in second.output  # a new random token each time


def test_token_command_refuses_an_unknown_entity(settings: Settings) -> None:
    result = CliRunner().invoke(gateway, ["token", "NOPE"])
    assert result.exit_code != 0
    assert "NOPE is not a configured reporting entity" in str(result.exception)


def test_idempotency_store_replays_conflicts_and_forgets() -> None:
    now = [0.0]
    store = IdempotencyStore(max_keys=2, ttl_s=10, clock=lambda: now[0])
    answer = StoredResponse(202, b'{"accepted": []}', "application/json")
    assert store.claim("MINUSCA", "k1", "body-a").result is ClaimResult.NEW
    assert store.claim("MINUSCA", "k1", "body-a").result is ClaimResult.IN_PROGRESS
    store.complete("MINUSCA", "k1", answer)
    assert store.claim("MINUSCA", "k1", "body-a").response == answer
    assert store.claim("MINUSCA", "k1", "body-b").result is ClaimResult.CONFLICT
    assert store.claim("MONUSCO", "k1", "body-b").result is ClaimResult.NEW  # keys are per agency
    store.release("MONUSCO", "k1")
    assert store.claim("MONUSCO", "k1", "body-b").result is ClaimResult.NEW  # a failed request is retried
    assert store.claim("UNMISS", "k2", "x").result is ClaimResult.NEW  # bounded: the oldest goes
    assert len(store) == 2
    assert store.claim("MINUSCA", "k1", "body-a").result is ClaimResult.NEW
    now[0] = 100.0  # every entry expired
    assert store.claim("UNMISS", "k2", "y").result is ClaimResult.NEW
    assert len(store) == 1
