"""The participating teachers, as columns of NumPy arrays (one row per simulated teacher).

Participants = teachers x participation; teachers who do not take part generate no load and
are not simulated. Each participant belongs to a *stratum*: sub-platform x province x
device x returning-or-not. The full population's stratum sizes follow the scenario's shares
(largest-remainder rounding, so they add up exactly). A *full* run simulates every
participant with weight 1; a *sampled* run (national scale) draws a proportional stratified
sample of at most ``max_simulated`` teachers, at least one per non-empty stratum, and gives
each sampled teacher the weight N_s / n_s of its stratum, so weighted counts are unbiased
for every stratum. Within a stratum, teachers are independent and identically distributed,
which is what makes the weights exact in expectation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domain.scenario import SUB_PLATFORMS, Scenario
from sim.population.arrivals import Profile, day_offset

DEVICES = ("app", "web")
COLUMNS = ("sub", "province", "device", "returning", "school", "weight", "first_u", "wave_u",
           "quit_share")  # Population's per-teacher columns


@dataclass
class Population:
    participants: int            # full-scale number of participating teachers
    teachers: int                # full-scale number of teachers (participants / participation)
    sub: np.ndarray              # int8 index into SUB_PLATFORMS
    province: np.ndarray         # int16 index into scenario.population.provinces
    device: np.ndarray           # int8 index into DEVICES
    returning: np.ndarray        # bool: took part before, skips registration
    school: np.ndarray           # int32 school id (full-scale numbering)
    weight: np.ndarray           # float64: participants this row stands for
    first_u: np.ndarray          # float64: operational hour of the first session
    wave_u: np.ndarray           # float64 (n, waves): operational hour of a wave's push, inf if none
    quit_share: np.ndarray       # float64: drop-outs stop at this share of the required study

    @property
    def size(self) -> int:
        return int(self.weight.size)

    @property
    def sampled(self) -> bool:
        return bool(np.any(self.weight != 1.0))

    def rows(self, index: np.ndarray) -> Population:
        """The teachers at ``index`` (a shard); full-scale totals stay those of the run."""
        return Population(self.participants, self.teachers,
                          *(getattr(self, name)[index] for name in COLUMNS))

    def stratum_weights(self) -> dict[str, float]:
        return {"min": float(self.weight.min()), "max": float(self.weight.max()),
                "mean": float(self.weight.mean())}


def apportion(total: int, shares: np.ndarray) -> np.ndarray:
    """Integers proportional to ``shares`` that add up to ``total`` (largest remainder)."""
    shares = np.asarray(shares, dtype=np.float64)
    exact = total * shares / shares.sum()
    counts = np.floor(exact).astype(np.int64)
    left = int(total - counts.sum())
    if left > 0:
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:left]] += 1
    return counts


def strata_shares(scenario: Scenario) -> np.ndarray:
    """Share of participants in each stratum, shape (sub, province, device, returning)."""
    pop = scenario.population
    sub = np.array([pop.sub_platforms.get(s, 0.0) for s in SUB_PLATFORMS])
    prov = np.array([p.weight for p in pop.provinces], dtype=np.float64)
    prov = prov / prov.sum()
    devices: dict[str, float] = {str(d): share for d, share in pop.devices.items()}
    dev = np.array([devices.get(d, 0.0) for d in DEVICES])
    ret = np.array([1.0 - pop.returning_share, pop.returning_share])
    return np.einsum("a,b,c,d->abcd", sub, prov, dev, ret)


def build_population(
    scenario: Scenario,
    profile: Profile,
    rng: np.random.Generator,
    teachers: int | None = None,
    max_simulated: int | None = None,
) -> Population:
    """Draw the simulated teachers; a sample when participants exceed ``max_simulated``."""
    pop = scenario.population
    n_teachers = int(teachers if teachers is not None else pop.teachers)
    shares = strata_shares(scenario)
    emergent = scenario.behaviour.participation == "emergent"
    if emergent:  # participants are the teachers who ever start: an outcome of behaviour
        shares = shares * start_probability(scenario, profile)[None, :, None, None]
        participants = int(round(n_teachers * shares.sum()))
    else:
        participants = int(round(n_teachers * float(pop.participation or 0.0)))
    full = apportion(participants, shares.ravel())
    if max_simulated is None or participants <= max_simulated:
        sample = full
    else:
        sample = np.minimum(full, np.maximum(apportion(max_simulated, shares.ravel()), full > 0))
    keep = sample > 0
    weights = np.zeros(full.size)
    weights[keep] = full[keep] / sample[keep]
    stratum = np.repeat(np.arange(full.size), sample)
    sub, prov, dev, ret = np.unravel_index(stratum, shares.shape)
    # drawn in this order from one stream (same bytes as before participation could emerge)
    school = _schools(scenario, prov, n_teachers, rng)
    first_u, wave_u, quit_share = journey_draws(scenario, profile, prov, rng)
    return Population(
        participants=participants,
        teachers=n_teachers,
        sub=sub.astype(np.int8),
        province=prov.astype(np.int16),
        device=dev.astype(np.int8),
        returning=ret.astype(bool),
        school=school,
        weight=weights[stratum],
        first_u=first_u,
        wave_u=wave_u,
        quit_share=quit_share,
    )


def journey_draws(scenario: Scenario, profile: Profile, prov: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first session, the waves' pushes and the drop-out share of teachers in provinces
    ``prov``, in this order from ``rng`` (with emergent participation: starters only)."""
    n = prov.size
    first_u, wave_u = _first_sessions(scenario, profile, rng, n), _waves(scenario, profile, prov, rng)
    quit_share = _quitters(scenario, rng, n)
    if scenario.behaviour.participation == "emergent":
        _condition_on_starting(scenario, profile, prov, rng, first_u, wave_u)
    return first_u, wave_u, quit_share


