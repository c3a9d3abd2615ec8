"""The platform's tiers as queueing models, evaluated minute by minute at full-scale rates.

A tier is a base class with two hooks: ``_offered`` turns the minute's requests/s per endpoint
(and video egress) into the tier's load, ``_performance`` turns that load into a
``Performance`` (utilisation, waits, latency distribution). Two kinds:

- ``PoolTier``: c servers (worker processes, connections, gateway channels), each serving one
  request at a time, first come first served. A minute is a pointwise-stationary M/G/c queue
  (exact Erlang C for one exponential class, Allen-Cunneen otherwise) plus a fluid backlog
  that carries over from overloaded minutes (Lindley recursion on work).
- ``BandwidthTier``: video egress in Gbps against capacity; over capacity the link is shared
  max-min fairly, so low-bitrate viewers keep their rate and the rest rebuffer.

Never evaluate a tier on a sample's rates with a fraction of the servers: queueing does not
scale linearly (see docs/tiers.md). ``Platform`` always takes full-scale rates.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from domain import scenario as sc
from sim.tiers.pool import PoolPerformance
from sim.tiers.turns import loop_batches
from sim.tiers.video import BandwidthPerformance

PERCENTILES = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}
METRICS = ("utilisation", "wait_ms", "p50_ms", "p95_ms", "p99_ms", "in_system")


@dataclass(frozen=True)
class TierMetrics:
    """Per-minute figures of one tier; every array has one entry per minute."""

    kind: str
    load: np.ndarray  # requests/s (pool) or Gbps (bandwidth), full scale
    utilisation: np.ndarray  # offered utilisation; above 1 means overloaded
    wait_ms: np.ndarray  # mean queueing delay
    p50_ms: np.ndarray  # response-time percentiles (wait + service; bandwidth: rebuffering)
    p95_ms: np.ndarray
    p99_ms: np.ndarray
    served_share: np.ndarray  # bandwidth: viewers at full bitrate; pools: not given up
    backlog_s: np.ndarray  # fluid backlog wait at the end of the minute (pools)
    # time-average number at the tier: requests queued + in service (pools, from the queue's
    # length, not from its waits, so Little's law on the outputs is a check); bandwidth:
    # concurrent video streams (egress / the ladder's mean bitrate)
    in_system: np.ndarray | None = None
    performance: PoolPerformance | BandwidthPerformance | None = field(default=None, repr=False,
                                                                      compare=False)

    def overall_ms(self, probability: float) -> float:
        """Latency percentile over every request (pools) or viewer (bandwidth) of the run,
        not a percentile of per-minute percentiles."""
        if self.performance is None:
            raise ValueError("no performance model behind these metrics")
        return float(self.performance.overall_percentile_s(probability)) * 1000.0


class TierSeries(Mapping[str, TierMetrics]):
    """Tier name -> TierMetrics, plus the flat columns of ``timeseries.csv``."""

    def __init__(self, tiers: dict[str, TierMetrics]) -> None:
        self._tiers = tiers

    def __getitem__(self, name: str) -> TierMetrics:
        return self._tiers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tiers)

    def __len__(self) -> int:
        return len(self._tiers)

    def columns(self) -> dict[str, np.ndarray]:
        """``tier.<name>.<metric>`` arrays as docs/results.md names them."""
        return {f"tier.{name}.{metric}": getattr(m, metric)
                for name, m in self._tiers.items() for metric in METRICS}


class Tier(ABC):
    """One tier: builds its load from endpoint rates and egress, then its performance."""

    def __init__(self, name: str, slo: sc.TierSlo | None) -> None:
        self.name = name
        self.slo = slo

    def performance(self, rps: np.ndarray, egress_gbps: np.ndarray,
                    backlog_s: float = 0.0):
        """``rps`` is (endpoints × minutes) in the platform's endpoint order."""
        return self._performance(self._offered(rps, egress_gbps), backlog_s)

    def evaluate(self, rps: np.ndarray, egress_gbps: np.ndarray,
                 backlog_s: float = 0.0) -> TierMetrics:
        perf = self.performance(rps, egress_gbps, backlog_s)
        percentiles = {key: perf.percentile_s(p) * 1000.0 for key, p in PERCENTILES.items()}
        return TierMetrics(kind=self.kind, load=perf.load, utilisation=perf.utilisation,
                           wait_ms=perf.mean_wait_s() * 1000.0, served_share=perf.served_share,
                           backlog_s=perf.backlog_end_s, in_system=self._in_system(perf),
                           performance=perf, **percentiles)

    kind = "tier"

    @abstractmethod
    def _offered(self, rps: np.ndarray, egress_gbps: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _performance(self, load: np.ndarray, backlog_s: float): ...

    @abstractmethod
    def _in_system(self, perf) -> np.ndarray: ...


class PoolTier(Tier):
    kind = "pool"

    def __init__(self, config: sc.PoolTier, demand_s: np.ndarray, slo: sc.TierSlo | None,
                 patience_s: float = np.inf, visits: np.ndarray | None = None) -> None:
        """``demand_s`` and ``visits`` per platform endpoint: its mean demand here and whether
        it visits the tier at all (a visit may cost 0 of its own: ``Endpoint.visits``; default:
        every endpoint given)."""
        super().__init__(config.name, slo)
        self.visits = np.ones(len(demand_s), bool) if visits is None else np.asarray(visits, bool)
        self.loops: PoolTier | None = None  # group commit by event loops (``batched_by``): their tier
        self.servers = config.servers
        self.patience_s = patience_s  # requests waiting longer give up (fluid abandonment)
        self.service = getattr(config, "service", "exponential")
        # processor sharing is insensitive: its mean response is M/M/c's whatever the service's
        # variability, so the per-minute model treats it as exponential (sim/tiers/sharing.py)
        if getattr(config, "discipline", "fcfs") == "processor-sharing":
            self.service = "exponential"
        # group commit: ``demand_s`` is a write alone (its own demand and a whole commit, the
        # response it gets from an idle writer; ``feedback`` reads it as an upper bound);
        # ``PoolPerformance`` charges busy time per write d + commit / E[N], E[N] the mean batch
        # at each minute's rate per writer, and takes the waits from the same batch chain
        # (sim/tiers/batching.py, docs/tiers.md)
        # An event loop's wake-up (``wakeup_ms``) is the same fixed cost per batch, the batch
        # being the requests ready at a wake-up: the same per-minute chain (busy time
        # d + wakeup / E[N] at each minute's rate per loop). Its waits are the gated batch's,
        # an upper bound for a loop, which answers each request as its callback ends.
        commit_s = (getattr(config, "commit_ms", 0.0) or getattr(config, "wakeup_ms", 0.0)) / 1000.0
        self.commit_s = commit_s
        self.own_s = demand_s  # busy time per request beside any commit (sizing's lower bound)
        self.demand_s = np.where(self.visits, demand_s + commit_s, 0.0) if commit_s else demand_s

    def with_servers(self, servers: int) -> PoolTier:
        """The same tier with another server count (for sizing)."""
        clone = copy.copy(self)  # a shallow copy: the demand arrays are shared, never written
        clone.servers = servers
        return clone

    def _offered(self, rps: np.ndarray, egress_gbps: np.ndarray) -> np.ndarray:
        return np.where(self.visits[:, None], rps, 0.0)

    def performance(self, rps: np.ndarray, egress_gbps: np.ndarray,
                    backlog_s: float = 0.0) -> PoolPerformance:
        batch = None
        if self.loops is not None:  # the loops' turns form the batches (sim/tiers/turns.py)
            loops = self.loops
            batch = loop_batches(np.atleast_2d(rps), loops.own_s, loops.visits, loops.servers, loops.commit_s,
                                 self.own_s, self.visits, self.commit_s)
        return self._performance(self._offered(rps, egress_gbps), backlog_s, batch)

    def _performance(self, load: np.ndarray, backlog_s: float,
                     batch: np.ndarray | None = None) -> PoolPerformance:
        return PoolPerformance(load, self.demand_s, self.servers, self.service, backlog_s,
                               self.patience_s, self.commit_s, self.visits, batch)

    def _in_system(self, perf: PoolPerformance) -> np.ndarray:
        """Mean requests at the tier, mixing the minute's two regimes as ``PoolPerformance``
        does. Stationary M/G/c: queue length C(c,a)·rho/(1 - rho)·(1 + cs²)/2 (exact for
        M/M/c, Allen-Cunneen otherwise) plus a busy servers. Fluid: the work backlog
        c·wait (linear through the part) over the mean service, plus all c servers busy."""
        c, rho, a = perf.servers, perf.utilisation, perf.erlangs
        with np.errstate(divide="ignore", invalid="ignore"):
            queued = perf.p_wait * rho / (1.0 - rho) * (1.0 + perf.scv) / 2.0
            stationary = np.where(rho < 1.0, queued + a, 0.0)
            backlog = c * 0.5 * (perf.fluid_lo + perf.fluid_hi) / perf.mean_s
            if perf.batching is not None:
                # group commit: Little's law on the chain's mean response; the backlog's
                # requests at their own demand (its batches grow without bound)
                alone = (perf.weights * perf.demand_s[:, None]).sum(axis=0)
                stationary = np.where(perf.stable, perf.load * (perf.stationary_wait_s + alone), 0.0)
                backlog = c * 0.5 * (perf.fluid_lo + perf.fluid_hi) * perf.load / perf.work_erlangs
        fluid = np.where(perf.fluid_share > 0, backlog + c, 0.0)
        share = perf.fluid_share
        # A minute without arrivals has no mix to take a mean service from: reported as 0 (a
        # backlog never outlasts the heartbeats, so it does not arise in a campaign).
        return np.where(perf.load > 0, share * fluid + (1.0 - share) * stationary, 0.0)


class BandwidthTier(Tier):
    kind = "bandwidth"

    def __init__(self, config: sc.BandwidthTier, platform: sc.Platform,
                 slo: sc.TierSlo | None) -> None:
        super().__init__(config.name, slo)
        self.capacity_gbps = config.capacity_gbps
        self.rates_kbps = np.array([b.kbps + platform.audio_kbps for b in platform.video_bitrates])
        self.shares = np.array([b.share for b in platform.video_bitrates])

    def with_capacity(self, capacity_gbps: float) -> BandwidthTier:
        clone = copy.copy(self)
        clone.capacity_gbps = capacity_gbps
        return clone

    def _offered(self, rps: np.ndarray, egress_gbps: np.ndarray) -> np.ndarray:
        return np.asarray(egress_gbps, float)

    def _performance(self, load: np.ndarray, backlog_s: float) -> BandwidthPerformance:
        return BandwidthPerformance(load, self.capacity_gbps, self.rates_kbps, self.shares)

    def _in_system(self, perf: BandwidthPerformance) -> np.ndarray:
        mean_kbps = float((self.rates_kbps * self.shares).sum())
        return perf.load * 1e6 / mean_kbps


def _egress(values) -> np.ndarray:
    egress = np.asarray(values, float)
    if np.any(egress < 0) or not np.all(np.isfinite(egress)):
        raise ValueError("egress_gbps: must be finite and non-negative")
    return egress


def build_tiers(scenario: sc.Scenario) -> list[Tier]:
    platform = scenario.platform
    slos = scenario.service_levels.tiers
    behaviour = getattr(scenario, "behaviour", None)
    patience = behaviour.overload.abandon_after_s if behaviour is not None else np.inf
    tiers: list[Tier] = []
    for config in platform.tiers:
        if config.kind == "pool":
            demand = np.array([e.demand_ms.get(config.name, 0.0) / 1000.0
                               for e in platform.endpoints])
            visits = np.array([e.visits(config.name) for e in platform.endpoints], bool)
            tiers.append(PoolTier(config, demand, slos.get(config.name), patience, visits))
        else:
            tiers.append(BandwidthTier(config, platform, slos.get(config.name)))
    pools = {t.name: t for t in tiers if isinstance(t, PoolTier)}
    for config in platform.tiers:
        if isinstance(config, sc.PoolTier) and config.batched_by is not None:
            pools[config.name].loops = pools[config.batched_by]
    return tiers


class Platform:
    """All tiers of a scenario's platform, evaluated on full-scale requests/s per endpoint."""

    def __init__(self, scenario: sc.Scenario) -> None:
        self.scenario = scenario
        self.endpoints = [e.name for e in scenario.platform.endpoints]
        self._index = {name: i for i, name in enumerate(self.endpoints)}
        self.tiers = build_tiers(scenario)
        self.tier_names = [t.name for t in self.tiers]

    def tier(self, name: str) -> Tier:
        return self.tiers[self.tier_names.index(name)]

    def matrix(self, rps: Mapping[str, np.ndarray | float], minutes: int = 1) -> np.ndarray:
        """(endpoints × minutes) array from a name -> rates mapping; missing names are 0
        (``minutes`` gives the length when the mapping is empty)."""
        arrays = {}
        for name, values in rps.items():
            if name not in self._index:
                raise ValueError(f"rps: unknown endpoint {name!r} (scenario has {self.endpoints})")
            arrays[name] = np.atleast_1d(np.asarray(values, float))
        lengths = {a.shape for a in arrays.values()}
        if len(lengths) > 1:
            raise ValueError(f"rps: arrays of different shapes {sorted(lengths)}")
        minutes = lengths.pop()[0] if lengths else minutes
        out = np.zeros((len(self.endpoints), minutes))
        for name, values in arrays.items():
            if np.any(values < 0) or not np.all(np.isfinite(values)):
                raise ValueError(f"rps.{name}: rates must be finite and non-negative")
            out[self._index[name]] = values
        return out

    def evaluate(self, rps: Mapping[str, np.ndarray], egress_gbps: np.ndarray) -> TierSeries:
        """Per-minute figures of every tier over a whole run (backlog carried minute to minute)."""
        matrix = self.matrix(rps, np.size(egress_gbps))
        egress = np.broadcast_to(_egress(egress_gbps), matrix.shape[1:])
        return TierSeries({t.name: t.evaluate(matrix, egress) for t in self.tiers})

    def state(self, rps: Mapping[str, float], egress_gbps: float,
              previous: PlatformState | None = None) -> PlatformState:
        """One minute's performance, for feedback into behaviour.

        ``previous`` (the state of the minute before) carries the fluid backlog of an
        overload into this minute; without it the minute starts with empty queues.
        """
        matrix = self.matrix(rps)
        egress = np.atleast_1d(_egress(egress_gbps))
        perfs = {}
        for tier in self.tiers:
            carried = previous.backlog_s(tier.name) if previous is not None else 0.0
            perfs[tier.name] = tier.performance(matrix, egress, carried)
        return PlatformState(self, perfs)


class PlatformState:
    """The platform during one minute: what a teacher's request experiences."""

    def __init__(self, platform: Platform, perfs: dict) -> None:
        self._platform = platform
        self._perfs = perfs
        self._leg_cache: dict[str, list[tuple[PoolPerformance, int]]] = {}

    def utilisation(self, tier: str) -> float:
        return float(self._perfs[tier].utilisation[0])

    def backlog_s(self, tier: str) -> float:
        return float(self._perfs[tier].backlog_end_s[0])

    def _legs(self, endpoint: str) -> list[tuple[PoolPerformance, int]]:
        """(pool performance, class index) for every pool tier the endpoint uses."""
        if endpoint in self._leg_cache:
            return self._leg_cache[endpoint]
        index = self._platform._index[endpoint]
        legs = []
        for perf in self._perfs.values():
            if isinstance(perf, PoolPerformance):
                hit = np.flatnonzero(perf.index == index)
                if hit.size:
                    legs.append((perf, int(hit[0])))
        self._leg_cache[endpoint] = legs
        return legs

    def response_s(self, endpoint: str) -> float:
        """Mean response time: sum over the endpoint's tiers of wait + service (inf if stuck)."""
        return float(sum(perf.mean_response_s(cls)[0] for perf, cls in self._legs(endpoint)))

    def p_slower_than(self, endpoint: str, seconds: float) -> float:
        """P(response > seconds). Across tiers the slowest tier's distribution is kept and the
        others contribute their means (exact for one tier; close when one tier dominates)."""
        legs = self._legs(endpoint)
        if not legs:
            return 0.0
        means = [float(perf.mean_response_s(cls)[0]) for perf, cls in legs]
        worst = int(np.argmax(means))
        rest = sum(means) - means[worst]
        perf, cls = legs[worst]
        x = np.array([max(seconds - rest, 0.0)])
        return float(np.clip(perf.class_tail(x, cls)[0], 0.0, 1.0))

    def sms_delay_s(self) -> float:
        """Time until an SMS code is handed to the carrier: the sms_send request's response."""
        if "sms_send" not in self._platform._index:
            return 0.0
        return self.response_s("sms_send")

    def video_ok(self) -> float:
        """Share of viewers served at full bitrate (the worst bandwidth tier)."""
        shares = [float(p.served_share[0]) for p in self._perfs.values()
                  if isinstance(p, BandwidthPerformance)]
        return min(shares, default=1.0)
