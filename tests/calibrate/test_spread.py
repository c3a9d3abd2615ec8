"""The spread of SQLite's lock holds from the server's histograms (calibrate/spread.py), into the
writer tier: the routes' hold_scv (route_holds) and the commits' lognormal service."""

from __future__ import annotations

from typing import Any

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
    assert writer.for_endpoints(holds, {"login"})["hold_scv"] == holds["hold_scv"]  # type: ignore[index]
    monkeypatch.setattr(writer, "WRITE_SPREADS", False)  # switched off: named, not served
    assert "hold_scv" not in writer.for_endpoints(holds, {"login"})  # type: ignore[operator]
    timed = counts | {"(lock_s 1)": 0.2, "(commits 1)": 100.0}
    shape = writer.commit_service([Row(0, 1.0, timed, {})])
    commit_scv = spread.scv({0.001: 30, 0.002: 60, 0.005: 90, float("inf"): 100}, 2 * MS)
    assert shape == {"kind": "lognormal", "scv": pytest.approx(commit_scv, abs=1e-3)}
    assert writer.commit_service([Row(0, 1.0, {"(lock_s 1)": 0.2, "(commits 1)": 100.0}, {})]) is None


def sqlite_lines(rows: list[Row], knee_rps: float | None = None) -> dict[str, dict[str, Any]]:
    """The smoke platform's tier lines (``tier_lines``) from a SQLite calibration's ``rows``, its
    writer fitted as ``calibrate`` fits it, with ``writer.WRITE_SPREADS`` as it is then."""
    from types import SimpleNamespace

    from calibrate.platform_lines import fit_tiers, tier_lines, writer_record
    from domain.scenario import load_scenario
    from tests.conftest import SMOKE

    scenario = load_scenario(SMOKE)
    target: Any = SimpleNamespace(api_servers=2, absent=None, probes=SimpleNamespace(
        api_tier="api", database_tier="database", sources={"database": "yanxiu_commit_seconds_sum"}))
    runs: Any = [SimpleNamespace(rows=rows)]
    fits = {"database": fit_tiers(scenario, target, [], runs, 0)["database"]}
    return tier_lines(scenario, target, fits, writer_record(target, fits, rows, 0, knee_rps))


def test_the_platform_file_carries_the_spreads_and_loads(tmp_path, monkeypatch):
    """The writer's tier line from a calibration whose rows hold the buckets: switched off
    (writer.WRITE_SPREADS) the spreads are named in the note, not served; on (the default since
    2026-12-01), the database serves lognormal of the commits' scv, the sign-ins' holds their
    hold_scv, and the file loads with both."""
    import numpy as np

    from calibrate.platform_file import render, write
    from domain.platform_spec import PoolTier
    from domain.scenario import load_scenario
    from tests.calibrate.test_platform_file import PROVENANCE
    from tests.calibrate.test_writer import _rows
    from tests.conftest import SMOKE

    scraped = parse_metrics(_metrics((10, 40, 60, 70, 80), (30, 60, 90, 100)))
    extra = spread.bucket_counts({}, scraped.buckets) | {"(hold_s login)": 0.2, "(holds login)": 80.0}
    rows = [Row(r.step, r.seconds, r.requests | (extra if i % 10 == 0 else {}), r.busy_s)
            for i, r in enumerate(_rows(np.random.default_rng(3)))]
    monkeypatch.setattr(writer, "WRITE_SPREADS", False)
    plain = sqlite_lines(rows)
    assert plain["database"]["service"] == "exponential" and "not served" in plain["database"]["note"]
    assert "hold_scv" not in plain["database"]["route_holds"]
    monkeypatch.setattr(writer, "WRITE_SPREADS", True)
    line = sqlite_lines(rows)
    database = line["database"]
    assert database["service"]["kind"] == "lognormal" and "hold_scv" in database["route_holds"]
    out = tmp_path / "platform.yaml"
    write(out, render(load_scenario(SMOKE), SMOKE, out, line, {}, PROVENANCE), PROVENANCE, force=False)
    tier = load_scenario(out).platform.tier("database")
    assert isinstance(tier, PoolTier) and tier.route_holds is not None
    assert getattr(tier.service, "scv", 0) > 0 and tier.route_holds.hold_scv["login"] > 1.0


