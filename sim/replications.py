"""Independent replications of a model run and 95% confidence intervals.

Replication 0 uses the run's seed (its outputs are the ones written); replication i > 0
uses a seed derived from (seed, i), so a set of replications is reproducible too. Extra
replications run in parallel worker processes, or on an existing Dask cluster when given
its scheduler address (``pip install yanxiu[dask]``). Each returns only its flat metrics
map (peaks, means, shares, rates) and outcome totals; the interval for every figure is
mean +- t(0.975, R-1) * sd / sqrt(R) over the R replications.

A platform scenario (several campaigns, ``sim.campaigns``) replicates the same way: each
replication is a whole platform run with the replication's seed (every campaign's seed is
drawn from it), and its figures are the platform summary's (the total load, the tiers on
it, the outcomes added up, and each campaign's columns as ``campaign.<name>.*``).
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing as mp
import os

import numpy as np
from scipy import stats

from domain.scenario import Scenario
from sim.errors import ModelError


def replication_seed(seed: int, index: int) -> int:
    if index == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), index]).generate_state(1, np.uint32)[0])


def key_figures(run) -> dict[str, float]:
    """The figures replications compare: the gate's metrics and the outcome totals."""
    from sim.outputs import writer as outputs

    labels = outputs.minute_labels(run)
    return _flat(outputs.summary(run, labels, outputs.timeseries(run)))


def platform_key_figures(run) -> dict[str, float]:
    """The figures of a platform run (``sim.campaigns.PlatformRun``), as ``key_figures``."""
    from sim.outputs import platform as outputs

    return _flat(outputs.summary_of(run))


def _flat(summary) -> dict[str, float]:
    figures = {k: float(v) for k, v in summary.metrics.items() if v is not None}
    figures.update({f"outcomes.{k}": float(v) for k, v in summary.outcomes.items()})
    return figures


def one_replication(scenario: Scenario, teachers: int | None, seed: int,
                    max_simulated: int | None, shards: int | None = None) -> dict[str, float]:
    """One replication in this process (replications already run side by side, so each
    keeps its shards in one process; the shard count, not the processes, shapes results).
    A spawned or Dask worker switches on the compiled hot modules first, as ``yanxiu run`` does."""
    from sim import native

    native.install()
    from sim.model import run_model

    return key_figures(run_model(scenario, teachers, seed, max_simulated, shards=shards, workers=1))


def one_platform_replication(plan, scale: float, seed: int, max_simulated: int | None,
                             shards: int | None = None) -> dict[str, float]:
    """One replication of a platform run in this process (its shards in one process)."""
    from sim import native

    native.install()
    from sim.campaigns import run_platform

    return platform_key_figures(run_platform(plan, scale, seed, max_simulated, shards=shards, workers=1))


def run_extra(scenario: Scenario, teachers: int | None, seed: int, count: int,
              max_simulated: int | None, scheduler: str | None = None,
              workers: int | None = None, shards: int | None = None) -> list[dict[str, float]]:
    """Replications 1..count-1 (replication 0 is the caller's own run)."""
    seeds = [replication_seed(seed, i) for i in range(1, count)]
    args = [(scenario, teachers, s, max_simulated, shards) for s in seeds]
    return _run_all(one_replication, args, scheduler, workers)


def run_extra_platform(plan, scale: float, seed: int, count: int, max_simulated: int | None,
                       scheduler: str | None = None, workers: int | None = None,
                       shards: int | None = None) -> list[dict[str, float]]:
    """Replications 1..count-1 of a platform run (``plan``: a ``domain.platform.PlatformScenario``)."""
    seeds = [replication_seed(seed, i) for i in range(1, count)]
    args = [(plan, scale, s, max_simulated, shards) for s in seeds]
    return _run_all(one_platform_replication, args, scheduler, workers)


def _run_all(function, args: list[tuple], scheduler: str | None,
             workers: int | None) -> list[dict[str, float]]:
    """``function`` over the argument tuples: on the Dask scheduler, else in spawned processes."""
    if not args:
        return []
    if scheduler:
        return _on_dask(scheduler, function, args)
    workers = workers or max(1, min(len(args), (os.cpu_count() or 2) - 1))
    context = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(function, *zip(*args, strict=True)))


def _fingerprint() -> str:
    import hashlib
    from importlib.metadata import version
    from pathlib import Path

    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for package in ("sim", "domain"):
        for path in sorted(p for p in (root / package).rglob("*") if p.suffix in (".py", ".so", ".pyd")):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    for package in ("numpy", "scipy", "simpy"):
        digest.update(f"{package}={version(package)}".encode())
    return digest.hexdigest()[:16]


_FINGERPRINT: str | None = None


def code_fingerprint() -> str:
    """What a replication's figures depend on besides its arguments: the model's and the
    domain's source files and the numerical libraries' versions, as they are when this process
    first asks (computed on demand, not at import: only a Dask run compares it)."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        _FINGERPRINT = _fingerprint()
    return _FINGERPRINT


def _on_dask(address: str, function, args: list[tuple]) -> list[dict[str, float]]:
    try:
        from distributed import Client
    except ImportError as exc:
        raise ModelError("--scheduler needs the optional extra: pip install 'yanxiu[dask]'") \
            from exc
    with Client(address, timeout="10s") as client:
        # A long-lived cluster keeps the model code its workers imported when they started:
        # after an edit or an upgrade they would give other figures for the same seeds.
        mine = code_fingerprint()
        stale = sorted(w for w, fp in client.run(code_fingerprint).items() if fp != mine)
        if stale:
            raise ModelError(f"--scheduler {address}: workers {', '.join(stale)} run other model "
                               "code or library versions than this checkout; restart them")
        futures = client.map(function, *zip(*args, strict=True), pure=False)
        return client.gather(futures)


def confidence(figures: list[dict[str, float]]) -> dict:
    """{count, mean, ci95: {figure: [lo, hi]}} over replications (keys common to all)."""
    count = len(figures)
    keys = [k for k in figures[0] if all(k in f for f in figures)]
    mean, ci = {}, {}
    t = stats.t.ppf(0.975, count - 1) if count > 1 else math.nan
    for key in keys:
        values = np.array([f[key] for f in figures], dtype=np.float64)
        if not np.all(np.isfinite(values)):
            continue
        m = float(values.mean())
        half = float(t * values.std(ddof=1) / math.sqrt(count)) if count > 1 else math.nan
        mean[key] = m
        ci[key] = [m - half, m + half]
    return {"count": count, "mean": mean, "ci95": ci}
