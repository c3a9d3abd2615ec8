"""Peaks as ranges: a run repeated for draws from a fit's posterior (``yanxiu run --ranges N``).

Draw i takes a parameter vector from the behaviour file's posterior sample (resampled by the
sample's weights, seeded) *and* its own seed, so the spread of a figure over the draws covers
both the behaviour's uncertainty and seed noise. Every figure gets the median of the draws as
its central value and the 5% and 95% quantiles as its 90% interval, and names the parameter
that drives it most: the largest |Spearman rank correlation| between a parameter and the
figure over the draws (the sensitivity table keeps all of them). A parameter that never varies
over the draws has no correlation.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import stats

from domain.scenario import Scenario
from fit import params
from fit.errors import FitError

FIGURE_PREFIXES = ("peak(", "max(utilisation", "capacity(", "p95(", "p99(", "share(")


@dataclass(frozen=True)
class Posterior:
    path: str
    names: list[str]
    sample: np.ndarray  # particles x parameters
    weights: np.ndarray


def load_posterior(path: str | Path) -> Posterior:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        post = data["posterior"]
        names, sample = list(post["names"]), np.array(post["sample"], dtype=np.float64)
        weights = np.array(post["weights"], dtype=np.float64)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise FitError(f"{path}: not a fitted behaviour file with a posterior ({exc.__class__.__name__})") \
            from None
    unknown = [n for n in names if n not in params.BY_NAME]
    if unknown or sample.ndim != 2 or sample.shape != (weights.size, len(names)) or weights.sum() <= 0:
        raise FitError(f"{path}: posterior: malformed sample (parameters, rows and weights disagree)")
    return Posterior(str(path), names, sample, weights / weights.sum())


def draws(posterior: Posterior, count: int, seed: int) -> np.ndarray:
    """``count`` parameter vectors resampled by weight (systematic resampling, seeded)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 3131]))
    positions = (rng.random() + np.arange(count)) / count
    index = np.minimum(np.searchsorted(np.cumsum(posterior.weights), positions), posterior.weights.size - 1)
    return np.asarray(posterior.sample[rng.permutation(index)])


def draw_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([int(seed), 7, index]).generate_state(1, np.uint32)[0])


def figures(run: Any) -> dict[str, float]:
    """Peaks, utilisation, latency, shares and capacity needs of one run."""
    from sim.outputs import writer as outputs

    summary = outputs.summary(run, outputs.minute_labels(run), outputs.timeseries(run))
    out = {k: float(v) for k, v in summary.metrics.items()
           if v is not None and k.startswith(FIGURE_PREFIXES)}
    for tier, cap in summary.capacity.items():
        if cap.needed is not None:
            out[f"capacity({tier})"] = float(cap.needed)
    out["participants"] = float(summary.outcomes["participants"])
    return out


def one_draw(base: dict[str, Any], names: list[str], values: list[float], teachers: int | None, seed: int,
             max_simulated: int | None) -> dict[str, float]:
    from sim.model import run_model

    scenario = params.apply(base, names, values)
    return figures(run_model(scenario, teachers, seed, max_simulated, shards=1, workers=1))


def run_draws(scenario: Scenario, posterior: Posterior, count: int, teachers: int | None, seed: int,
              max_simulated: int | None, workers: int | None = None, scheduler: str | None = None,
              on_draw: Callable[[int, int], None] | None = None,
              ) -> tuple[np.ndarray, list[int], list[dict[str, float]]]:
    """Every draw's figures, in parallel processes or on Dask; ``on_draw(done, count)`` as the
    draws finish (in order: a draw is counted once it and every one before it are done)."""
    base = params.emergent_data(scenario)
    vectors = draws(posterior, count, seed)
    seeds = [draw_seed(seed, i) for i in range(count)]
    args = [(base, posterior.names, [float(v) for v in row], teachers, s, max_simulated)
            for row, s in zip(vectors, seeds, strict=True)]
    report = on_draw or (lambda done, total: None)
    if scheduler:
        from distributed import Client

        with Client(scheduler, timeout="10s") as client:
            futures = client.map(one_draw, *zip(*args, strict=True), pure=False)
            return vectors, seeds, _counted((f.result() for f in futures), count, report)
    workers = workers or max(1, min(count, os.cpu_count() or 1))
    if workers == 1:
        return vectors, seeds, _counted((one_draw(*a) for a in args), count, report)
    with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        return vectors, seeds, _counted(pool.map(one_draw, *zip(*args, strict=True)), count, report)


