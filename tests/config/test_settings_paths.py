"""Where relative data-file paths are looked up: beside the config file, else where the command runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from seabus.streams.config import Settings


def test_relative_paths_beside_the_config_file_then_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "conf"
    config_dir.mkdir()
    config = config_dir / "seabus.yaml"
    config.write_text("topic_prefix: synth\n", encoding="utf-8")
    (config_dir / "both.yaml").write_text("x: 1\n", encoding="utf-8")
    work = tmp_path / "work"
    (work / "deploy").mkdir(parents=True)
    (work / "deploy" / "typed.yaml").write_text("x: 1\n", encoding="utf-8")
    (work / "both.yaml").write_text("x: 2\n", encoding="utf-8")
    monkeypatch.chdir(work)
    settings = Settings(config_file=config)

    assert settings.resolve(Path("both.yaml")) == config_dir / "both.yaml"  # the config folder wins
    assert settings.resolve(Path("deploy/typed.yaml")) == work / "deploy" / "typed.yaml"
    assert settings.resolve(Path("missing.yaml")) == config_dir / "missing.yaml"  # errors name this one
    assert settings.resolve(tmp_path / "abs.yaml") == tmp_path / "abs.yaml"


def test_the_readme_demo_command_finds_the_demo_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(repo)
    monkeypatch.setenv("SEABUS_POLICIES_FILE", "deploy/config/policies.demo.yaml")
    settings = Settings()
    assert settings.resolve(settings.policies_file) == repo / "deploy" / "config" / "policies.demo.yaml"
