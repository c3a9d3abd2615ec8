"""A group-commit writer's calibration: busy time = Σ N·d + batches·commit; the batches come
from the chain of batch sizes at each step's rate (sim/tiers/batching.py), so they are not in
a fixed ratio to the writes and the fit can tell the commit from the per-write demand; the
platform file then carries discipline group-commit and commit_ms, and loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calibrate.fit import BATCHES, TIED, Demand, Row, TierFit, fit_tier
from calibrate.platform_file import render, write
from calibrate.platform_lines import demand_lines
from domain.scenario import load_scenario
from sim.tiers.batching import batch_chain

SMOKE = Path(__file__).resolve().parents[2] / "scenarios" / "smoke.yaml"
D_S, COMMIT_S = 0.0016, 0.0052  # per heartbeat, per batch


def _rows(rng) -> list[Row]:
    rows = []
    for step, rate in enumerate([5.0, 20.0, 60.0, 120.0, 200.0, 300.0]):
        figures = batch_chain(rate, D_S, COMMIT_S)
        for _ in range(6):
            seconds = 10.0
            writes = float(rng.poisson(rate * seconds))
            batches = writes / figures.mean_batch
            busy = writes * D_S + batches * COMMIT_S + rng.normal(0, 0.002)
            rows.append(Row(step, seconds, {"heartbeat": writes, BATCHES: batches}, {"database": busy}))
    return rows


def test_the_fit_separates_the_commit_from_the_write():
    rng = np.random.default_rng(8)
    fit = fit_tier("database", _rows(rng), ["heartbeat", BATCHES], rng)
    assert fit.demands["heartbeat"].ms == pytest.approx(D_S * 1000, rel=0.05)
    assert fit.demands[BATCHES].ms == pytest.approx(COMMIT_S * 1000, rel=0.05)
    assert fit.demands[BATCHES].lo_ms <= COMMIT_S * 1000 <= fit.demands[BATCHES].hi_ms


def test_the_platform_file_carries_the_group_commit(tmp_path):
    scenario = load_scenario(SMOKE)
    demands = {e.name: Demand(0.0, 0.0, 0.0, 0) for e in scenario.platform.endpoints}
    demands["heartbeat"] = Demand(1.6, 1.4, 1.8, 20_000)
    fits = {"database": TierFit("database", 0.0, demands | {BATCHES: Demand(5.2, 4.8, 5.6, 9_000)}, 0.97, 36)}
    tiers = {"database": {"servers": 1, "service": "exponential", "note": "servers 1: SQLite has one writer",
                          "discipline": "group-commit", "commit_ms": 5.2}}
    out = tmp_path / "platform.yaml"
    provenance = {"target": "T", "target_kind": "reference platform", "commit": "abc", "date": "2026-11-30",
                  "steps": 6, "step_seconds": 20.0, "requests": 1}
    write(out, render(scenario, SMOKE, out, tiers, demand_lines(scenario, fits), provenance), provenance,
          force=False)
    database = load_scenario(out).platform.tier("database")
    assert database.discipline == "group-commit" and database.commit_ms == pytest.approx(5.2)
    assert load_scenario(out).platform.endpoint("heartbeat").demand_ms["database"] == pytest.approx(1.6)


def test_a_write_in_a_fixed_ratio_with_the_batches_keeps_its_cost_in_theirs(tmp_path):
    """Heartbeats came 1.0-1.15 a commit (2026-11-30): the fit put the lock time on the batches
    and 0 on the heartbeat. That 0 is not "not identified" (the scenario's 2 ms on top of the
    commit counted it twice: database predicted 0.30 busy against 0.105 measured): the two are
    one group (``TierFit.tied``), the batches keep the joint cost, and the heartbeat is written
    as a visit at 0 of its own, so that it still forms the writer's batches."""
    scenario = load_scenario(SMOKE)
    demands = {e.name: Demand(0.0, 0.0, 0.0, 0) for e in scenario.platform.endpoints}
    demands["heartbeat"] = Demand(0.0, 0.0, 1.3, 20_000, with_batches=0.999)
    demands["campaign_page"] = Demand(0.0, 0.0, 1.2, 1_000, with_batches=0.7)
    tied = ((BATCHES, "heartbeat"),)
    fits = {"database": TierFit("database", 0.0, demands | {BATCHES: Demand(1.1, 0.0, 1.14, 9_000)}, 0.96, 36,
                                tied=tied)}
    lines = demand_lines(scenario, fits)
    heartbeat = lines["heartbeat"]["database"]
    assert heartbeat["measured"] and heartbeat["visits"] and heartbeat["ms"] == 0.0
    assert "per-batch cost" in heartbeat["why"]
    assert not lines["campaign_page"]["database"]["measured"]  # not tied to the batches
    tiers = {"database": {"servers": 1, "service": "exponential", "note": "one writer",
                          "discipline": "group-commit", "commit_ms": 1.1}}
    out = tmp_path / "platform.yaml"
    provenance = {"target": "T", "target_kind": "reference platform", "commit": "abc", "date": "2026-11-30",
                  "steps": 6, "step_seconds": 20.0, "requests": 1}
    write(out, render(scenario, SMOKE, out, tiers, lines, provenance), provenance, force=False)
    heartbeat_endpoint = load_scenario(out).platform.endpoint("heartbeat")
    assert heartbeat_endpoint.demand_ms["database"] == 0 and heartbeat_endpoint.visits("database")
    free = demand_lines(scenario, {"database": TierFit("database", 0.0, demands | {
        BATCHES: Demand(0.0, 0.0, 1.14, 9_000)}, 0.96, 36, tied=tied)})
    assert not free["heartbeat"]["database"]["measured"]  # batches that cost nothing explain nothing


