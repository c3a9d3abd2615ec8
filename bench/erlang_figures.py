"""Print the Erlang C reproduction figures: each tests/scenarios/erlang-*.yaml run in workload
mode (request-level SimPy, replications, control variates) beside the exact M/M/c values.

    .venv/bin/python bench/erlang_figures.py [--scale 1.0]

``--scale`` multiplies each file's measured duration (the tests run the 95% file at 0.25).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.scenario import load_scenario  # noqa: E402
from sim.tiers import queueing as q  # noqa: E402
from sim.tiers.experiments import run_workload  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    print(f"{'scenario':20} {'c':>3} {'rho':>5} {'requests':>10} {'metric':12} {'exact':>9} "
          f"{'measured':>9} {'95% CI':>21} {'rel.err':>8} {'in CI':>5} {'secs':>6}")
    for path in sorted((ROOT / "tests" / "scenarios").glob("erlang-*.yaml")):
        scenario = load_scenario(path)
        w = scenario.workload
        scenario = scenario.model_copy(update={"workload": w.model_copy(
            update={"duration_s": w.duration_s * args.scale})})
        c = scenario.platform.tiers[0].servers
        s = scenario.platform.endpoints[0].demand_ms["server"] / 1000
        exact = {"utilisation": w.rate_per_s * s / c,
                 "mean_wait_s": float(q.mean_wait(w.rate_per_s, s, c)),
                 "p95_s": float(q.response_percentile(0.95, w.rate_per_s, s, c))}
        start = time.perf_counter()
        result = run_workload(scenario)
        secs = time.perf_counter() - start
        count = sum(run["server"].requests for run in result.runs)
        for metric, value in exact.items():
            est = result.measured["server"][metric]
            print(f"{path.stem:20} {c:3d} {w.rate_per_s * s / c:5.2f} {count:10,d} {metric:12} "
                  f"{value:9.5f} {est.mean:9.5f} [{est.lo:9.5f},{est.hi:9.5f}] "
                  f"{est.mean / value - 1:+8.2%} {str(est.covers(value)):>5} {secs:6.1f}")


if __name__ == "__main__":
    main()
