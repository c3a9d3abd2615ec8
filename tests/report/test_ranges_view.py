"""The report's ranges table (report.ranges_view)."""

from types import SimpleNamespace

from records.model import Range, Ranges
from report.i18n import Labels
from report.ranges_view import ranges_table


def _data(ranges):
    return SimpleNamespace(summary=SimpleNamespace(ranges=ranges))


def test_every_peak_and_capacity_with_interval_and_driver():
    figures = {
        "peak(sessions)": Range(central=760e3, p05=500e3, p95=1.2e6, driver="gap_hours_mean",
                                sensitivity={"gap_hours_mean": -0.8, "dropout": 0.1}),
        "capacity(api)": Range(central=4000, p05=3000, p95=9000, driver="heartbeat_basic_s",
                               sensitivity={"heartbeat_basic_s": -0.9}),
        "share(completed)": Range(central=0.9, p05=0.8, p95=0.95),
    }
    table = ranges_table(_data(Ranges(draws=8, posterior="f.yaml", parameters=["gap_hours_mean"],
                                      figures=figures)), Labels("en"))
    assert [row[0] for row in table.rows] == ["peak(sessions)", "capacity(api)"]
    assert table.rows[0][3] == "gap_hours_mean (-0.80)" and "–" in table.rows[0][2]
    assert "8 runs" in table.note
    assert ranges_table(_data(None), Labels("zh")) is None
