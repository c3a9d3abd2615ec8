"""Maintenance closures: the platform is shut, so no request, session or viewer is counted in
them; request bytes (photo uploads) are counted on the bandwidth tier."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import yaml

from domain.scenario import load_scenario, parse_scenario
from sim.model import run_model

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
NOISE = 1e-9  # a teacher's session counts 1 (times a weight); a running sum's rounding, 1e-16


def shut(run) -> np.ndarray:
    return np.array(run.profile.shut_minutes())


@pytest.fixture(scope="module")
def smoke_closed():
    data = yaml.safe_load((SCENARIOS / "smoke.yaml").read_text(encoding="utf-8"))
    data["calendar"]["closures"] = [{"name": "maintenance", "start": dt.date(2023, 1, 6),
                                     "end": dt.date(2023, 1, 7)}]
    return run_model(parse_scenario(data), teachers=600)


def test_nothing_reaches_a_closed_platform(smoke_closed):
    series, closed = smoke_closed.recorder.series(), shut(smoke_closed)
    assert closed.sum() == 2 * 1440
    for name in ("rps.total", "errors_per_s", "arrivals.sessions"):
        assert not series[name][closed].any(), name
    for name in ("sessions", "viewers", "egress_gbps"):  # running sums: float noise at most
        assert np.abs(series[name][closed]).max() < NOISE, name
    assert series["rps.total"][~closed].sum() > 0
    # the day before and the day after are busy: the closure is not an empty stretch anyway
    day = 1440
    assert series["sessions"][closed.argmax() - day:closed.argmax()].max() > 0
    assert series["sessions"][closed.argmax() + 2 * day:closed.argmax() + 3 * day].max() > 0


def test_teachers_come_back_after_a_closure(smoke_closed):
    """Sessions that would fall in the closure move behind it: completions do not collapse."""
    assert smoke_closed.completed_at[np.isfinite(smoke_closed.completed_at)].size > 0


@pytest.mark.slow
def test_the_qualification_system_has_no_load_while_closed_and_counts_photo_bytes():
    run = run_model(load_scenario(SCENARIOS / "qualification-2020.yaml"), teachers=3000, seed=3)
    series, closed = run.recorder.series(), shut(run)
    assert not series["rps.total"][closed].any()
    for name in ("sessions", "egress_gbps"):
        assert np.abs(series[name][closed]).max() < NOISE, name
    assert series["rps.total"][~closed].sum() > 0
    assert not series["viewers"].any()  # the application is forms, not video
    # the only bytes are the uploads, 200 KB each, on the bandwidth tier
    uploads = series["rps.photo_upload"]
    assert uploads.sum() > 0
    assert np.allclose(series["egress_gbps"], uploads * 200 * 8 * 1e-6)
    assert np.allclose(run.tiers["video_cdn"].load, series["egress_gbps"])
