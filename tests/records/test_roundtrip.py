"""Every kind of results folder round-trips through its record, byte for byte, and a folder of
another kind or version is refused with one line (records/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import records
from records import LoadtestSummary, ModelSummary, RecordsError, WorkloadSummary, read_summary


def _loadtest_figures() -> dict:
    endpoint = {"requests": 10, "failures": 1, "rps": 2.5, "error_rate": 0.1, "p50_ms": 12.0,
                "p95_ms": 40.0, "p99_ms": None}
    return {
        "scenario": "smoke", "model_results": "results/smoke", "stretch": "peak-hour",
        "stretch_first_minute": "2023-01-05T20:00:00+08:00", "compress": 60, "scale": 0.01,
        "host": "http://127.0.0.1:1", "duration_s": 60.0, "arrival_process": "poisson",
        "endpoints": {"login": endpoint}, "total": endpoint,
        "arrivals": {"planned": 12.5, "achieved": 12, "dropped": 0, "by_process": {"local": 12},
                     "cut": 1, "idle": 0, "no_account": {}, "untasked": {}, "late_s_max": 0.01,
                     "bin_s": 10.0, "max_bin_error": 0.04, "within_10pct": True},
        "generator_cpu": {"max": 31.5, "mean": 12.0, "saturated": False, "processes": 1,
                          "threshold_pct": 90.0},
        "exceptions": {"count": 0, "top": ""}, "trustworthy": True, "verdict": [],
        "metrics": {"p95(latency.all)": 40.0, "rate(errors)": 0.1},
        "新": "extra keys are kept",
    }


def _same_bytes_again(folder: Path, record: records.Record) -> None:
    path = records.write_summary(folder, record)
    text = path.read_text(encoding="utf-8")
    back = read_summary(folder, type(record))
    assert back == record
    records.write_summary(folder, back)
    assert path.read_text(encoding="utf-8") == text


def test_a_model_run_round_trips(smoke, tmp_path):
    from sim.model import run_model
    from sim.outputs.writer import write_results

    written = write_results(run_model(smoke, teachers=200, seed=3), tmp_path)
    data = json.loads((tmp_path / "summary.json").read_text())
    assert list(data)[:2] == ["kind", "version"] and data["version"] == records.VERSION
    back = read_summary(tmp_path)
    assert isinstance(back, ModelSummary) and back == written
    _same_bytes_again(tmp_path, back)


def test_a_workload_run_round_trips(tmp_path):
    from domain.scenario import load_scenario
    from sim.tiers.experiments import run_workload, write_workload

    scenario = load_scenario(Path(__file__).parents[1] / "scenarios" / "erlang-mm1-rho50.yaml")
    workload = scenario.workload.model_copy(update={"duration_s": 60.0, "warmup_s": 5.0})
    result = run_workload(scenario.model_copy(update={"workload": workload}), seed=1, replications=2)
    write_workload(result, tmp_path)
    back = read_summary(tmp_path)
    assert isinstance(back, WorkloadSummary) and back.tiers["server"]["utilisation"].theory == 0.5
    _same_bytes_again(tmp_path, back)


def test_a_loadtest_run_round_trips_with_its_extra_keys(tmp_path):
    record = records.build(LoadtestSummary, _loadtest_figures())
    _same_bytes_again(tmp_path, record)
    text = (tmp_path / "summary.json").read_text(encoding="utf-8")
    assert '"新": "extra keys are kept"' in text  # written as the load tests always wrote it
    assert read_summary(tmp_path).kind == "loadtest"


def _folder(tmp_path: Path, **changes) -> Path:
    data = records.build(LoadtestSummary, _loadtest_figures()).as_json()
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    (tmp_path / "summary.json").write_text(json.dumps(data), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("changes", "message"), [
    ({"version": 99}, r"version 99; this yanxiu reads version 1"),
    ({"version": None}, r"no version \(written before versioned records\)"),
    ({"kind": "spreadsheet"}, r"kind: expected one of model, loadtest, workload \(got 'spreadsheet'\)"),
    ({"arrivals": {"planned": "many"}}, r"arrivals\.planned: "),
])
def test_a_folder_of_another_version_or_shape_is_refused_in_one_line(tmp_path, changes, message):
    folder = _folder(tmp_path, **changes)
    with pytest.raises(RecordsError, match=message) as caught:
        read_summary(folder)
    assert "\n" not in str(caught.value) and "summary.json" in str(caught.value)


def test_a_reader_of_one_kind_refuses_another(tmp_path):
    with pytest.raises(RecordsError, match="a loadtest folder, expected a model folder"):
        read_summary(_folder(tmp_path), ModelSummary)


def test_missing_folder_file_and_bad_json(tmp_path):
    with pytest.raises(RecordsError, match="no such results folder"):
        read_summary(tmp_path / "nowhere")
    with pytest.raises(RecordsError, match="missing"):
        read_summary(tmp_path)
    (tmp_path / "summary.json").write_text("{", encoding="utf-8")
    with pytest.raises(RecordsError, match="not readable JSON"):
        read_summary(tmp_path)


def test_a_writer_mistake_names_the_field():
    figures = _loadtest_figures()
    del figures["trustworthy"]
    with pytest.raises(RecordsError, match="LoadtestSummary: trustworthy: Field required"):
        records.build(LoadtestSummary, figures)