def _counted(results: Iterable[dict[str, float]], count: int,
             report: Callable[[int, int], None]) -> list[dict[str, float]]:
    out = []
    for result in results:
        out.append(result)
        report(len(out), count)
    return out


TIE = 0.05  # parameters whose |rho| is this close to the largest cannot be told apart


def _driver(sensitivity: dict[str, float]) -> str | None:
    """The parameter with the largest |rho|; tied ones named together (a small posterior repeats
    its particles, so its parameters move together and the draws cannot separate them)."""
    if not sensitivity:
        return None
    ranked = sorted(sensitivity, key=lambda n: -abs(sensitivity[n]))
    top = abs(sensitivity[ranked[0]])
    tied = [n for n in ranked if top - abs(sensitivity[n]) <= TIE]
    return tied[0] if len(tied) == 1 else " = ".join(tied) + " (tied)"


def summarise(names: list[str], vectors: np.ndarray, results: list[dict[str, float]]) -> dict[str, Any]:
    """{figure: {central, p05, p95, driver, sensitivity}} over the draws."""
    keys = [k for k in results[0] if all(k in r for r in results)]
    out = {}
    for key in keys:
        values = np.array([r[key] for r in results], dtype=np.float64)
        if not np.all(np.isfinite(values)):
            continue
        sensitivity = {}
        for k, name in enumerate(names):
            column = vectors[:, k]
            if np.ptp(column) > 0 and np.ptp(values) > 0:
                rho = float(stats.spearmanr(column, values).statistic)
                if np.isfinite(rho):
                    sensitivity[name] = round(rho, 3)
        driver = _driver(sensitivity)
        out[key] = {"central": float(np.median(values)), "p05": float(np.quantile(values, 0.05)),
                    "p95": float(np.quantile(values, 0.95)), "driver": driver,
                    "sensitivity": sensitivity}
    return out


def posterior_file(scenario: Scenario, given: str | Path | None) -> str | Path:
    """The behaviour file whose posterior --ranges draws from (checked before any run)."""
    path = given or scenario.behaviour_file
    if path is None:
        raise FitError("--ranges needs a fitted posterior: --posterior FILE, or a scenario with "
                       "behaviour_file")
    load_posterior(path)
    return path


def ranges_record(scenario: Scenario, posterior_path: str | Path | None, count: int,
                  teachers: int | None, seed: int, max_simulated: int | None,
                  scheduler: str | None = None, on_draw: Callable[[int, int], None] | None = None) -> Any:
    """The summary's ``ranges`` section (records.model.Ranges) for ``count`` draws."""
    from records.model import Range, Ranges

    path = posterior_file(scenario, posterior_path)
    posterior = load_posterior(path)
    vectors, seeds, results = run_draws(scenario, posterior, count, teachers, seed, max_simulated,
                                        scheduler=scheduler, on_draw=on_draw)
    table = summarise(posterior.names, vectors, results)
    return Ranges(draws=count, posterior=str(path), parameters=posterior.names, seeds=seeds,
                  figures={k: Range(**v) for k, v in table.items()})


MAIN_FIGURES = ("peak(sessions)", "peak(viewers)", "peak(rps.total)", "peak(rps.heartbeat)",
                "peak(egress_gbps)")


def lines(ranges: Any) -> list[str]:
    """The CLI's lines: every peak and capacity need as central [90% interval], driver."""
    keys = [k for k in MAIN_FIGURES if k in ranges.figures]
    keys += sorted(k for k in ranges.figures if k.startswith("capacity("))
    out = [f"  ranges over {ranges.draws} posterior draws (median [90% interval], main driver):"]
    for key in keys:
        r = ranges.figures[key]
        out.append(f"    {key}: {r.central:,.4g} [{r.p05:,.4g}, {r.p95:,.4g}]"
                   f"{'  driver ' + r.driver if r.driver else ''}")
    return out
