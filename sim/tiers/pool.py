"""Performance of a server pool over a run of minutes (the model behind ``tiers.PoolTier``).

Each minute mixes two regimes, weighted by the share of the minute each one lasts:

- fluid: while a backlog of work exists (an overloaded minute, or the drain after one),
  every arrival waits backlog/c, which moves linearly through the minute, so those waits are
  uniform between the two ends (``queueing.fluid_wait_range``). Requests that would wait
  longer than the patience (``behaviour.overload.abandon_after_s``) give up: the backlog is
  capped there and the excess counts as not served (a fluid queue with abandonment).
- stationary: otherwise the minute is a stationary M/G/c queue at the minute's mean rates
  (pointwise-stationary approximation): Erlang C waiting probability and an exponential
  conditional wait (exact for one exponential request class; Allen-Cunneen for a mix).

Request classes are the endpoints: each has its own mean demand (exponential or
deterministic), so a class's response is its own service plus the shared wait.

A group-commit tier (``commit_s`` > 0, sim/tiers/batching.py) is c writers, each with its own
queue and a c-th of the writes (taken as Poisson). Its stationary regime is the batch chain's:
busy time per write ``d + commit / E[N]`` at the minute's rate per writer (utilisation, the
cap, the erlangs), and the response of a write alone (``commit + d``) plus, with probability
the writer's utilisation (it is busy when the write comes), a wait (the batch in progress,
then the write's own batch-mates) taken as a shifted exponential with the chain's exact mean
and standard deviation. A backlogged writer takes batches without bound, so its fluid regime
drains at the writes' own demand.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from sim.tiers import queueing as q
from sim.tiers import service as general
from sim.tiers.batching import Batching, batching_figures

MINUTE_S = 60.0
_NEGLIGIBLE = 1e-15  # probabilities below this do not move any percentile
PRECISION = 1e-4  # relative precision of latency percentiles (0.1 ms in a second)


class PoolPerformance:
    def __init__(self, rates: np.ndarray, demand_s: np.ndarray, servers: int, service: general.Service,
                 backlog_s: float = 0.0, patience_s: float = np.inf, commit_s: float = 0.0,
                 visits: np.ndarray | None = None, mean_batch: np.ndarray | None = None) -> None:
        """``rates``: (endpoints × minutes) requests/s; ``backlog_s``: wait carried in (s);
        ``commit_s`` > 0: a group-commit tier, whose ``demand_s`` include the commit (a write
        alone); ``visits``: the endpoints that visit the tier (default: every row given);
        ``mean_batch``: writes per commit each minute when event loops form the batches
        (``sim.tiers.turns``), else the writer's own chain's."""
        self._mean_batch = mean_batch
        served = np.ones(len(demand_s), bool) if visits is None else np.asarray(visits, bool)
        self.rates = np.atleast_2d(np.asarray(rates, float))[served]
        self.demand_s = demand_s[served]  # mean response of a request alone (without a wait)
        self.commit_s = commit_s
        # the part the service shape scales: the whole demand, or a write's own beside its
        # commit (a fixed cost), so that tails shift by the commit (``_shift``)
        self._own_s = self.demand_s - commit_s
        self.index = np.flatnonzero(served)  # platform endpoint index of each class
        self.servers = servers
        self.service = service
        self.patience_s = patience_s
        self.load = self.rates.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.weights = np.where(self.load > 0, self.rates / self.load, 0.0)
        # work per second that a backlog holds: group commit's batches grow without bound
        # under a backlog, so there a write's work is its own demand
        self.work_erlangs = (self.rates * self._own_s[:, None]).sum(axis=0)
        self.batching: Batching | None = self._batches() if commit_s else None
        self.erlangs = self.work_erlangs if self.batching is None else self.load * self.batching.demand_s
        self.utilisation = self.erlangs / servers
        self.stable = (self.utilisation < 1.0 if self.batching is None
                       else self.batching.stable)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.mean_s = np.where(self.load > 0, self.erlangs / self.load, 1.0)
            second = general.second_moment(service)
            moment2 = (self.weights * second * self.demand_s[:, None] ** 2).sum(axis=0)
            self.scv = np.where(self.load > 0, moment2 / self.mean_s**2 - 1.0, 1.0)
        # Endpoints with the same demand behave alike: the mix's tail sums over demands.
        self._group_demand, group = _groups(tuple(self._own_s.tolist()))
        self._group_weights = np.array([self.weights[members].sum(axis=0) for members in group])
        self._mean_wait: np.ndarray | None = None
        self._stationary()
        self._fluid(backlog_s)

    def _batches(self) -> Batching:
        """The batch chain of one writer at the minute's rate per writer and mean write."""
        with np.errstate(invalid="ignore", divide="ignore"):
            own = np.where(self.load > 0, self.work_erlangs / self.load, 0.0)
            second = general.second_moment(self.service)
            moment2 = (self.weights * second * self._own_s[:, None] ** 2).sum(axis=0)
            scv = np.where(own > 0, moment2 / own**2 - 1.0, 0.0)  # the writes' own spread
            moment3 = (self.weights * _third_moment(self.service) * self._own_s[:, None] ** 3).sum(axis=0)
            skew = np.where(own > 0, (moment3 - 3.0 * own * moment2) / own**3 + 2.0, 0.0)  # central
        figures = batching_figures(self.load / self.servers, own, self.commit_s, scv, skew)
        if self._mean_batch is None:
            return figures
        # the loops' turns make the batches: busy time per write d + commit / their E[N]; the
        # waits stay the writer chain's (an approximation: a write waits for the lock, not a turn)
        batch = np.maximum(np.broadcast_to(np.asarray(self._mean_batch, float), own.shape), 1.0)
        demand = own + np.where(self.load > 0, self.commit_s / batch, self.commit_s)
        busy = self.load / self.servers * demand
        return replace(figures, mean_batch=batch, demand_s=demand,
                       utilisation=np.where(figures.stable, busy, figures.utilisation))

    def _stationary(self) -> None:
        if self.batching is not None:
            self._stationary_batches(self.batching)
            return
        stable = self.stable
        self.p_wait = np.where(stable, q.erlang_c(self.servers, self.erlangs), 1.0)
        theta = q._decay_rate(self.load, self.mean_s, self.servers, self.scv)
        self.theta = np.where(stable, theta, np.inf)  # unused where unstable (fluid share 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.stationary_wait_s = np.where(self.p_wait > 0, self.p_wait / self.theta, 0.0)
        self._waiting = np.flatnonzero(stable & (self.p_wait > _NEGLIGIBLE))

    def _stationary_batches(self, batching: Batching) -> None:
        """A write waits when its writer is busy (probability: the utilisation, by PASTA):
        ``shift`` + an exponential, matching the chain's mean and standard deviation of that
        wait (an exponential alone where the deviation reaches the mean). Against the request
        level, docs/tiers.md."""
        stable, wait = self.stable, batching.wait_s
        self.p_wait = np.where(stable, np.minimum(self.utilisation, 1.0), 1.0)
        waits = stable & (self.p_wait > _NEGLIGIBLE) & (wait > 0)
        assert batching.busy_wait_sd_s is not None
        with np.errstate(divide="ignore", invalid="ignore"):
            busy_mean = np.where(waits, wait / self.p_wait, 0.0)
            spread = np.clip(np.nan_to_num(batching.busy_wait_sd_s), 1e-9 * busy_mean, busy_mean)
            self.theta = np.where(waits, 1.0 / spread, np.inf)
        self._wait_shift = np.where(waits, busy_mean - spread, 0.0)
        self.stationary_wait_s = np.where(stable, wait, 0.0)
        self._waiting = np.flatnonzero(waits)

    def _fluid(self, backlog_s: float) -> None:
        c = self.servers
        work, lost = q.fluid_backlog(self.work_erlangs, c, MINUTE_S, backlog_s * c,
                                     cap=self.patience_s * c)
        share, w0, w1 = q.fluid_wait_range(work, self.work_erlangs, c, MINUTE_S, self.patience_s)
        self.fluid_share = share
        self.fluid_lo = np.minimum(w0, w1)
        self.fluid_hi = np.maximum(w0, w1)
        self.backlog_end_s = np.minimum(np.maximum(w0 + (self.work_erlangs / c - 1.0) * MINUTE_S,
                                                   0.0), self.patience_s)
        with np.errstate(invalid="ignore", divide="ignore"):
            offered = self.work_erlangs * MINUTE_S
            self.served_share = np.where(offered > 0, 1.0 - lost / offered, 1.0)
        self._fluid_minutes = np.flatnonzero(share > 0)
        self._all = _Part.whole(self.load.size, self._waiting, self._fluid_minutes)

    # --- distribution of the response time -------------------------------------------------

    def mean_wait_s(self) -> np.ndarray:
        if self._mean_wait is None:
            self._mean_wait = self._compute_mean_wait()
        return self._mean_wait

    def _compute_mean_wait(self) -> np.ndarray:
        fluid = 0.5 * (self.fluid_lo + self.fluid_hi)
        stationary = np.where(self.fluid_share < 1.0, self.stationary_wait_s, 0.0)
        return self.fluid_share * fluid + (1.0 - self.fluid_share) * stationary

    def mean_response_s(self, cls: int) -> np.ndarray:
        return self.mean_wait_s() + self.demand_s[cls]

    def class_tail(self, x: np.ndarray, cls: int) -> np.ndarray:
        """P(response of class ``cls`` > x), per minute (``x`` has one entry per minute)."""
        return self._demand_tail(self._shift(x), float(self._own_s[cls]))

    def _shift(self, x: np.ndarray) -> np.ndarray:
        """A commit is a fixed cost: P(wait + commit + S > x) = P(wait + S > x - commit)."""
        return np.maximum(x - self.commit_s, 0.0) if self.commit_s else x

    def _bare_tail(self, x: np.ndarray, d: float) -> np.ndarray:
        """P(S > x): the service alone, as in a minute where nobody waits."""
        if self.service == "exponential":
            return np.exp(-x / d)
        if self.service == "deterministic":
            return (x < d).astype(float)
        return general.unit_tail(self.service, x / d)

    def _demand_tail(self, x: np.ndarray, d: float, part: _Part | None = None) -> np.ndarray:
        """P(wait + S > x) for service mean ``d``; ``x`` covers all minutes, or only those of
        ``part``."""
        part = part or self._all
        out = self._bare_tail(x, d)
        # Only minutes where requests may wait differ from the bare service distribution.
        i, full = part.waiting
        if i.size and self.batching is not None:
            out[i] += self.p_wait[full] * (self._waited_tail(x[i], d, full) - out[i])
        elif i.size:
            xi, pw, th = x[i], self.p_wait[full], self.theta[full]
            if self.service == "exponential":
                waited = pw * (q.exp_plus_exp_tail(xi, 1.0 / d, th) - out[i])
            elif self.service == "deterministic":
                waited = np.where(xi < d, 0.0, pw * np.exp(-th * (xi - d)))
            else:
                waited = pw * (general.exp_wait_plus_service_tail(self.service, xi, d, th) - out[i])
            out[i] += waited
        j, full = part.fluid
        if j.size:
            f = self.fluid_share[full]
            fluid = _uniform_plus_service_tail(x[j], self.fluid_lo[full], self.fluid_hi[full],
                                               d, self.service)
            out[j] = f * fluid + (1.0 - f) * out[j]
        return out

    def _waited_tail(self, x: np.ndarray, d: float, minutes: np.ndarray) -> np.ndarray:
        """Group commit: P(shift + E + S > x) for a write that waits (``_stationary_batches``)."""
        z = np.maximum(x - self._wait_shift[minutes], 0.0)
        th = self.theta[minutes]
        if self.service == "exponential":
            return q.exp_plus_exp_tail(z, 1.0 / d, th)
        if self.service == "deterministic":
            return np.where(z < d, 1.0, np.exp(-th * (z - d)))
        return general.exp_wait_plus_service_tail(self.service, z, d, th)

    def tail(self, x: np.ndarray, part: _Part | None = None) -> np.ndarray:
        """P(response > x) for a request drawn from the minute's mix of classes."""
        weights = self._group_weights if part is None else self._group_weights[:, part.minutes]
        total = np.zeros(np.shape(x))
        x = self._shift(x)
        for d, weight in zip(self._group_demand, weights, strict=True):
            total += weight * self._demand_tail(x, d, part)
        return total

    def _lower(self, probability: float) -> float:
        """A true lower bound of every minute's quantile: P(W + S > x) >= P(S > x), and a
        mix of services is never faster than its fastest class."""
        fastest = float(self._own_s.min())
        if self.service in ("exponential", "deterministic"):
            return (fastest * (-np.log(1.0 - probability) if self.service == "exponential" else 1.0)
                    + self.commit_s)
        return self.commit_s  # no simple bound for a general shape: the search starts from its floor

    def _upper(self, probability: float, demand_s: float) -> np.ndarray:
        slack = (1.0 - probability) / 2.0
        service = demand_s * general.unit_quantile(self.service, 1.0 - slack)
        with np.errstate(divide="ignore", invalid="ignore"):
            wait = np.where(self.p_wait > slack, np.log(self.p_wait / slack) / self.theta, 0.0)
        if self.batching is not None:
            wait = wait + self._wait_shift
        wait = np.where(self.fluid_share < 1.0, wait, 0.0)
        return (self.fluid_hi + service + self.commit_s + wait) * 1.01

    def percentile_s(self, probability: float) -> np.ndarray:
        """Response-time quantile over all requests of each minute (0 when idle)."""
        if len(self.demand_s) == 0:
            return np.zeros_like(self.load)
        upper = self._upper(probability, float(self._own_s.max()))
        out = q.quantile(self.tail, probability, upper, self._lower(probability), PRECISION)
        return np.where(self.load > 0, out, 0.0)

    def overall_percentile_s(self, probability: float) -> float:
        """Quantile of the response over all requests of all minutes (weighted by rate)."""
        weights = self.load
        total = float(weights.sum())
        if total <= 0 or len(self.demand_s) == 0:
            return 0.0
        upper = float(self._upper(probability, float(self._own_s.max()))[weights > 0].max())
        # Minutes where nobody waits are a plain mix of services: sum them once per demand.
        special = np.union1d(self._all.waiting[1], self._all.fluid[1])
        plain = np.ones(weights.size, bool)
        plain[special] = False
        mix = self._group_weights[:, plain] @ weights[plain]
        part = _Part.of(special, self._all)

        def tail(at: np.ndarray) -> np.ndarray:
            x = float(at)
            bare = sum(m * float(self._bare_tail(self._shift(np.asarray(x)), d))
                       for d, m in zip(self._group_demand, mix, strict=True))
            busy = float(weights[special] @ self.tail(np.full(special.size, x), part))
            return np.asarray((bare + busy) / total)

        return float(q.quantile(tail, probability, np.asarray(upper), self._lower(probability),
                                PRECISION))

    def class_percentile_s(self, probability: float, cls: int) -> np.ndarray:
        upper = self._upper(probability, float(self._own_s[cls]))
        return q.quantile(lambda x: self.class_tail(x, cls), probability, upper)


