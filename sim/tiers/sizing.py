"""Capacity each tier needs to meet its service levels, and how the run complied with them.

Sizing looks at the tier's hardest minutes (its highest offered loads) at full-scale rates:

- pool tier: the smallest server count with utilisation <= ``max_utilisation`` and every
  latency target (p50/p95/p99 of wait + service) met, in steady state (no backlog, since a
  sized tier is not overloaded); found by bisection, latency falls as servers are added;
- bandwidth tier: peak egress / ``max_utilisation``.

Beside that plan (``needed``, the SLO's headroom included), ``minimum`` is the break point: the
fewest servers (Gbps) that still meet every latency target with no utilisation cap, i.e. below
which the busiest minute's requests wait past their targets and teachers are hurt. For a pool it
is the smallest count above the offered load (a stable queue) meeting the latency targets; for a
bandwidth tier the peak egress itself (above it videos stall).

``margin`` is provided / needed - 1: positive is spare capacity, negative a shortfall.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from domain import scenario as sc
from sim.tiers.platform import PERCENTILES, BandwidthTier, Platform, PoolTier, Tier, TierSeries

CANDIDATE_MINUTES = 5  # the mix matters, so the top few loads are sized, not just the top one
TARGETS = ("p50_ms", "p95_ms", "p99_ms")
# A minute with under one request a second is too thin for a latency percentile: a few slow
# administrator requests alone would set its p95. Such minutes are not judged.
JUDGED_RPS = 1.0


@dataclass(frozen=True)
class Capacity:
    tier: str
    unit: str  # "servers" or "Gbps"
    needed: float  # inf when a latency target is below the bare service time
    provided: float
    margin: float  # provided / needed - 1
    at: int  # minute index of the minute that needs the most
    binding: str  # the constraint that set ``needed``: max_utilisation, p95_ms, ...
    throughput_per_s: float | None = None  # pools: requests/s the needed servers serve at 100%
    minimum: float | None = None  # the fewest meeting the latency targets with no headroom cap

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Compliance:
    tier: str
    targets: dict[str, float]  # the SLO's latency targets (ms)
    worst: dict[str, float]  # the worst judged minute's value of each targeted percentile (ms)
    compliant_minutes_share: float  # judged minutes meeting every latency target
    compliant_requests_share: float  # the same weighted by the minutes' requests
    judged_minutes: int  # minutes with at least JUDGED_RPS requests/s (pools; any load: links)
    max_utilisation: float  # peak offered utilisation of the run
    utilisation_ok: bool  # peak utilisation within the SLO's max_utilisation
    missed: np.ndarray | None = None  # per minute: judged and over a latency target

    @property
    def compliant(self) -> bool:
        return self.compliant_minutes_share == 1.0 and self.utilisation_ok


def size(platform: Platform, rps: Mapping[str, np.ndarray], egress_gbps: np.ndarray,
         series: TierSeries | None = None) -> dict[str, Capacity]:
    """Capacity needed by every tier with an SLO, over the run's per-minute rates."""
    matrix = platform.matrix(rps, np.size(egress_gbps))
    egress = np.broadcast_to(np.asarray(egress_gbps, float), matrix.shape[1:])
    series = series or platform.evaluate(rps, egress)
    out = {}
    for tier in platform.tiers:
        if tier.slo is None:
            continue
        if isinstance(tier, BandwidthTier):
            out[tier.name] = _size_bandwidth(tier, egress)
        elif isinstance(tier, PoolTier):
            out[tier.name] = _size_pool(tier, matrix, series[tier.name].utilisation)
        else:
            raise TypeError(f"no sizing rule for a {type(tier).__name__}")
    return out


def _slo(tier: Tier) -> sc.TierSlo:
    """The tier's service levels; sizing and compliance only look at tiers that have them."""
    if tier.slo is None:
        raise ValueError(f"tier {tier.name} has no service levels to size against")
    return tier.slo


def _size_bandwidth(tier: BandwidthTier, egress: np.ndarray) -> Capacity:
    at = int(np.argmax(egress))
    peak = float(egress[at])
    needed = peak / _slo(tier).max_utilisation
    return _record(tier.name, "Gbps", needed, tier.capacity_gbps, at, "max_utilisation", minimum=peak)


