"""Model runs: determinism by seed, sampled vs full population, summary contract."""

import filecmp
import math

import numpy as np
import pytest

from sim.model import run_model
from sim.outputs.writer import write_results
from sim.population.sampling import heartbeat_cluster, sampling_bound

SERIES = ("sessions", "viewers", "rps.total", "rps.heartbeat", "egress_gbps")


def test_same_seed_same_bytes(smoke, tmp_path):
    a = run_model(smoke, teachers=400, seed=5)
    b = run_model(smoke, teachers=400, seed=5)
    write_results(a, tmp_path / "a")
    write_results(b, tmp_path / "b")
    names = ["timeseries.csv", "outcomes_daily.csv", "attempts.csv", "summary.json"]
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names,
                                               shallow=False)
    assert match == names and not mismatch and not errors
    c = run_model(smoke, teachers=400, seed=6)
    assert not np.array_equal(a.recorder.counts, c.recorder.counts)


def test_sampled_run_agrees_with_full_run_within_the_stated_bound(smoke):
    full = run_model(smoke, teachers=8000, seed=3)
    sampled = run_model(smoke, teachers=8000, seed=3, max_simulated=2000)
    assert not full.population.sampled and sampled.population.sampled
    assert sampled.population.weight.sum() == pytest.approx(full.population.participants)
    w = float(sampled.population.weight.max())
    fs, ss = full.recorder.series(), sampled.recorder.series()
    for name in SERIES:
        peak_full, peak_sampled = fs[name].max(), ss[name].max()
        per_unit = 60.0 if name.startswith("rps.") else 1.0
        if name == "egress_gbps":  # Gbps -> viewers at the mean bitrate
            per_unit = fs["viewers"].max() / peak_full
        bound = sampling_bound(w, peak_full * per_unit, _cluster(full, fs, name))
        assert abs(peak_sampled / peak_full - 1.0) <= bound, (name, peak_full, peak_sampled)
    # outcomes: shares agree within binomial error
    done_full = np.isfinite(full.completed_at).mean()
    done_sampled = np.average(np.isfinite(sampled.completed_at), weights=sampled.population.weight)
    assert done_sampled == pytest.approx(done_full, abs=4 * math.sqrt(0.25 / 2000))


def _cluster(run, series: dict, name: str) -> float:
    """Heartbeats come in clusters, one viewer sending several (sim.population.sampling)."""
    if name not in ("rps.heartbeat", "rps.total"):
        return 1.0
    i = int(np.argmax(series[name]))
    viewers = {sub: float(run.recorder.spans[f"viewers.{sub}"][i]) for sub in ("basic", "higher",
                                                                             "vocational")}
    others = 60.0 * float(series["rps.total"][i] - series["rps.heartbeat"][i]) if name == "rps.total" \
        else 0.0
    intervals = {k: float(v) for k, v in run.scenario.platform.heartbeat_interval_s.items()}
    return heartbeat_cluster(viewers, intervals, others)


def test_summary_follows_the_results_contract(smoke, tmp_path):
    run = run_model(smoke, teachers=300, seed=2)
    summary = write_results(run, tmp_path).as_json()
    for key in ("kind", "version", "scenario", "seed", "seeds", "teachers", "weight", "peaks", "slo",
                "capacity", "outcomes", "replications", "metrics"):
        assert key in summary
    assert summary["kind"] == "model" and summary["replications"] is None
    assert "confirmation" not in summary  # not asked for
    assert set(summary["seeds"]) >= {"population", "sessions", "tests"}
    assert summary["peaks"]["rps.total"]["at"].startswith("2023-01-")
    for name in ("p95(latency.api)", "peak(sms_per_s)", "share(certified)", "rate(errors)",
                 "rate(sessions_lost)", "share(registered)", "max(utilisation.api)"):
        assert name in summary["metrics"]
    header = (tmp_path / "timeseries.csv").read_text().splitlines()[0].split(",")
    endpoints = [e.name for e in smoke.platform.endpoints]
    expected = ["minute", "offset_min", *[f"rps.{e}" for e in endpoints], "rps.total",
                "sessions", "viewers", "egress_gbps", "sms_per_s", "arrivals.sessions",
                "arrivals.registrations"]
    assert header[: len(expected)] == expected
    for tier in ("api", "database", "sms_gateway", "video_cdn"):
        for metric in ("utilisation", "wait_ms", "p50_ms", "p95_ms", "p99_ms"):
            assert f"tier.{tier}.{metric}" in header
    assert not list(tmp_path.glob("*.png"))  # the model writes data; charts are the report's