def test_writes_in_a_fixed_ratio_with_the_batches_form_one_group_with_them():
    """The one identifiability rule (``fit.tied_groups``) covers the batches: a light load at
    which every heartbeat is its own commit ties them; a staircase up to 300 writes/s, where
    batches grow to several writes, does not (that is what separated the two costs above)."""
    rng = np.random.default_rng(8)
    fit = fit_tier("database", _rows(rng), ["heartbeat", BATCHES], rng)
    assert 0.5 < fit.demands["heartbeat"].with_batches < TIED and fit.tied == ()
    light = [Row(r.step, r.seconds, {"heartbeat": r.requests["heartbeat"], BATCHES: r.requests["heartbeat"]},
                 r.busy_s) for r in _rows(rng)]
    assert fit_tier("database", light, ["heartbeat", BATCHES], rng).tied == ((BATCHES, "heartbeat"),)


def test_a_sqlite_writer_is_batched_by_the_api_loops(tmp_path):
    """The reference's SQLite writer is its workers' LoopCommitter: each loop commits its turn's
    writes, so the platform file names the api tier as what forms the batches (sim/tiers/turns.py)."""
    from types import SimpleNamespace

    from calibrate.platform_lines import tier_lines

    scenario = load_scenario(SMOKE)
    demands = {e.name: Demand(1.0, 0.5, 1.5, 500) for e in scenario.platform.endpoints}
    fits = {"api": TierFit("api", 0.0, dict(demands), 0.99, 36),
            "database": TierFit("database", 0.0, demands | {BATCHES: Demand(1.0, 0.5, 1.5, 9_000)}, 0.97, 36)}
    target = SimpleNamespace(absent=None, api_servers=2, database_servers=None, probes=SimpleNamespace(
        api_tier="api", database_tier="database",
        sources={"api": "psutil", "database": "yanxiu_commit_seconds_sum"}))
    out = tmp_path / "platform.yaml"
    provenance = {"target": "T", "target_kind": "reference platform", "commit": "abc", "date": "2026-11-30",
                  "steps": 6, "step_seconds": 20.0, "requests": 1}
    text = render(scenario, SMOKE, out, tier_lines(scenario, target, fits), demand_lines(scenario, fits),
                  provenance)
    write(out, text, provenance, force=False)
    database = load_scenario(out).platform.tier("database")
    assert database.discipline == "group-commit" and database.batched_by == "api"


def test_only_the_endpoints_whose_requests_are_the_jobs_take_the_writers_lock():
    """The reference's writer commits only heartbeats; sign-ins come with the heartbeats (one a
    session), so without the jobs' count the fit may give them a share of the lock time. The
    jobs per bin (``yanxiu_commit_jobs_sum``) say the heartbeats are the writes: the writer is
    fitted on them alone and the sign-in is written as not visiting it."""
    from calibrate.fit import JOBS, writers

    rng = np.random.default_rng(5)
    rows = []
    for step, rate in enumerate([5.0, 20.0, 60.0, 120.0, 200.0, 300.0]):
        figures = batch_chain(rate, D_S, COMMIT_S)
        for _ in range(6):
            beats = float(rng.poisson(rate * 10.0))
            logins = float(rng.poisson(rate * 10.0 / 20.0))
            batches = beats / figures.mean_batch
            busy = beats * D_S + batches * COMMIT_S + rng.normal(0, 0.002)
            rows.append(Row(step, 10.0, {"heartbeat": beats, "login": logins, BATCHES: batches, JOBS: beats},
                            {"database": busy}))
    assert writers(rows, ["heartbeat", "login"]) == ["heartbeat"]
    assert writers([Row(r.step, r.seconds, {k: v for k, v in r.requests.items() if k != JOBS}, r.busy_s)
                    for r in rows], ["heartbeat", "login"]) is None
    scenario = load_scenario(SMOKE)
    fit = fit_tier("database", rows, ["heartbeat", BATCHES], rng)
    lines = demand_lines(scenario, {"database": fit})
    assert lines["heartbeat"]["database"]["ms"] == pytest.approx(D_S * 1000, rel=0.05)
    assert not lines["login"]["database"]["visits"] and "jobs" in lines["login"]["database"]["why"]
    # and the calibration's own fit of the writer takes them alone
    from types import SimpleNamespace

    from calibrate.platform_lines import fit_tiers

    target = SimpleNamespace(api_servers=2, probes=SimpleNamespace(
        api_tier="api", database_tier="database", sources={"database": "yanxiu_commit_seconds_sum"}))
    writer = fit_tiers(scenario, target, [], [SimpleNamespace(rows=rows)], 0)["database"]
    assert "login" not in writer.demands
    assert writer.demands["heartbeat"].ms == pytest.approx(D_S * 1000, rel=0.05)