def _size_pool(tier: PoolTier, matrix: np.ndarray, utilisation: np.ndarray) -> Capacity:
    count = min(CANDIDATE_MINUTES, utilisation.size)
    candidates = np.argsort(utilisation)[::-1][:count]
    best: tuple[float, int, str] = (0, int(candidates[0]), "max_utilisation")
    for minute in candidates:
        servers, binding = servers_needed(tier, matrix[:, [minute]])
        if servers > best[0]:
            best = (servers, int(minute), binding)
    servers, at, binding = best
    minimum = max(servers_needed(tier, matrix[:, [m]], headroom=False)[0] for m in candidates)
    load = matrix[:, at]
    rate = float(load[tier.visits].sum())
    mean_s = float((load * tier.demand_s).sum()) / rate if rate > 0 else 0.0
    if tier.commit_s and rate > 0 and math.isfinite(servers) and servers > 0:
        # group commit: busy time per write at that minute's batches on the needed writers
        mean_s = float(tier.with_servers(int(servers)).performance(
            matrix[:, [at]], np.zeros(1)).mean_s[0])
    throughput = servers / mean_s if mean_s > 0 and math.isfinite(servers) else None
    return _record(tier.name, "servers", servers, tier.servers, at, binding, throughput, minimum)


def _record(name: str, unit: str, needed: float, provided: float, at: int, binding: str,
            throughput: float | None = None, minimum: float | None = None) -> Capacity:
    margin = provided / needed - 1.0 if needed > 0 else math.inf
    return Capacity(name, unit, needed, float(provided), margin, at, binding, throughput, minimum)


def violations(tier: PoolTier, minute: np.ndarray, servers: int, headroom: bool = True) -> list[str]:
    """The SLO constraints that ``servers`` servers break on one minute (steady state):
    ``saturation`` when they cannot keep up at all (utilisation >= 1), the utilisation cap
    unless ``headroom`` is False, and each latency target."""
    perf = tier.with_servers(servers).performance(minute, np.zeros(minute.shape[1]))
    broken = []
    if headroom and perf.utilisation[0] > _slo(tier).max_utilisation:
        broken.append("max_utilisation")
    if not perf.stable[0]:  # group commit: its writes' own demand (the commit is shared)
        broken.append("saturation")
    for key, probability in PERCENTILES.items():
        target = getattr(tier.slo, key)
        if target is not None and perf.percentile_s(probability)[0] * 1000.0 > target:
            broken.append(key)
    return broken


def servers_needed(tier: PoolTier, minute: np.ndarray, headroom: bool = True) -> tuple[float, str]:
    """Smallest server count meeting the tier's SLO on one minute, and what binds it; with
    ``headroom`` False, the smallest meeting the latency targets alone (``minimum``)."""
    # a lower bound of the busy servers: group commit's batches never make a write's busy
    # time less than its own demand (``own_s``), and utilisation falls as servers are added
    erlangs = float((minute[:, 0] * tier.own_s).sum())
    first = "max_utilisation" if headroom else "saturation"
    if erlangs <= 0:
        return 0, first
    if headroom:
        low = max(1, math.ceil(erlangs / _slo(tier).max_utilisation - 1e-9))
    else:
        low = math.floor(erlangs) + 1  # the fewest servers with utilisation below 1
    if not violations(tier, minute, low, headroom):
        return low, first
    high = low
    while violations(tier, minute, high, headroom):
        if high > 1_000 * low + 1_000:  # latency target below the bare service time
            return math.inf, violations(tier, minute, high, headroom)[0]
        high *= 2
    while high - low > 1:  # invariant: low breaks the SLO, high meets it
        mid = (low + high) // 2
        low, high = (low, mid) if not violations(tier, minute, mid, headroom) else (mid, high)
    return high, violations(tier, minute, low, headroom)[0]