def _third_moment(service: general.Service) -> float:
    """E[S³] / E[S]³ of the service shape (general shapes: over its quantile nodes)."""
    if service == "exponential":
        return 6.0
    if service == "deterministic":
        return 1.0
    return float(np.mean(general.nodes(service) ** 3))


@lru_cache(maxsize=64)
def _groups(demands: tuple[float, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Distinct demands and the classes of each (cached: a tier's demands never change)."""
    values, inverse = np.unique(np.array(demands), return_inverse=True)
    return values, [np.flatnonzero(inverse == g) for g in range(values.size)]


@dataclass(frozen=True)
class _Part:
    """A subset of the minutes: their indices, and (position in the subset, minute index) of
    those where requests wait (stationary) and of those with a fluid backlog."""

    minutes: np.ndarray
    waiting: tuple[np.ndarray, np.ndarray]
    fluid: tuple[np.ndarray, np.ndarray]

    @classmethod
    def whole(cls, count: int, waiting: np.ndarray, fluid: np.ndarray) -> _Part:
        return cls(np.arange(count), (waiting, waiting), (fluid, fluid))

    @classmethod
    def of(cls, minutes: np.ndarray, whole: _Part) -> _Part:
        def located(full: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            inside = np.isin(full, minutes)
            return np.searchsorted(minutes, full[inside]), full[inside]

        return cls(minutes, located(whole.waiting[1]), located(whole.fluid[1]))


def _uniform_plus_service_tail(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, d: float,
                               service: general.Service) -> np.ndarray:
    """P(U + S > x) with U uniform on [lo, hi] and S the service (mean d)."""
    if isinstance(service, general.HyperexponentialShape):  # a mix of two exponentials
        p, m1, m2 = service.unit().phases()
        return (p * _uniform_plus_service_tail(x, lo, hi, d * m1, "exponential")
                + (1.0 - p) * _uniform_plus_service_tail(x, lo, hi, d * m2, "exponential"))
    if service not in ("exponential", "deterministic"):
        return general.uniform_plus_service_tail(service, x, lo, hi, d)
    width = hi - lo
    point = width <= 1e-12
    if service == "exponential":
        at_lo = np.where(x <= lo, 1.0, np.exp(-np.maximum(x - lo, 0.0) / d))
        m = np.clip(x, lo, hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            rising = np.exp(-np.maximum(x - m, 0.0) / d) - np.exp(-np.maximum(x - lo, 0.0) / d)
            spread = (rising * d + (hi - m)) / width
        return np.where(point, at_lo, np.clip(spread, 0.0, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.clip((hi - (x - d)) / width, 0.0, 1.0)
    return np.where(point, np.where(x - d < lo, 1.0, 0.0), spread)
