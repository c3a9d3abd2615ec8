"""SQLite's write lock, measured and predicted, per validation level (issue 12): the server's wait of a
group commit's job (``yanxiu_commit_wait_seconds`` in the level's ``metrics-end.txt``) beside the model's
wait of a write, and the endpoints' mean/p95 errors at the achieved load, with the platform as given
("after") and without the lock's spreads and retries ("before": no ``route_holds.hold_scv`` /
``retry_ms``, the writer exponential). Offline, no load: the levels as ``bench_calibrate.py`` wrote them.

    .venv/bin/python bench/bench_lock_waits.py --platform CAL/platform.yaml LEVEL_DIR [LEVEL_DIR ...]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from calibrate.compare import achieved_rates, measured_means  # noqa: E402
from calibrate.probes import parse_metrics  # noqa: E402
from domain.fields import ScenarioError  # noqa: E402
from domain.scenario import Scenario, load_scenario  # noqa: E402
from loadtests.noise import BIN_S  # noqa: E402
from records import read_summary  # noqa: E402
from records.loadtest import LoadtestSummary  # noqa: E402
from sim.tiers import write_lock  # noqa: E402
from sim.tiers.replay import HostShare, predict  # noqa: E402

ENDPOINTS = ("heartbeat", "login", "campaign_page", "test_submit")
_WAIT = re.compile(r'^yanxiu_commit_wait_seconds_(sum|count)\{[^}]*\}\s+(\S+)', re.M)


def without_spreads(scenario: Scenario) -> Scenario:
    """The platform as the model was before the lock's spreads and retries."""
    tiers = []
    for tier in scenario.platform.tiers:
        holds = getattr(tier, "route_holds", None)
        if holds is not None:
            holds = holds.model_copy(update={"hold_scv": {}, "retry_ms": 0.0, "retry_min_ms": 0.0})
            tier = tier.model_copy(update={"route_holds": holds, "service": "exponential"})
        tiers.append(tier)
    return scenario.model_copy(update={"platform": scenario.platform.model_copy(update={"tiers": tiers})})


def server_wait_ms(folder: Path) -> float:
    """The server's mean wait of a group commit's job until its batch began, over the level."""
    totals = {"sum": 0.0, "count": 0.0}
    for part, value in _WAIT.findall((folder / "metrics-end.txt").read_text()):
        totals[part] += float(value)
    return 1000.0 * totals["sum"] / totals["count"] if totals["count"] else float("nan")


def predicted(scenario: Scenario, folder: Path, seeds: int) -> tuple[dict[str, np.ndarray], float]:
    """Per endpoint (mean, p95) ms over ``seeds`` predictions at the level's achieved load, and the
    model's mean wait of a write for the lock."""
    summary = read_summary(folder, LoadtestSummary)
    level = json.loads((folder / "level.json").read_text())
    host_row = _find(level, "at_achieved").get("host")
    host = (HostShare(host_row["tier"], float(host_row["cores"]), np.array(host_row["background_cores"]),
                      tuple(host_row["runs"])) if host_row else None)
    names = [e.name for e in scenario.platform.endpoints]
    rates = achieved_rates(folder, names, float(summary.duration_s), float(summary.set_up_s),
                           summary.session_bins)
    if rates is None:
        raise SystemExit(f"{folder}: no achieved rates (stats_history.csv)")
    served: list[Any] = []
    original = write_lock.serve_lock

    def spy(*args: Any, **kwargs: Any) -> write_lock.LockServed:
        out = original(*args, **kwargs)
        served.append((np.asarray(args[0]), np.asarray(args[1]), out))
        return out

    figures: dict[str, list[tuple[float, float]]] = {}
    waits = []
    write_lock.serve_lock = spy  # type: ignore[assignment]
    try:
        for seed in range(seeds):
            served.clear()
            timeout = float(scenario.behaviour.overload.abandon_after_s)
            result = predict(scenario, rates, BIN_S, np.random.default_rng(seed), timeout, host)
            for name, e in result.endpoints.items():
                figures.setdefault(name, []).append((e.mean_ms, e.p95_ms))
            if served:
                at, length, out = served[-1]
                waits.append(1000.0 * float((out.write_leave - at - length).mean()))
    finally:
        write_lock.serve_lock = original  # type: ignore[assignment]
    wait = float(np.mean(waits)) if waits else float("nan")
    return {n: np.mean(v, axis=0) for n, v in figures.items()}, wait


def _find(data: Any, key: str) -> dict[str, Any]:
    if isinstance(data, dict):
        if key in data:
            return data[key]
        for value in data.values():
            found = _find(value, key)
            if found:
                return found
    return {}


def _error(predicted_ms: float, measured_ms: float) -> str:
    return f"{predicted_ms:6.1f} ({predicted_ms / measured_ms - 1:+6.1%})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", type=Path, required=True)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("levels", type=Path, nargs="+")
    args = parser.parse_args()
    try:
        after = load_scenario(args.platform)
    except ScenarioError as exc:
        print(f"bench_lock_waits: --platform {exc}", file=sys.stderr)
        return 2
    needed = ("summary.json", "metrics-end.txt")
    absent = [f for f in args.levels for name in needed if not (f / name).is_file()]
    if absent:
        print(f"bench_lock_waits: {absent[0]}: not a bench_calibrate level folder (summary.json, "
              "metrics-end.txt)", file=sys.stderr)
        return 2
    before = without_spreads(after)
    for folder in args.levels:
        summary = read_summary(folder, LoadtestSummary)
        means = measured_means(folder)
        in_app = parse_metrics((folder / "metrics-end.txt").read_text()).in_app
        (pb, wb), (pa, wa) = predicted(before, folder, args.seeds), predicted(after, folder, args.seeds)
        print(f"\n{folder}: the lock's wait a heartbeat job: server {server_wait_ms(folder):.2f} ms, "
              f"model {wb:.2f} -> {wa:.2f} ms (before -> after)")
        for name in ENDPOINTS:
            measured = summary.endpoints.get(name)
            if measured is None or measured.p95_ms is None or name not in pb or name not in means:
                continue
            seconds, count = in_app.get(name, (0.0, 0.0))
            app = f"{1000.0 * seconds / count:5.1f}" if count else "  -  "
            print(f"  {name:14s} n={measured.requests:6d} mean {means[name]:6.1f} (in app {app}): "
                  f"{_error(pb[name][0], means[name])} -> {_error(pa[name][0], means[name])}   "
                  f"p95 {measured.p95_ms:6.1f}: {_error(pb[name][1], measured.p95_ms)} -> "
                  f"{_error(pa[name][1], measured.p95_ms)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
