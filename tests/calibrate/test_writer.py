"""The SQLite writer's commit and write costs from the server's commit timings by batch size
(calibrate/writer.py): identified where the tier's busy time alone ties them (batches of ~1
write), read from /metrics, used by the calibration's fit, and the fallback without them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from calibrate import writer
from calibrate.fit import BATCHES, JOBS, Row
from calibrate.probes import parse_metrics
from domain.scenario import load_scenario

SMOKE = Path(__file__).resolve().parents[2] / "scenarios" / "smoke.yaml"
C_S, D_S = 0.0015, 0.0005  # a commit's, a write's (about the reference's, 2026-11-30 17:40)
SIZES = {"1": 1.0, "2": 2.0, "3-4": 3.3, "5-8": 6.0}


def _rows(rng: np.random.Generator, by_size: bool = True) -> list[Row]:
    """Steps whose batches are mostly one write (the calibration's): heartbeats and batches
    in a near-fixed ratio per bin, as in the reference's calibrations."""
    rows = []
    for step, rate in enumerate([10.0, 30.0, 60.0, 100.0, 150.0, 200.0]):
        for _ in range(5):
            counts = {"1": rng.poisson(rate * 10 * 0.8), "2": rng.poisson(rate * 10 * 0.08),
                      "3-4": rng.poisson(rate * 10 * 0.01), "5-8": rng.poisson(rate * 10 * 0.002)}
            requests = {"heartbeat": 0.0, BATCHES: 0.0, JOBS: 0.0, "login": float(rng.poisson(rate))}
            busy = 0.0
            for band, n in counts.items():
                writes = n * SIZES[band]
                lock = n * C_S + writes * D_S + rng.normal(0.0, 0.0003 * np.sqrt(n + 1))  # commits' spread
                requests["heartbeat"] += writes
                requests[BATCHES] += n
                requests[JOBS] += writes
                busy += lock
                if by_size:
                    requests |= {f"(lock_s {band})": lock, f"(commits {band})": float(n),
                                 f"(jobs {band})": writes}
            rows.append(Row(step, 10.0, requests, {"database": busy}))
    return rows


def test_the_commit_timings_by_size_separate_a_commit_from_a_write():
    found = writer.fit_writer(_rows(np.random.default_rng(3)), "database", np.random.default_rng(0))
    assert found is not None
    for got, truth in ((found.commit, C_S), (found.write, D_S)):
        assert got.ms == pytest.approx(truth * 1000, rel=0.03)
        # six steps' bootstrap is narrow (it under-covers): tight around the estimate, near the truth
        assert got.lo_ms <= got.ms <= got.hi_ms and got.hi_ms - got.lo_ms < 0.05 * truth * 1000
        assert got.lo_ms == pytest.approx(truth * 1000, rel=0.03)
        assert got.hi_ms == pytest.approx(truth * 1000, rel=0.03)
    assert found.r2_bins > 0.95 and [b.band for b in found.bands] == ["1", "2", "3-4", "5-8"]
    assert "a commit" in found.text() and "yanxiu_commit_seconds_by_size" in found.text()
    # each step's lone commits (band 1): c + d, whatever the step's load here
    assert [s.step for s in found.per_step] == list(range(6))
    assert all(s.lone_ms == pytest.approx((C_S + D_S) * 1000, rel=0.05) for s in found.per_step)
    assert writer.record(found, "")["per_step"][0]["commits"] == found.per_step[0].commits


def test_without_the_timers_or_with_one_size_only_nothing_is_fitted_and_it_says_why():
    rows = _rows(np.random.default_rng(3), by_size=False)
    assert writer.fit_writer(rows, "database", np.random.default_rng(0)) is None
    assert "no commit timers by batch size" in writer.why_not(rows)
    single = [Row(r.step, r.seconds, {k: v for k, v in r.requests.items() if "1)" in k or "(" not in k},
                  r.busy_s) for r in _rows(np.random.default_rng(3))]
    assert writer.fit_writer(single, "database", np.random.default_rng(0)) is None
    assert "cannot be told apart" in writer.why_not(single)


def test_the_calibrations_fit_takes_the_split_where_the_utilisation_law_ties_it():
    """The tier's busy time per bin has heartbeats and batches in a near-fixed ratio: the
    utilisation law's NNLS cannot split them (a tied group); the timers by size can."""
    from calibrate.platform_lines import fit_tiers, tier_lines, writer_record

    rows = _rows(np.random.default_rng(3))
    scenario = load_scenario(SMOKE)
    target = SimpleNamespace(api_servers=2, absent=None, probes=SimpleNamespace(
        api_tier="api", database_tier="database", sources={"database": "yanxiu_commit_seconds_sum"}))
    fit = fit_tiers(scenario, target, [], [SimpleNamespace(rows=rows)], 0)["database"]
    assert fit.tied == () and "login" not in fit.demands
    assert fit.demands[BATCHES].ms == pytest.approx(C_S * 1000, rel=0.05)
    assert fit.demands["heartbeat"].ms == pytest.approx(D_S * 1000, rel=0.1)
    split = writer_record(target, {"database": fit}, rows, 0)
    assert split is not None and split["source"] == "yanxiu_commit_seconds_by_size"
    note = tier_lines(scenario, target, {"database": fit}, split)["database"]["note"]
    assert "commit timings by batch size" in note
    # a target without the timers: the utilisation law's fit, and the provenance says so
    timers = ("(lock", "(commits", "(jobs ")
    bare = [Row(r.step, r.seconds, {k: v for k, v in r.requests.items() if not k.startswith(timers)},
                r.busy_s) for r in rows]
    kept = fit_tiers(scenario, target, [], [SimpleNamespace(rows=bare)], 0)["database"]
    assert kept.demands[BATCHES].ms != pytest.approx(C_S * 1000, rel=0.05) or kept.tied
    why = writer_record(target, {"database": kept}, bare, 0)
    assert why is not None and why["source"].startswith("utilisation law")
    assert "no commit timers" in why["why"]
    lines = tier_lines(scenario, target, {"database": kept}, why)
    assert "by the utilisation law" in lines["database"]["note"]


def test_metrics_by_size_and_the_routes_hold_are_read():
    text = "\n".join([
        'yanxiu_commit_seconds_by_size_sum{jobs="1"} 0.5',
        'yanxiu_commit_seconds_by_size_count{jobs="1"} 200.0',
        'yanxiu_commit_seconds_by_size_bucket{jobs="1",le="0.001"} 3.0',
        'yanxiu_commit_jobs_by_size_total{jobs="1"} 200.0',
        'yanxiu_commit_seconds_by_size_sum{jobs="3-4"} 0.1',
        'yanxiu_commit_seconds_by_size_count{jobs="3-4"} 30.0',
        'yanxiu_commit_jobs_by_size_total{jobs="3-4"} 100.0',
        'yanxiu_commit_jobs_by_size_created{jobs="3-4"} 1.7e9',
        "yanxiu_write_lock_held_seconds_sum 0.25",
        "yanxiu_write_lock_held_seconds_count 20.0",
    ])
    scrape = parse_metrics(text)
    assert scrape.by_size == {"1": (0.5, 200.0, 200.0), "3-4": (0.1, 30.0, 100.0)}
    assert scrape.route_lock == (0.25, 20.0)
    assert parse_metrics("process_cpu_seconds_total 1.0").by_size == {}
    counts = writer.row_counts({"1": (0.5, 200.0, 200.0)}, scrape.by_size)
    assert counts == {"(lock_s 1)": 0.0, "(commits 1)": 0.0, "(jobs 1)": 0.0,
                      "(lock_s 3-4)": 0.1, "(commits 3-4)": 30.0, "(jobs 3-4)": 100.0}


def test_steps_whose_lone_commits_held_the_lock_longer_are_left_out():
    """Beside other work on the host the loop holds the lock longer for the same commit (19:28:
    lone commits 1.7-2.1 ms in the quiet steps, 4.7-5.3 ms beside 1.3 cores): the two busiest
    steps here hold it 3x as long, and fitted with them the split is theirs, not the server's."""
    busy = {4, 5}
    rows = []
    for r in _rows(np.random.default_rng(3)):
        factor = 3.0 if r.step in busy else 1.0
        requests = {k: v * factor if k.startswith("(lock_s") else v for k, v in r.requests.items()}
        rows.append(Row(r.step, r.seconds, requests, {"database": r.busy_s["database"] * factor}))
    assert writer.quiet_steps(rows) == {0, 1, 2, 3}
    found = writer.fit_writer(rows, "database", np.random.default_rng(0))
    assert found is not None and found.left_out == (4, 5)
    assert found.commit.ms == pytest.approx(C_S * 1000, rel=0.05)
    assert found.write.ms == pytest.approx(D_S * 1000, rel=0.1)
    assert len(found.per_step) == 6 and "2 step(s) left out" in found.text()
    assert writer.record(found, "")["left_out_steps"] == [4, 5]


def test_the_routes_own_transactions_are_read_per_endpoint_into_the_writer_tier(tmp_path):
    """yanxiu_write_lock_held_seconds{endpoint}: per bin, each endpoint's holds (pseudo-counts of
    the rows, as the commits by size are); over the steps the mean hold and the share of the
    endpoint's requests that hold (sign-ins: only those by SMS code); the tier line names them
    for the scenario's endpoints only, and the platform file written with them loads."""
    from calibrate.platform_file import render, write
    from calibrate.platform_lines import fit_tiers, tier_lines, writer_record
    from tests.calibrate.test_platform_file import PROVENANCE

    before = parse_metrics('yanxiu_write_lock_held_seconds_sum{endpoint="test_submit"} 0.1\n'
                           'yanxiu_write_lock_held_seconds_count{endpoint="test_submit"} 10.0\n')
    after = parse_metrics("\n".join([
        'yanxiu_write_lock_held_seconds_sum{endpoint="test_submit"} 0.3',
        'yanxiu_write_lock_held_seconds_count{endpoint="test_submit"} 30.0',
        'yanxiu_write_lock_held_seconds_sum{endpoint="login"} 0.12',
        'yanxiu_write_lock_held_seconds_count{endpoint="login"} 15.0',
        'yanxiu_write_lock_held_seconds_sum{endpoint="other"} 0.5',
        'yanxiu_write_lock_held_seconds_count{endpoint="other"} 12.0']))
    assert after.route_holds["login"] == (0.12, 15.0) and after.route_lock == pytest.approx((0.92, 57.0))
    counts = writer.hold_counts(before.route_holds, after.route_holds)
    assert counts["(hold_s test_submit)"] == pytest.approx(0.2) and counts["(holds test_submit)"] == 20.0
    rows = [Row(r.step, r.seconds, r.requests | (counts if i % 10 == 0 else {}), r.busy_s)
            for i, r in enumerate(_rows(np.random.default_rng(3)))]
    holds = writer.route_holds(rows)
    assert holds is not None
    logins = sum(r.requests["login"] for r in rows)
    assert holds["hold_ms"] == {"login": 8.0, "other": pytest.approx(41.667, rel=1e-3), "test_submit": 10.0}
    assert holds["share"]["login"] == pytest.approx(15.0 * 3 / logins, rel=5e-3)  # three rows counted
    assert writer.route_holds([Row(0, 1.0, {"login": 3.0}, {})]) is None
    twice = writer.route_holds([Row(0, 1.0, {"test_submit": 10.0, "(hold_s test_submit)": 0.08,
                                             "(holds test_submit)": 20.0}, {})])
    # two transactions a request (a test submission): one hold of their sum, every request
    assert twice is not None
    assert (twice["hold_ms"], twice["share"]) == ({"test_submit": 8.0}, {"test_submit": 1.0})
    scenario = load_scenario(SMOKE)
    target = SimpleNamespace(api_servers=2, absent=None, probes=SimpleNamespace(
        api_tier="api", database_tier="database", sources={"database": "yanxiu_commit_seconds_sum"}))
    fit = fit_tiers(scenario, target, [], [SimpleNamespace(rows=rows)], 0)["database"]
    split = writer_record(target, {"database": fit}, rows, 0)
    line = tier_lines(scenario, target, {"database": fit}, split)
    assert set(line["database"]["route_holds"]["hold_ms"]) == {"login", "test_submit"}  # not "other"
    out = tmp_path / "platform.yaml"
    text = render(scenario, SMOKE, out, line, {}, PROVENANCE)
    write(out, text, PROVENANCE, force=False)
    holds_read = load_scenario(out).platform.tier("database").route_holds
    assert holds_read is not None and holds_read.hold_ms == {"login": 8.0, "test_submit": 10.0}