def compliance(platform: Platform, series: TierSeries) -> dict[str, Compliance]:
    """How every tier with an SLO did over the run, minute by minute."""
    out = {}
    for tier in platform.tiers:
        if tier.slo is None:
            continue
        metrics = series[tier.name]
        targets = {k: getattr(tier.slo, k) for k in TARGETS if getattr(tier.slo, k) is not None}
        judged = metrics.load >= (JUDGED_RPS if metrics.kind == "pool" else 1e-12)
        ok = np.ones(int(judged.sum()), bool)
        for key, target in targets.items():
            ok &= getattr(metrics, key)[judged] <= target
        missed = np.zeros(judged.shape, bool)
        missed[np.flatnonzero(judged)[~ok]] = True
        weights = metrics.load[judged]
        peak = float(metrics.utilisation.max(initial=0.0))
        out[tier.name] = Compliance(
            tier=tier.name, targets=targets,
            worst={k: float(getattr(metrics, k)[judged].max(initial=0.0)) for k in targets},
            compliant_minutes_share=float(ok.mean()) if ok.size else 1.0,
            compliant_requests_share=float(weights[ok].sum() / weights.sum()) if ok.size else 1.0,
            judged_minutes=int(judged.sum()),
            max_utilisation=peak, utilisation_ok=peak <= _slo(tier).max_utilisation, missed=missed)
    return out


def missed_mostly(platform: Platform, rps: Mapping[str, np.ndarray], tier: str,
                  missed: np.ndarray | None) -> tuple[str, float] | None:
    """The endpoint with the largest share of a pool tier's busy time over its missed minutes,
    and its share of the tier's requests there: what a planner looks at when the misses are slow
    requests, not queueing (e.g. administrators' reports in the quiet weeks). None when no
    minute was missed or the tier is not a pool."""
    config = platform.tier(tier)
    if missed is None or not missed.any() or not isinstance(config, PoolTier):
        return None
    matrix = platform.matrix(rps, missed.size)[:, missed]  # endpoints x missed minutes
    requests = np.where(config.visits, matrix.sum(axis=1), 0.0)
    if requests.sum() <= 0:
        return None
    worst = int(np.argmax(requests * config.demand_s))
    return platform.endpoints[worst], float(requests[worst] / requests.sum())


def summary_sections(platform: Platform, rps: Mapping[str, np.ndarray], egress_gbps: np.ndarray,
                     series: TierSeries, labels: list[str] | None = None) -> dict:
    """The ``slo``, ``capacity`` and tier ``metrics`` parts of a model run's summary.json
    (docs/results.md). ``labels`` names the minutes (e.g. local ISO times) for ``at``."""
    def at(minute: int) -> str | int:
        return labels[minute] if labels is not None else minute

    slo: dict[str, dict[str, object]] = {}
    metrics: dict[str, float] = {}
    for name, report in compliance(platform, series).items():
        tier = series[name]
        overall = {k: tier.overall_ms(p) for k, p in PERCENTILES.items()}
        slo[name] = {"p95_ms": overall["p95_ms"], "target_p95_ms": report.targets.get("p95_ms"),
                     "worst_minute_p95_ms": report.worst.get("p95_ms"),
                     "targets_ms": report.targets, "max_utilisation": report.max_utilisation,
                     "target_max_utilisation": _slo(platform.tier(name)).max_utilisation,
                     "compliant_minutes_share": report.compliant_minutes_share,
                     "compliant_requests_share": report.compliant_requests_share,
                     "judged_minutes": report.judged_minutes,
                     "judged_rps": JUDGED_RPS if tier.kind == "pool" else 0.0,
                     "compliant": report.compliant}
        mostly = missed_mostly(platform, rps, name, report.missed)
        if mostly is not None:
            slo[name]["missed_minutes_endpoint"], slo[name]["missed_minutes_endpoint_share"] = mostly
        for key, value in overall.items():
            metrics[f"{key[:3]}(latency.{name})"] = value
        metrics[f"max(utilisation.{name})"] = report.max_utilisation
    capacity = {}
    for name, record in size(platform, rps, egress_gbps, series).items():
        entry = record.as_dict()
        entry.pop("tier")
        entry["at"] = at(record.at)
        capacity[name] = entry
    return {"slo": slo, "capacity": capacity, "metrics": metrics}