def join(first: Population, second: Population) -> Population:
    """Two populations' teachers as one (rows of ``first``, then of ``second``)."""
    return Population(first.participants + second.participants, first.teachers + second.teachers,
                      *(np.concatenate([getattr(first, c), getattr(second, c)]) for c in COLUMNS))


def _schools(scenario: Scenario, prov: np.ndarray, n_teachers: int, rng: np.random.Generator):
    """Schools numbered per province in blocks proportional to the province weights."""
    pop = scenario.population
    schools = max(1, round(pop.schools * n_teachers / pop.teachers))
    weights = np.array([p.weight for p in pop.provinces], dtype=np.float64)
    per_prov = np.maximum(apportion(schools, weights), 1)
    first = np.concatenate(([0], np.cumsum(per_prov)[:-1]))
    return (first[prov] + rng.integers(0, per_prov[prov])).astype(np.int32)


def _first_sessions(scenario: Scenario, profile: Profile, rng, n: int) -> np.ndarray:
    """Procrastination: operational hours from the window start to the first session."""
    delay_days = np.asarray(scenario.behaviour.start_delay_days.sample(rng, n), dtype=np.float64)
    return delay_days * 24.0


def _waves(scenario: Scenario, profile: Profile, prov: np.ndarray, rng) -> np.ndarray:
    """Each wave pushes a share of its provinces' teachers to study inside its span; the
    pushed session's time is uniform in operational time over the span (so it follows the
    daily profile)."""
    waves = scenario.behaviour.waves
    names = [p.name for p in scenario.population.provinces]
    out = np.full((prov.size, len(waves)), np.inf)
    for i, wave in enumerate(waves):
        lo = profile.op_hours(day_offset(profile.campaign, wave.start))
        hi = profile.op_hours(day_offset(profile.campaign, wave.start) + wave.days * 86400.0)
        eligible = np.ones(prov.size, bool)
        if wave.provinces:
            eligible = np.isin(prov, [names.index(p) for p in wave.provinces])
        pushed = eligible & (rng.random(prov.size) < wave_share(scenario, wave))
        out[pushed, i] = rng.uniform(lo, hi, int(pushed.sum()))
    return out


def wave_share(scenario: Scenario, wave) -> float:
    """The share a wave pushes: its own times the behaviour's wave_scale, at most 1."""
    return min(1.0, wave.share * scenario.behaviour.wave_scale)


