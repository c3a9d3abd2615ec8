import numpy as np
import pytest

from domain.campaign import Campaign
from sim.model import horizon_s
from sim.population.arrivals import Profile
from sim.population.teachers import apportion, build_population, strata_shares


@pytest.fixture(scope="module")
def profile(winter):
    campaign = Campaign(winter)
    return Profile(winter, campaign, horizon_s(campaign))


def test_apportion_adds_up():
    counts = apportion(1000, np.array([0.333, 0.333, 0.334]))
    assert counts.sum() == 1000 and set(counts) <= {333, 334}


def test_full_population_has_weight_one(winter, profile):
    pop = build_population(winter, profile, np.random.default_rng(1), teachers=50_000)
    assert pop.size == pop.participants == round(50_000 * winter.population.participation)
    assert np.all(pop.weight == 1.0) and not pop.sampled
    assert pop.returning.mean() == pytest.approx(winter.population.returning_share, abs=0.01)
    assert (pop.sub == 0).mean() == pytest.approx(winter.population.sub_platforms["basic"],
                                                  abs=0.01)


def test_sample_weights_reproduce_every_stratum(winter, profile):
    rng = np.random.default_rng(2)
    full = build_population(winter, profile, rng, teachers=18_803_600, max_simulated=200_000)
    assert full.size <= 200_000 + full.weight.size and full.sampled
    assert full.weight.sum() == pytest.approx(full.participants)
    shares = strata_shares(winter).ravel()
    expected = apportion(full.participants, shares)
    stratum = np.ravel_multi_index(
        (full.sub, full.province, full.device, full.returning.astype(int)),
        strata_shares(winter).shape)
    got = np.bincount(stratum, weights=full.weight, minlength=shares.size)
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_province_wave_pushes_only_its_province(winter, profile):
    pop = build_population(winter, profile, np.random.default_rng(3), teachers=200_000)
    names = [p.name for p in winter.population.provinces]
    index = [w.name for w in winter.behaviour.waves].index("Shanxi contact-list push")
    pushed = np.isfinite(pop.wave_u[:, index])
    assert pushed.any()
    assert np.all(pop.province[pushed] == names.index("Shanxi"))
    shanxi = pop.province == names.index("Shanxi")
    assert pushed[shanxi].mean() == pytest.approx(0.3, abs=0.03)


def test_dropouts_share(winter, profile):
    pop = build_population(winter, profile, np.random.default_rng(4), teachers=100_000)
    assert np.isfinite(pop.quit_share).mean() == pytest.approx(winter.behaviour.dropout, abs=0.01)


def test_emergent_participation_is_the_start_probability(winter):
    """behaviour.participation: emergent: participants are the teachers whose procrastination
    ends inside the window or whom a wave pushes; the simulated rows all start."""
    import math

    from domain.campaign import Campaign
    from domain.scenario import Scenario
    from sim.model import horizon_s
    from sim.population.arrivals import Profile
    from sim.population.teachers import build_population, start_probability

    data = winter.model_dump(mode="json", by_alias=True)
    data["behaviour"]["participation"], data["population"]["participation"] = "emergent", None
    data["behaviour"]["start_delay_days"] = {"kind": "lognormal", "mean": 60.0, "sd": 120.0}
    scenario = Scenario.model_validate(data)
    campaign = Campaign(scenario)
    profile = Profile(scenario, campaign, horizon_s(campaign))
    p = start_probability(scenario, profile)
    late = 1 - p.min()  # provinces without the Shanxi push
    shares = [w.share for w in scenario.behaviour.waves if not w.provinces]
    assert 0.01 < late < 0.5
    # no push (all national waves miss) and a delay past the 89-day window
    unpushed = math.prod(1 - s for s in shares)
    assert late / unpushed == pytest.approx(_lognormal_sf(60.0, 120.0, 89.0), rel=1e-6)
    pop = build_population(scenario, profile, np.random.default_rng(1), 200_000)
    assert pop.participants == pytest.approx(200_000 * (1 - late), rel=0.01)
    window_h = profile.op_hours(profile.window_s)
    started = (pop.first_u < window_h) | (pop.wave_u.min(axis=1) < window_h)
    assert started.all()


def _lognormal_sf(mean, sd, x):
    import math

    from scipy import stats

    s2 = math.log1p((sd / mean) ** 2)
    return stats.norm.sf((math.log(x) - (math.log(mean) - s2 / 2)) / math.sqrt(s2))
