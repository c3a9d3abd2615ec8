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


def test_a_run_with_ranges_is_not_called_a_single_run(model_results, tmp_path):
    """The ranges' runs each have their own seed, so the verdict does not say that the run has
    no interval for seed noise; a plain run still says it."""
    import json
    import shutil

    from report.data import load
    from report.verdict import paragraph

    assert "single run" in " ".join(paragraph(load(model_results), Labels("en")))
    folder = tmp_path / "ranged"
    shutil.copytree(model_results, folder)
    summary = json.loads((folder / "summary.json").read_text())
    summary["ranges"] = {"draws": 4, "posterior": "f.yaml", "parameters": ["gap_hours_mean"],
                         "figures": {"peak(sessions)": {"central": 5.0, "p05": 4.0, "p95": 6.0}}}
    (folder / "summary.json").write_text(json.dumps(summary))
    text = " ".join(paragraph(load(folder), Labels("en")))
    assert "single run" not in text and "90% ranges" in text
