"""The report's platform-run section: each campaign's part of the shared peak and who sets
each tier's need, from the summary's campaigns section."""

from __future__ import annotations

from types import SimpleNamespace

from report.campaigns import tables
from report.i18n import Labels

SECTION = {
    "each": {"winter": {"participants": 1000, "shared_study_hours": {"exempt": 12.5}},
             "exempt": {"participants": 10, "shared_study_hours": {"winter": 0.0}}},
    "peak": {"value": 100.0, "at": "2023-02-27T21:00+08:00",
             "by_campaign": {"winter": {"at_peak": 90.0, "share_at_peak": 0.9, "peak_alone": 95.0,
                                        "peak_lowered_without": 80.0},
                             "exempt": {"at_peak": 10.0, "share_at_peak": 0.1, "peak_alone": 12.0,
                                        "peak_lowered_without": 5.0}}},
    "tiers": {"api": {"needed": 40, "unit": "servers", "at": "2023-02-27T21:00+08:00",
                      "needed_without": {"winter": 6, "exempt": 38}, "set_by": "winter",
                      "busiest_at_hardest_minute": "winter"}},
}


def test_two_tables_for_a_platform_run():
    peak, tiers = tables(SimpleNamespace(campaigns=SECTION), Labels("en"))
    assert "2023-02-27 21:00" in peak.title and "100" in peak.title
    assert [row[0] for row in peak.rows] == ["winter", "exempt"]
    assert peak.rows[0][3] == "90.0%" and "exempt 12.5" in peak.rows[0][-1] and peak.rows[1][-1] == "–"
    assert tiers.header[-1] == "set by" and tiers.rows[0][0] == "api" and tiers.rows[0][-1] == "winter"
    assert len(tiers.rows[0]) == 2 + 2 + 1  # tier, needed, without each campaign, set by


def test_no_tables_for_a_single_campaign_and_chinese_words():
    assert tables(SimpleNamespace(), Labels("en")) == []
    peak, _ = tables(SimpleNamespace(campaigns=SECTION), Labels("zh"), label="A")
    assert peak.title.startswith("A: 各专题")
