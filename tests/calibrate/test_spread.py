"""The spread of SQLite's lock holds from the server's histograms (calibrate/spread.py), into the
writer tier: the routes' hold_scv (route_holds) and the commits' lognormal service."""

from __future__ import annotations

import pytest

from calibrate import spread, writer
from calibrate.fit import Row
from calibrate.probes import parse_metrics

MS = 1e-3


def test_a_histogram_s_scv_takes_each_bucket_as_uniform():
    """By hand: 50 holds in [0, 1] ms and 50 in [1, 3] ms: E[H^2] = (1/3 + 13/3) / 2 = 7/3 ms^2;
    with the exact mean 1.25 ms the scv is (7/3) / 1.5625 - 1 = 0.4933. Too few holds: none."""
    found = spread.scv({0.001: 50, 0.003: 100, float("inf"): 100}, 1.25 * MS)
    assert found == pytest.approx(0.49333, rel=1e-4)
    assert spread.scv({0.001: 5, float("inf"): 10}, 1 * MS) is None


def _metrics(login: tuple[float, ...], commits: tuple[float, ...]) -> str:
    lines = [f'yanxiu_write_lock_held_seconds_bucket{{endpoint="login",le="{le}"}} {n}'
             for le, n in zip(("0.001", "0.0025", "0.005", "0.01", "+Inf"), login, strict=True)]
    lines += [f'yanxiu_commit_seconds_bucket{{le="{le}"}} {n}'
              for le, n in zip(("0.001", "0.002", "0.005", "+Inf"), commits, strict=True)]
    return "\n".join(lines)


def test_the_scrapes_buckets_become_a_row_s_counts_and_sum_over_rows():
    before, after = (parse_metrics(_metrics(*c)) for c in (((1, 2, 3, 4, 4), (0, 1, 1, 1)),
                                                          ((11, 42, 63, 74, 84), (30, 61, 91, 101))))
    assert after.buckets["held login 0.0025"] == 42 and after.buckets["commit +Inf"] == 101
    counts = spread.bucket_counts(before.buckets, after.buckets)
    assert counts["(bucket held login 0.0025)"] == 40 and counts["(bucket commit 0.002)"] == 60
    rows = [Row(0, 1.0, counts, {}), Row(0, 1.0, counts, {})]
    summed = spread.summed(rows, "held login")
    assert summed == {0.001: 20, 0.0025: 80, 0.005: 120, 0.01: 140, float("inf"): 160}


def test_route_holds_and_the_commits_carry_their_spread(monkeypatch):
    """80 sign-ins holding 2.5 ms on average, spread as in the buckets: their hold_scv; the commits'
    buckets with their by-size timings give the tier's lognormal service."""
    scraped = parse_metrics(_metrics((10, 40, 60, 70, 80), (30, 60, 90, 100)))
    counts = spread.bucket_counts({}, scraped.buckets)
    holds = writer.route_holds([Row(0, 1.0, {"login": 100.0, "(hold_s login)": 0.2, "(holds login)": 80.0}
                                    | counts, {})])
    expected = spread.scv({0.001: 10, 0.0025: 40, 0.005: 60, 0.01: 70, float("inf"): 80}, 2.5 * MS)
    assert holds is not None and holds["hold_scv"] == {"login": pytest.approx(expected, abs=1e-3)}
    assert expected > 1.0 and "spread (scv) login" in str(holds["note"])
    assert "hold_scv" not in writer.for_endpoints(holds, {"login"})  # type: ignore[operator]  # not served
    monkeypatch.setattr(writer, "WRITE_SPREADS", True)
    assert writer.for_endpoints(holds, {"login"})["hold_scv"] == holds["hold_scv"]  # type: ignore[index]
    timed = counts | {"(lock_s 1)": 0.2, "(commits 1)": 100.0}
    shape = writer.commit_service([Row(0, 1.0, timed, {})])
    commit_scv = spread.scv({0.001: 30, 0.002: 60, 0.005: 90, float("inf"): 100}, 2 * MS)
    assert shape == {"kind": "lognormal", "scv": pytest.approx(commit_scv, abs=1e-3)}
    assert writer.commit_service([Row(0, 1.0, {"(lock_s 1)": 0.2, "(commits 1)": 100.0}, {})]) is None


def test_the_platform_file_carries_the_spreads_and_loads(tmp_path, monkeypatch):
    """The writer's tier line from a calibration whose rows hold the buckets: by default the spreads
    are named in the note, not served; switched on (writer.WRITE_SPREADS), the database serves
    lognormal of the commits' scv, the sign-ins' holds their hold_scv, and the file loads with both."""
    from types import SimpleNamespace

    import numpy as np

    from calibrate.platform_file import render, write
    from calibrate.platform_lines import fit_tiers, tier_lines, writer_record
    from domain.platform_spec import PoolTier
    from domain.scenario import load_scenario
    from tests.calibrate.test_platform_file import PROVENANCE
    from tests.calibrate.test_writer import _rows
    from tests.conftest import SMOKE

    scraped = parse_metrics(_metrics((10, 40, 60, 70, 80), (30, 60, 90, 100)))
    extra = spread.bucket_counts({}, scraped.buckets) | {"(hold_s login)": 0.2, "(holds login)": 80.0}
    rows = [Row(r.step, r.seconds, r.requests | (extra if i % 10 == 0 else {}), r.busy_s)
            for i, r in enumerate(_rows(np.random.default_rng(3)))]
    scenario = load_scenario(SMOKE)
    target = SimpleNamespace(api_servers=2, absent=None, probes=SimpleNamespace(
        api_tier="api", database_tier="database", sources={"database": "yanxiu_commit_seconds_sum"}))
    fit = fit_tiers(scenario, target, [], [SimpleNamespace(rows=rows)], 0)["database"]
    plain = tier_lines(scenario, target, {"database": fit}, writer_record(target, {"database": fit}, rows, 0))
    assert plain["database"]["service"] == "exponential" and "not served" in plain["database"]["note"]
    assert "hold_scv" not in plain["database"]["route_holds"]
    monkeypatch.setattr(writer, "WRITE_SPREADS", True)
    line = tier_lines(scenario, target, {"database": fit}, writer_record(target, {"database": fit}, rows, 0))
    database = line["database"]
    assert database["service"]["kind"] == "lognormal" and "hold_scv" in database["route_holds"]
    out = tmp_path / "platform.yaml"
    write(out, render(scenario, SMOKE, out, line, {}, PROVENANCE), PROVENANCE, force=False)
    tier = load_scenario(out).platform.tier("database")
    assert isinstance(tier, PoolTier) and tier.route_holds is not None
    assert getattr(tier.service, "scv", 0) > 0 and tier.route_holds.hold_scv["login"] > 1.0
