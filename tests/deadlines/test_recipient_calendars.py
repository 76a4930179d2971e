"""Recipients use the calendars shipped for them: KEN counts working days over Kenya's holidays.

Every policy file that may run with the shipped recipients directory (the
defaults, the demo, the tests' fast policies) must define each calendar the
directory names, or the bus refuses to start; these tests load each pair the
way ``seabus run`` does.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support.deadline_policies import write_fast_policies

from seabus.schemas.errors import ConfigError
from seabus.streams.config import Settings
from seabus.streams.context import BusContext, load_context

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config"
NAIROBI = ZoneInfo("Africa/Nairobi")


def _context(monkeypatch: pytest.MonkeyPatch, policies: Path) -> BusContext:
    monkeypatch.setenv("SEABUS_POLICIES_FILE", str(policies))
    monkeypatch.setenv("SEABUS_RECIPIENTS_FILE", str(CONFIG / "recipients.yaml"))
    return load_context(Settings())


@pytest.mark.parametrize("name", ["policies.yaml", "policies.demo.yaml", "fast"])
def test_every_policy_file_defines_the_calendars_the_directory_names(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policies = write_fast_policies(tmp_path) if name == "fast" else CONFIG / name
    ctx = _context(monkeypatch, policies)
    assert (entry := ctx.directory.get("KEN")) is not None
    assert entry.calendar == "kenya"
    assert ctx.calendar_for("KEN").name == "kenya"


def test_kenya_skips_mashujaa_day_and_a_state_without_a_calendar_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = _context(monkeypatch, CONFIG / "policies.yaml")
    # Monday 19 October 2026, 10:00 in Nairobi; Tuesday 20 October is Mashujaa Day.
    start = datetime(2026, 10, 19, 10, 0, tzinfo=NAIROBI)
    ken = ctx.calendar_for("KEN").add_working_days(start, 5)
    ury = ctx.calendar_for("URY").add_working_days(start, 5)
    assert ken.astimezone(NAIROBI) == datetime(2026, 10, 27, 10, 0, tzinfo=NAIROBI)
    assert ury.astimezone(NAIROBI) == datetime(2026, 10, 26, 10, 0, tzinfo=NAIROBI)


def test_a_policy_file_without_the_kenya_calendar_stops_start_up_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_fast_policies(tmp_path)
    path.write_text("\n".join(line for line in path.read_text().splitlines() if "kenya" not in line))
    with pytest.raises(ConfigError) as caught:
        _context(monkeypatch, path)
    message = str(caught.value)
    assert "KEN" in message
    assert "'kenya'" in message
    assert "calendars:" in message
