"""The aggregation: facts from records, the breakdowns and the timeliness table, de-duplication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from stats.stats_support import Q3, allegation, notifications, obligation, reply

from seabus.schemas.codec import encode_model
from seabus.schemas.enums import AllegationStatus, OutcomeResult, PersonnelCategory, ResponseKind
from seabus.streams.stats import StatsIndex, build_report, parse_period
from seabus.streams.stats.export import to_csv
from seabus.streams.stats.periods import PeriodError

NOW = datetime(2025, 12, 1, tzinfo=UTC)


def feed(ix: StatsIndex, topic: str, record: object, key: str = "k") -> None:
    ix.ingest(f"sea.{topic}", key=key.encode(), value=encode_model(record))  # type: ignore[arg-type]


def index_of_five_ken(*, with_replies: bool = True) -> StatsIndex:
    """Five KEN contingent allegations in 2025-Q3, notified an hour later; acknowledged after 2..6 days."""
    ix = StatsIndex(prefix="sea")
    for n in range(5):
        aid = f"SYNTH-STATS-{n:03d}"
        e = allegation(aid, status=AllegationStatus.UNDER_INVESTIGATION)
        feed(ix, "allegations", e, aid)
        for note in notifications(e, routed_at=Q3 + timedelta(hours=1)):
            feed(ix, f"notify.{note.recipient}", note, aid)
        due = Q3 + timedelta(days=5)
        answered = Q3 + timedelta(days=2 + n) if with_replies else None
        if answered:
            feed(ix, "responses", reply(aid, "KEN", ResponseKind.ACKNOWLEDGED, at=answered), aid)
        feed(ix, "obligations", obligation(aid, "KEN", due_at=due, answered_at=answered), aid)
    return ix


def test_breakdowns_count_each_allegation_once_per_period() -> None:
    ix = index_of_five_ken()
    report = build_report(ix, choice=parse_period("2025", now=NOW), min_cell=3, now=NOW)
    assert report.tables["allegations"] == [
        {"period": "2025", "count": 5, "suppressed": []},
        {"period": "2025-Q3", "count": 5, "suppressed": []},
    ]
    assert {
        (r["period"], r["personnel_category"], r["count"]) for r in report.tables["by_personnel_category"]
    } == {
        ("2025", "MILITARY_CONTINGENT", 5),
        ("2025-Q3", "MILITARY_CONTINGENT", 5),
    }
    assert [r["nationality"] for r in report.tables["by_nationality"]] == ["KEN", "KEN"]
    assert [r["count"] for r in report.tables["victims"]] == [5, 5]  # one adult woman each
    assert report.suppressed_cells == 0


def test_timeliness_medians_and_late_share() -> None:
    report = build_report(index_of_five_ken(), choice=parse_period("2025-Q3", now=NOW), min_cell=3, now=NOW)
    [row] = report.tables["timeliness"]
    assert row["period"] == "2025-Q3"
    assert row["member_state"] == "KEN"
    assert row["count"] == 5
    assert row["median_hours_to_notification"] == 1.0
    assert row["median_hours_to_acknowledgement"] == 4 * 24.0  # 2, 3, 4, 5, 6 days
    # Due after 5 days: answered after 6 days is late (1 of 5).
    assert row["answered_late_share"] == 0.2
    assert row["median_hours_to_decision"] is None  # nobody decided: nothing to withhold
    assert row["suppressed"] == []


def test_open_past_due_counts_as_late() -> None:
    report = build_report(
        index_of_five_ken(with_replies=False), choice=parse_period("2025-Q3", now=NOW), min_cell=3, now=NOW
    )
    [row] = report.tables["timeliness"]
    assert row["answered_late_share"] == 1.0
    early = Q3 + timedelta(days=1)
    report = build_report(
        index_of_five_ken(with_replies=False),
        choice=parse_period("2025-Q3", now=early),
        min_cell=3,
        now=early,
    )
    assert report.tables["timeliness"][0]["answered_late_share"] == 0.0


def test_redelivered_records_change_nothing() -> None:
    once = index_of_five_ken()
    twice = index_of_five_ken()
    again = index_of_five_ken()  # the same records, read a second time into `twice`
    for aid, facts in again.allegations.items():
        assert twice.allegations[aid] == facts
    e = allegation("SYNTH-STATS-000")
    feed(twice, "allegations", e, e.allegation_id)
    feed(
        twice,
        "obligations",
        obligation(
            "SYNTH-STATS-000", "KEN", due_at=Q3 + timedelta(days=5), answered_at=Q3 + timedelta(days=2)
        ),
    )
    choice = parse_period("all", now=NOW)
    assert build_report(once, choice=choice, min_cell=3, now=NOW) == build_report(
        twice, choice=choice, min_cell=3, now=NOW
    )


def test_latest_event_wins_whatever_the_order() -> None:
    ix = StatsIndex(prefix="sea")
    later = allegation(
        "SYNTH-STATS-900",
        sequence=2,
        status=AllegationStatus.SUBSTANTIATED,
        outcome=OutcomeResult.SUBSTANTIATED,
    )
    feed(ix, "allegations", later)
    feed(ix, "allegations", allegation("SYNTH-STATS-900", sequence=1))
    facts = ix.allegations["SYNTH-STATS-900"]
    assert (facts.status, facts.outcome) == ("SUBSTANTIATED", "SUBSTANTIATED")


def test_small_cells_are_withheld_with_a_complement() -> None:
    ix = index_of_five_ken()
    for n, category in enumerate((PersonnelCategory.STAFF_MEMBER, PersonnelCategory.UN_POLICE_OFFICER)):
        feed(
            ix,
            "allegations",
            allegation(f"SYNTH-STATS-1{n:02d}", state="FRA", category=category, entity="MONUSCO"),
        )
    report = build_report(ix, choice=parse_period("2025-Q3", now=NOW), min_cell=3, now=NOW)
    by_entity = {r["reporting_entity"]: r for r in report.tables["by_entity"]}
    # MONUSCO has 2 (< 3): withheld. The total (7) is published, so MINUSCA (5) is withheld too.
    assert report.tables["allegations"][0]["count"] == 7
    assert by_entity["MONUSCO"]["count"] is None
    assert by_entity["MONUSCO"]["suppressed"] == ["count"]
    assert by_entity["MINUSCA"]["count"] is None
    for rows in report.tables.values():
        for row in rows:
            assert row["count"] is None or row["count"] >= 3, row
    assert report.suppressed_cells == sum(
        len(r["suppressed"]) for rows in report.tables.values() for r in rows
    )


def test_threshold_is_configurable() -> None:
    ix = index_of_five_ken()
    assert (
        build_report(ix, choice=parse_period("all", now=NOW), min_cell=6, now=NOW).tables["allegations"][0][
            "count"
        ]
        is None
    )
    assert build_report(ix, choice=parse_period("all", now=NOW), min_cell=1, now=NOW).suppressed_cells == 0


def test_nothing_identifying_is_kept() -> None:
    ix = index_of_five_ken()
    kept = repr(ix.allegations) + repr(ix.states) + repr(ix.obligations)
    assert "SYNTH-SUBJ" not in kept
    assert "NARRATIVE" not in kept
    assert "SYNTHETIC-NOTE" not in kept


def test_periods() -> None:
    assert parse_period(None, now=NOW).label == "2025"
    assert parse_period("2025-q3", now=NOW).label == "2025-Q3"
    assert parse_period("ALL", now=NOW).label == "all"
    with pytest.raises(PeriodError, match="2025-Q3"):
        parse_period("2025-Q5", now=NOW)
    assert parse_period("2025", now=NOW).shows("2025-Q4")
    assert not parse_period("2025-Q3", now=NOW).shows("2025")


def test_csv_has_the_json_rows() -> None:
    report = build_report(index_of_five_ken(), choice=parse_period("all", now=NOW), min_cell=3, now=NOW)
    lines = to_csv(report).splitlines()
    assert lines[0].startswith("table,period,")
    assert len(lines) - 1 == sum(len(rows) for rows in report.tables.values())
    assert any(line.startswith("timeliness,2025-Q3,") for line in lines)
