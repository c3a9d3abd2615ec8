"""The law of the api's CPU per request on the host's busy cores, fitted on a calibration's bins
(calibrate/cpu_growth.py): a synthetic staircase with a known slope recovered within its
interval, none found where there is none, and the platform file's line."""

from __future__ import annotations

import numpy as np
import pytest

from calibrate.cpu_growth import DRIVERS, Growth, bins, fit_growth, line, with_law
from calibrate.fit import Row
from sim.tiers.host_stretch import CpuGrowth

DEMANDS = {"beat": 1.0, "page": 5.0}  # ms
IDLE = 0.01  # cores


def _staircase(per_core: float, seed: int = 1) -> tuple[list[Row], dict[int, float]]:
    """Ten steps of six 5-s bins at rising rates, beside other work that does not follow the rate,
    each bin's busy time the law's at the fixed point of its busy cores (``CpuGrowth.settle``)
    from 1.2 cores, with 2% noise."""
    rng = np.random.default_rng(seed)
    law = CpuGrowth(per_core, 1.2)
    rows, background = [], {}
    rates = [20, 40, 60, 90, 120, 150, 180, 210, 240, 270]
    others = [0.2, 1.1, 0.4, 0.9, 0.1, 0.7, 1.3, 0.3, 0.8, 0.5]
    for step, (rate, other) in enumerate(zip(rates, others, strict=True)):
        background[step] = other
        for _ in range(6):
            beats, pages = rng.poisson(5.0 * rate * 0.9), rng.poisson(5.0 * rate * 0.1)
            own = (beats * DEMANDS["beat"] + pages * DEMANDS["page"]) / 1000.0 / 5.0
            factor = float(law.factor(law.settle(own, other, 2.0)))
            busy = IDLE * 5.0 + own * 5.0 * factor * rng.normal(1.0, 0.02)
            rows.append(Row(step, 5.0, {"beat": float(beats), "page": float(pages)}, {"api": busy}))
    return rows, background


def _fit(per_core: float, driver: str = DRIVERS[0]) -> Growth:
    """The law on the staircase's bins with the demands a calibration fits there: the generating
    ones scaled to the bins' mean CPU per request (constant demands are the steps' average)."""
    rows, background = _staircase(per_core)
    first = bins(rows, background, "api", list(DEMANDS), DEMANDS, 0.0, IDLE, 2)
    scale = float(first.measured.sum() / first.base.sum())
    fitted = {e: d * scale for e, d in DEMANDS.items()}
    data = bins(rows, background, "api", list(DEMANDS), fitted, 0.0, IDLE, 2)
    found = fit_growth(data, np.random.default_rng(4), driver)
    assert found is not None
    return found


@pytest.mark.parametrize("per_core", [0.15, -0.1])
def test_a_known_slope_is_recovered_within_its_interval(per_core):
    found = _fit(per_core)
    assert found.lo <= per_core <= found.hi
    assert found.per_unit == pytest.approx(per_core, abs=0.02)
    assert found.significant
    assert line(found) is not None and line(found)["per_core"] == pytest.approx(found.per_unit, abs=1e-4)


def test_no_slope_is_not_significant_and_writes_no_law():
    found = _fit(0.0)
    assert found.lo <= 0.0 <= found.hi
    assert not found.significant
    assert line(found) is None


def test_the_reference_is_the_bins_busy_cores_weighted_by_their_cpu():
    rows, background = _staircase(0.0)
    data = bins(rows, background, "api", list(DEMANDS), DEMANDS, 0.0, IDLE, 2)
    x = data.drivers[DRIVERS[0]]
    assert _fit(0.0).reference == pytest.approx(float((data.base * x).sum() / data.base.sum()))
    # the busy cores of a bin: its api busy time over its length plus its step's other work
    assert x[0] == pytest.approx(rows[0].busy_s["api"] / 5.0 + background[0])


def test_a_law_on_another_driver_is_not_written():
    found = _fit(0.15, DRIVERS[3])
    assert line(found) is None


