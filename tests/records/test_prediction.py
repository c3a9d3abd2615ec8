"""The prediction beside the measurement (records.prediction) is typed, and files written before
it was (2026-12-01: raw dicts, an absent part written as {}) still load: hand-made in the old
layout here, and the bench's own folders of this session when they are on this machine."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest

from records import LoadtestSummary, read_summary, write_summary
from records.level import read_level
from records.prediction import AtLoad, FigureRow, Prediction

FIGURES = {"requests": 3000, "failures": 0, "rps": 30.0, "error_rate": 0.0, "p50_ms": 5.0, "p95_ms": 30.0,
           "p99_ms": 60.0}


def _row(predicted, measured, error=None, why=None) -> dict:
    row = {"predicted": predicted, "measured": measured, "relative_error": error}
    return row | ({"why_no_error": why} if why else {})


def old_prediction(at_achieved=None) -> dict:
    """``summary.json["prediction"]`` as calibrate.compare wrote it before the typed models
    (``dataclasses.asdict`` of its Comparison, every part present)."""
    rows = {"rps": _row(29.0, 30.0, -1 / 30), "mean_ms": _row(4.0, 5.0, -0.2),
            "p50_ms": _row(3.0, 5.0, -0.4), "p95_ms": _row(24.0, 30.0, -0.2),
            "p99_ms": _row(50.0, 60.0, -1 / 6), "error_rate": _row(0.0, 0.0)}
    few = {f: _row(9.0, 10.0, None, "812 requests (< 1000)") for f in ("mean_ms", "p95_ms")}
    return {"comparable": True, "reason": "", "calibrated_target": "T", "tested_target": "T",
            "endpoints": {"heartbeat": rows, "login": few},
            "tiers": {"api": {"predicted": 0.4, "measured": 0.5, "error_pp": -10.0}},
            "planned_vs_achieved": {"heartbeat": {"planned": 3100.0, "achieved": 3000, "ratio": 0.97}},
            "per_bin": {"heartbeat": {"planned": [300.0], "achieved": [290.0], "max_error": 0.033}},
            "at_achieved": {} if at_achieved is None else at_achieved,
            "in_app": {"heartbeat": {"in_app_ms": 3.0, "mean_ms": 5.0, "outside_ms": 2.0}},
            "background": {}, "coverage": {}, "writer": {},
            "metrics": {"prediction_error(p95(latency.heartbeat))": 0.2}, "platform_file": "p.yaml"}


def _summary(prediction: dict) -> dict:
    return {"kind": "loadtest", "version": 1, "scenario": "smoke", "stretch": "peak-hour", "compress": 36,
            "scale": 1.0, "duration_s": 100.0, "endpoints": {"heartbeat": FIGURES}, "total": FIGURES,
            "arrivals": {"planned": 10, "achieved": 10, "dropped": 0, "bin_s": 10, "max_bin_error": 0,
                         "within_10pct": True},
            "generator_cpu": {"max": 10, "mean": 5, "saturated": False}, "trustworthy": True,
            "metrics": {}, "prediction": prediction}


def test_an_old_prediction_loads_typed_and_its_empty_parts_are_none(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps(_summary(old_prediction())), encoding="utf-8")
    p = read_summary(tmp_path, LoadtestSummary).prediction
    assert isinstance(p, Prediction) and p.at_achieved is None and p.background is None
    assert p.endpoints["heartbeat"]["p95_ms"] == FigureRow(predicted=24.0, measured=30.0, relative_error=-0.2)
    assert p.endpoints["login"]["p95_ms"].why_no_error == "812 requests (< 1000)"
    assert p.tiers["api"].error_pp == -10.0 and p.planned_vs_achieved["heartbeat"].ratio == 0.97
    assert p.per_bin["heartbeat"].max_error == 0.033 and p.in_app["heartbeat"].outside_ms == 2.0
    assert p.compared().endpoints == p.endpoints  # nothing at the achieved load: the planned one


def test_the_prediction_at_the_achieved_load_and_its_host_load_typed_and_are_compared(tmp_path):
    host = {"tier": "api", "cores": 2.0, "runs": [], "wall": {"reference_cores": 0.8, "share": 0.5},
            "background_cores": [0.1, 0.2]}
    achieved = {"endpoints": {"heartbeat": {"p95_ms": _row(27.0, 30.0, -0.1)}}, "tiers": {}, "host": host}
    (tmp_path / "summary.json").write_text(json.dumps(_summary(old_prediction(achieved))), encoding="utf-8")
    p = read_summary(tmp_path, LoadtestSummary).prediction
    assert p is not None and isinstance(p.at_achieved, AtLoad)
    assert p.at_achieved.host is not None and p.at_achieved.host.wall is not None
    assert p.at_achieved.host.wall.share == 0.5 and p.at_achieved.host.background_cores == [0.1, 0.2]
    compared = p.compared()  # endpoints at the achieved load, tiers (none there) at the planned one
    assert compared.endpoints["heartbeat"]["p95_ms"].relative_error == -0.1 and compared.tiers == p.tiers


def test_a_prediction_is_written_once_and_read_back_the_same(tmp_path):
    summary = LoadtestSummary.model_validate(_summary(old_prediction()))
    write_summary(tmp_path, summary)
    again = read_summary(tmp_path, LoadtestSummary)
    assert again.prediction == summary.prediction
    on_disk = json.loads((tmp_path / "summary.json").read_text())["prediction"]
    assert on_disk["endpoints"]["heartbeat"]["rps"] == _row(29.0, 30.0, -1 / 30)  # the old layout


FOLDERS = sorted(glob.glob("/tmp/base/*/validate-*pct")) + sorted(glob.glob("/tmp/final/*/validate-*pct"))


@pytest.mark.skipif(not FOLDERS, reason="no bench levels of this session on this machine")
@pytest.mark.parametrize("folder", FOLDERS)
def test_the_benchs_level_folders_load(folder):
    """Written by the code before the typed models (this session's baseline, HEAD aeaa2b1)."""
    if Path(folder, "summary.json").is_file():
        read_summary(folder, LoadtestSummary)
    if Path(folder, "level.json").is_file():
        level = read_level(folder)
        assert level is not None
        if level.comparison is not None and level.comparison.comparable:
            assert level.comparison.compared().endpoints