def _quitters(scenario: Scenario, rng, n: int) -> np.ndarray:
    """Drop-outs start but stop at a uniform share of the study they need; others never stop."""
    quits = rng.random(n) < scenario.behaviour.dropout
    share = np.full(n, np.inf)
    share[quits] = rng.random(int(quits.sum()))
    return share


# --- participation as an outcome (behaviour.participation: emergent) ---------------------------

MAX_REDRAWS = 200  # rounds of redrawing teachers who would never start (P(start) >= ~2%)


def _start_horizon(profile: Profile) -> float:
    """Operational hours of procrastination after which a teacher starts too late: the first
    session is counted from the first opening (sim.shards.first_sessions)."""
    first_open = min(profile.campaign.offset(r.opens_at) for r in profile.campaign.courses.values())
    return float(profile.op_hours(profile.window_s) - profile.op_hours(first_open))


def _wave_hit(scenario: Scenario, profile: Profile) -> np.ndarray:
    """Per wave: the share of the wave's span (operational time) inside the window."""
    end = float(profile.op_hours(profile.window_s))
    out = []
    for wave in scenario.behaviour.waves:
        lo = float(profile.op_hours(day_offset(profile.campaign, wave.start)))
        hi = float(profile.op_hours(day_offset(profile.campaign, wave.start) + wave.days * 86400.0))
        out.append(1.0 if hi <= end else max(end - lo, 0.0) / (hi - lo) if hi > lo else 0.0)
    return np.array(out)


def start_probability(scenario: Scenario, profile: Profile) -> np.ndarray:
    """P(a teacher of each province ever starts) = 1 - P(procrastinates past the window) x
    P(no wave pushes them inside it); exact for the scenario's distributions."""
    late = survival(scenario.behaviour.start_delay_days, _start_horizon(profile) / 24.0)
    names = [p.name for p in scenario.population.provinces]
    unpushed = np.ones(len(names))
    for wave, inside in zip(scenario.behaviour.waves, _wave_hit(scenario, profile), strict=True):
        eligible = np.isin(names, wave.provinces) if wave.provinces else np.ones(len(names), bool)
        unpushed[eligible] *= 1.0 - wave_share(scenario, wave) * inside
    return 1.0 - late * unpushed


def survival(dist, x: float) -> float:
    """P(X > x) for a scenario distribution (closed forms; a large seeded sample otherwise)."""
    from scipy import stats

    kind = getattr(dist, "kind", "")
    if kind == "deterministic":
        return float(dist.value > x)
    if kind == "exponential":
        return float(np.exp(-x / dist.mean))
    if kind == "uniform":
        return float(np.clip((dist.high - x) / (dist.high - dist.low), 0, 1)) if dist.high > dist.low \
            else float(dist.low > x)
    if kind == "lognormal":
        mu, sigma = dist._log_params()
        return float(stats.norm.sf((np.log(x) - mu) / sigma)) if x > 0 else 1.0
    if kind == "gamma":
        shape = (dist.mean / dist.sd) ** 2
        return float(stats.gamma.sf(x, shape, scale=dist.variance / dist.mean))
    draws = np.asarray(dist.sample(np.random.default_rng(0), 1 << 20), dtype=np.float64)
    return float((draws > x).mean())


def _condition_on_starting(scenario: Scenario, profile: Profile, prov: np.ndarray, rng,
                           first_u: np.ndarray, wave_u: np.ndarray) -> None:
    """Redraw, in place, the delays and pushes of simulated teachers who would never start,
    so the rows are drawn from the starters alone (rejection sampling); their weight already
    counts starters only."""
    horizon = _start_horizon(profile)
    end = float(profile.op_hours(profile.window_s))
    for _ in range(MAX_REDRAWS):
        pushed = wave_u.min(axis=1) < end if wave_u.shape[1] else np.zeros(prov.size, bool)
        never = np.flatnonzero((first_u >= horizon) & ~pushed)
        if never.size == 0:
            return
        first_u[never] = _first_sessions(scenario, profile, rng, never.size)
        wave_u[never] = _waves(scenario, profile, prov[never], rng)
    raise ValueError("behaviour.participation: emergent: almost no teacher ever starts "
                     "(start_delay_days outlasts the window and no wave pushes)")
