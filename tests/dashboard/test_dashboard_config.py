"""dashboard.yaml and the local token file: defaults, mistakes named with their fix, rendering helpers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from dashboard.dashboard_support import TOKEN, sha, write_dashboard_file

from seabus.connectors.dashboard import (
    DashboardConfigError,
    TokenBook,
    issue_local_token,
    load_dashboard_config,
    read_local_tokens,
)
from seabus.connectors.dashboard.render import duration
from seabus.streams.config import Settings

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "config" / "dashboard.yaml"


def test_the_shipped_file_is_valid_and_lets_nobody_in(offline_settings: Settings) -> None:
    config = load_dashboard_config(offline_settings, path=SHIPPED)
    assert config.enabled
    assert config.users == ()
    assert config.metrics_public


def test_a_missing_file_means_the_defaults_with_no_users(offline_settings: Settings, tmp_path: Path) -> None:
    config = load_dashboard_config(offline_settings, path=tmp_path / "absent.yaml")
    assert (config.enabled, config.users) == (True, ())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("users: [\n", "not valid YAML"),
        ("- just a list\n", "must be a mapping"),
        ("users:\n  - name: a\n    token_sha256: not-a-hash\n", "users.0.token_sha256"),
        ("poll_interval_s: 0\n", "poll_interval_s"),
        ("colour: blue\n", "colour"),
        (
            f"users:\n  - name: a\n    token_sha256: {sha(TOKEN)}\n  - name: b\n    token_sha256: {sha(TOKEN)}\n",
            "listed more than once",
        ),
    ],
)
def test_mistakes_name_the_file_and_the_entry(
    offline_settings: Settings, tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "dashboard.yaml"
    path.write_text(text)
    with pytest.raises(DashboardConfigError) as caught:
        load_dashboard_config(offline_settings, path=path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_a_broken_edit_keeps_the_last_good_users(offline_settings: Settings, tmp_path: Path) -> None:
    path = write_dashboard_file(tmp_path)
    book = TokenBook(settings=offline_settings, config_path=path, check_every_s=0)
    assert book.user_for(sha(TOKEN)) == "oncall"
    path.write_text("users: [\n")
    assert book.user_for(sha(TOKEN)) == "oncall"
    write_dashboard_file(tmp_path, users={})
    assert book.user_for(sha(TOKEN)) is None


def test_local_tokens_can_be_switched_off(offline_settings: Settings, tmp_path: Path) -> None:
    path = write_dashboard_file(tmp_path, extra="local_tokens_file:")
    with pytest.raises(DashboardConfigError, match="local_tokens_file"):
        issue_local_token(offline_settings, name="demo", ttl=timedelta(hours=1), config_path=path)


def test_a_damaged_local_token_file_says_how_to_reset(offline_settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "tokens.yaml"
    bad.write_text("tokens:\n  - name: demo\n")
    with pytest.raises(DashboardConfigError, match="Delete the file"):
        read_local_tokens(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "0 s"),
        (59.9, "59 s"),
        (-75, "1 min 15 s"),
        (3600 * 2 + 300, "2 h 5 min"),
        (86400 * 3 + 7200, "3 d 2 h"),
    ],
)
def test_durations_read_like_the_page_script(seconds: float, text: str) -> None:
    assert duration(seconds) == text