def test_below_the_knee_keeps_the_steps_whose_whole_length_ran_under_half_the_knee():
    """Steps by their rate over all their bins (pseudo-counts not counted): step 0 at 100/s and
    step 1 at 240/s (its bins 80 and 400/s) under half of a 500/s knee; step 2 at 300/s over it;
    no knee: every row."""
    rows = [Row(0, 5.0, {"heartbeat": 500.0, "(batches)": 9e9}, {}),
            Row(1, 5.0, {"heartbeat": 400.0}, {}), Row(1, 5.0, {"heartbeat": 2000.0}, {}),
            Row(2, 5.0, {"heartbeat": 1500.0}, {})]
    assert spread.rate_rps(rows[:1]) == 100.0 and spread.rate_rps(rows[1:3]) == 240.0
    assert spread.below_knee(rows, 500.0) == rows[:3]
    assert spread.below_knee(rows, 500.0, share=0.2) == rows[:1]
    assert spread.below_knee(rows, None) is rows


def _step(step: int, rate: float, login: tuple[float, ...], hold_s: float, commits: tuple[float, ...],
          commit_s: float) -> Row:
    """A 10-s bin of ``step`` at ``rate`` requests/s: 100 sign-ins holding ``hold_s`` in all, 100
    lone commits of ``commit_s`` in all, their buckets as ``_metrics`` has them."""
    counts = spread.bucket_counts({}, parse_metrics(_metrics(login, commits)).buckets)
    return Row(step, 10.0, {"heartbeat": rate * 10.0 - 100.0, "login": 100.0, "(hold_s login)": hold_s,
                            "(holds login)": 100.0, "(lock_s 1)": commit_s, "(commits 1)": 100.0,
                            "(jobs 1)": 100.0} | counts, {})


def test_the_spreads_are_read_below_the_knee_and_the_holds_means_over_all(monkeypatch):
    """``writer_record`` with a 500/s knee: a quiet step at 100/s (sign-ins 1.125 ms, commits 1.5 ms,
    within two buckets and one: scv (1/6 + 13/8) / 1.125² - 1 = 0.416 and
    (7/3) / 1.5² - 1 = 0.037) and a busy one at 480/s (sign-ins 5.4 ms and
    commits 3.3 ms with tails to 20 and 10 ms). The spreads are the quiet step's alone, the sign-ins'
    mean both steps' ((0.1125 + 0.54) s over 200 holds); without the knee the spreads are both's."""
    from types import SimpleNamespace

    from calibrate.fit import BATCHES, Demand, TierFit
    from calibrate.platform_lines import writer_record

    quiet = _step(0, 100.0, (50, 100, 100, 100, 100), 0.1125, (0, 100, 100, 100), 0.15)
    busy = _step(1, 480.0, (0, 30, 60, 90, 100), 0.54, (0, 50, 80, 100), 0.33)
    target = SimpleNamespace(probes=SimpleNamespace(database_tier="database"))
    fits = {"database": TierFit("database", 0.0, {BATCHES: Demand(1.0, 1.0, 1.0, 1)}, 1.0, 2)}
    monkeypatch.setattr(writer, "fit_writer", lambda rows, tier, rng: None)
    record = writer_record(target, fits, [quiet, busy], 0, knee_rps=500.0)  # type: ignore[arg-type]
    both = writer_record(target, fits, [quiet, busy], 0)  # type: ignore[arg-type]
    assert record is not None and both is not None
    holds, scv = record["route_holds"], record["route_holds"]["hold_scv"]["login"]
    assert holds["hold_ms"] == both["route_holds"]["hold_ms"] == {"login": pytest.approx(3.2625, abs=1e-3)}
    assert scv == pytest.approx(spread.scv(spread.summed([quiet], "held login"), 1.125 * MS), abs=1e-3)
    assert scv == pytest.approx(0.416, abs=1e-3)
    assert record["service"]["scv"] == pytest.approx(0.037, abs=1e-3)
    assert both["route_holds"]["hold_scv"]["login"] > 1.0 and both["service"]["scv"] > 0.5
