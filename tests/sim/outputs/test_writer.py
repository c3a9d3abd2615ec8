"""The results folder's request-level confirmation section (sim.outputs.writer.confirmation)."""

from __future__ import annotations

import pytest

from sim.model import run_model
from sim.outputs import writer as outputs


@pytest.fixture(scope="module")
def smoke_run(smoke):
    run = run_model(smoke, teachers=300, seed=2)
    return run, outputs.timeseries(run), outputs.minute_labels(run)


def test_confirmation_checks_the_peak_minute_first_then_each_tiers_busiest(smoke_run, monkeypatch):
    monkeypatch.setattr(outputs, "CONFIRM_REQUESTS", 6000)
    monkeypatch.setattr(outputs, "CONFIRM_OTHER_REQUESTS", 2000)
    run, series, labels = smoke_run
    section = outputs.confirmation(run, series, labels, replications=3)
    minutes = section["minutes"]
    peak = int(series["rps.total"].argmax())
    assert minutes[0]["minute"] == peak and "peak(rps.total)" in minutes[0]["why"]
    assert minutes[0]["at"] == labels[peak]
    whys = [w for m in minutes for w in m["why"]]
    assert {"peak(tier.api.utilisation)", "peak(tier.database.utilisation)"} <= set(whys)
    for m in minutes:
        # a quiet minute is held at its rates until the request budget is spent
        assert m["seconds"] == pytest.approx(min(outputs.CONFIRM_MAX_S,
                                                 (6000 if m is minutes[0] else 2000)
                                                 / m["rps_total"]))
        assert m["replications"] == 3 and not m["backlog_carried"]
        for tier, f in m["tiers"].items():
            i = m["minute"]
            # the model's side is the time series' own figure for that minute
            assert f["utilisation"]["model"] == pytest.approx(
                series[f"tier.{tier}.utilisation"][i], rel=1e-12)
            assert f["p95_s"]["model"] * 1000 == pytest.approx(series[f"tier.{tier}.p95_ms"][i],
                                                               rel=1e-9)
            lo, hi = f["utilisation"]["ci95"]
            assert lo <= f["utilisation"]["simulated"] <= hi
    api = minutes[0]["tiers"]["api"]
    # ~6,000 requests a replication at ~0.05% utilisation: nobody waits, the p95 is the
    # service mix's, sampled from ~300 requests above it per replication: within 10%
    assert api["mean_wait_s"]["simulated"] == 0.0 and api["mean_wait_s"]["model_in_ci95"]
    assert api["p95_s"]["simulated"] == pytest.approx(api["p95_s"]["model"], rel=0.10)
    assert api["utilisation"]["simulated"] == pytest.approx(api["utilisation"]["model"], rel=0.05)


def test_confirmation_is_deterministic_by_seed(smoke_run, monkeypatch):
    monkeypatch.setattr(outputs, "CONFIRM_REQUESTS", 500)
    monkeypatch.setattr(outputs, "CONFIRM_OTHER_REQUESTS", 200)
    run, series, labels = smoke_run
    assert outputs.confirmation(run, series, labels, 2) == outputs.confirmation(run, series,
                                                                                labels, 2)