def test_too_few_steps_give_none():
    rows, background = _staircase(0.1)
    few = [r for r in rows if r.step < 2]
    data = bins(few, background, "api", list(DEMANDS), DEMANDS, 0.0, IDLE, 2)
    assert fit_growth(data, np.random.default_rng(0)) is None


def test_the_law_goes_on_the_tier_s_line_and_comes_off_again():
    text = ("platform:\n  tiers:\n"
            "    - {name: api, kind: pool, servers: 2, service: exponential, "
            "threads: {\"slots\": 11}}   # a note\n"
            "    - {name: database, kind: pool, servers: 1, service: exponential}   # another\n")
    law = {"per_core": 0.1, "reference_cores": 1.2}
    written = with_law(text, "api", law)
    assert ', cpu_growth: {"per_core": 0.1, "reference_cores": 1.2}}   # a note\n' in written
    assert written.splitlines()[3] == text.splitlines()[3]
    assert with_law(written, "api", None) == text
    other = with_law(written, "api", {"per_core": 0.2, "reference_cores": 1.0})
    assert with_law(other, "api", law) == written


def test_a_significant_law_is_written_to_the_platform_file_and_read_back(tmp_path):
    """The staircase's api fit (its demands as a calibration would have them) through
    ``platform_lines``: the law on the api tier's line with its interval and note, loaded as the
    scenario's ``PoolTier.cpu_growth``; a slope of 0 writes only the note."""
    from types import SimpleNamespace

    from calibrate.fit import Demand, TierFit
    from calibrate.platform_file import render, write
    from calibrate.platform_lines import _with_laws, demand_lines, tier_lines
    from domain.scenario import load_scenario
    from tests.calibrate.test_platform_file import PROVENANCE, SMOKE

    scenario = load_scenario(SMOKE)
    target = SimpleNamespace(absent=None, api_servers=2, probes=SimpleNamespace(
        api_tier="api", database_tier="database", sources={"api": "psutil"}))
    for per_core, written in ((0.15, True), (0.0, False)):
        rows, background = _staircase(per_core)
        renamed = [Row(r.step, r.seconds, {"heartbeat": r.requests["beat"],
                                           "campaign_page": r.requests["page"]}, r.busy_s) for r in rows]
        scale = _fit(per_core)  # the same bins: the demands a calibration fits there
        data = bins(rows, background, "api", list(DEMANDS), DEMANDS, 0.0, IDLE, 2)
        factor = float(data.measured.sum() / data.base.sum())
        demands = {e.name: Demand(0.0, 0.0, 0.0, 0) for e in scenario.platform.endpoints}
        demands["heartbeat"] = Demand(DEMANDS["beat"] * factor, 0.9, 1.2, 5000)
        demands["campaign_page"] = Demand(DEMANDS["page"] * factor, 4.5, 6.0, 500)
        runs = [SimpleNamespace(rows=[r for r in renamed if r.step == s], background_cores=background[s])
                for s in background]
        fit = _with_laws(TierFit("api", IDLE, demands, 0.99, len(rows)), renamed, runs,
                           [e.name for e in scenario.platform.endpoints], 2, 0)
        assert fit.growth.per_unit == pytest.approx(scale.per_unit, abs=0.01)
        tiers = tier_lines(scenario, target, {"api": fit})
        out = tmp_path / f"platform-{per_core}.yaml"
        write(out, render(scenario, SMOKE, out, tiers, demand_lines(scenario, {"api": fit}), PROVENANCE),
              PROVENANCE, force=False)
        law = load_scenario(out).platform.tier("api").cpu_growth
        assert "CPU per request vs host busy cores" in tiers["api"]["note"]
        if written:
            assert law is not None and law.per_core == pytest.approx(fit.growth.per_unit, abs=1e-4)
            assert law.lo is not None and law.lo > 0 and "written as cpu_growth" in tiers["api"]["note"]
        else:
            assert law is None and "not significant: constant demands" in tiers["api"]["note"]
