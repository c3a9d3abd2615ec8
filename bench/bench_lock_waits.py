"""SQLite's write lock, measured and predicted, per validation level (issue 12): the server's wait of a
group commit's job (``yanxiu_commit_wait_seconds`` in the level's ``metrics-end.txt``) beside the model's
wait of a write, and the endpoints' mean/p95 errors at the achieved load, with the platform as given
("after") and without the lock's spreads and retries ("before": no ``route_holds.hold_scv`` /
``retry_ms``, the writer exponential). Offline, no load: the levels as ``bench_calibrate.py`` wrote them.

    .venv/bin/python bench/bench_lock_waits.py --platform CAL/platform.yaml LEVEL_DIR [LEVEL_DIR ...]
        [--reread OUT/platform.yaml]

``--reread OUT``: first re-read the lock's spreads and retries from the calibration's rows (the
platform's ``.json``) as ``calibrate`` reads them now (``calibrate.writer``, over the steps below half
the knee: ``calibrate.spread.below_knee``), write that platform to OUT (its ``.json`` beside it), and
compare with it. Per level it also prints the time outside the app (Locust's mean less the server's
timer) against the loops' lag (``yanxiu_loop_lag_seconds``) and the model's wait for its loop.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
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
from sim.tiers import workers, write_lock  # noqa: E402
from sim.tiers.replay import HostShare, predict  # noqa: E402

ENDPOINTS = ("heartbeat", "login", "campaign_page", "test_submit")
_WAIT = re.compile(r'^yanxiu_commit_wait_seconds_(sum|count)\{[^}]*\}\s+(\S+)', re.M)
_LAG = re.compile(r'^yanxiu_loop_lag_seconds_(sum|count)(?:\{[^}]*\})?\s+(\S+)', re.M)


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


def server_wait_ms(folder: Path, pattern: re.Pattern[str] = _WAIT) -> float:
    """The server's mean wait of a group commit's job until its batch began, over the level (with
    ``_LAG``: how late the loops' periodic timer ran, the loop's lag)."""
    totals = {"sum": 0.0, "count": 0.0}
    for part, value in pattern.findall((folder / "metrics-end.txt").read_text()):
        totals[part] += float(value)
    return 1000.0 * totals["sum"] / totals["count"] if totals["count"] else float("nan")


@dataclass(frozen=True)
class Predicted:
    """Over the seeds' predictions at a level's achieved load: per endpoint (mean, p95) ms, the model's
    mean wait of a write for the lock, of an async request for its loop (its one pass), and the tiers'
    utilisation."""

    endpoints: dict[str, np.ndarray]
    wait_ms: float
    utilisation: dict[str, float]
    loop_wait_ms: float = float("nan")


def _host(folder: Path) -> HostShare | None:
    level = json.loads((folder / "level.json").read_text())
    row = _find(level, "at_achieved").get("host")
    return (HostShare(row["tier"], float(row["cores"]), np.array(row["background_cores"]), tuple(row["runs"]))
            if row else None)


def predicted(scenario: Scenario, folder: Path, seeds: int) -> Predicted:
    """``Predicted`` over ``seeds`` predictions at the level's achieved load."""
    summary = read_summary(folder, LoadtestSummary)
    names = [e.name for e in scenario.platform.endpoints]
    rates = achieved_rates(folder, names, float(summary.duration_s), float(summary.set_up_s),
                           summary.session_bins)
    if rates is None:
        raise SystemExit(f"{folder}: no achieved rates (stats_history.csv)")
    served: list[Any] = []
    on_loops: list[float] = []
    lock, loops = write_lock.serve_lock, workers.serve_workers

    def lock_spy(*args: Any, **kwargs: Any) -> write_lock.LockServed:
        out = lock(*args, **kwargs)
        served.append((np.asarray(args[0]), np.asarray(args[1]), out))
        return out

    def loop_spy(arrivals: np.ndarray, work: workers.Work, *args: Any, **kwargs: Any) -> workers.Served:
        out = loops(arrivals, work, *args, **kwargs)
        on_loops.append(1000.0 * float((out.loop_begin - arrivals)[~work.sync].mean()))
        return out

    figures: dict[str, list[tuple[float, float]]] = {}
    busy: dict[str, list[float]] = {}
    waits = []
    write_lock.serve_lock, workers.serve_workers = lock_spy, loop_spy  # type: ignore[assignment]
    try:
        for seed in range(seeds):
            served.clear()
            timeout = float(scenario.behaviour.overload.abandon_after_s)
            result = predict(scenario, rates, BIN_S, np.random.default_rng(seed), timeout, _host(folder))
            for name, e in result.endpoints.items():
                figures.setdefault(name, []).append((e.mean_ms, e.p95_ms))
            for tier, u in result.utilisation.items():
                busy.setdefault(tier, []).append(u)
            if served:
                at, length, out = served[-1]
                waits.append(1000.0 * float((out.write_leave - at - length).mean()))
    finally:
        write_lock.serve_lock, workers.serve_workers = lock, loops  # type: ignore[assignment]
    wait = float(np.mean(waits)) if waits else float("nan")
    return Predicted({n: np.mean(v, axis=0) for n, v in figures.items()}, wait,
                     {t: float(np.mean(v)) for t, v in busy.items()},
                     float(np.mean(on_loops)) if on_loops else float("nan"))


def reread(platform: Path, out: Path) -> None:
    """``platform`` with its writer tier's lock spreads and retries read again from its calibration's
    rows (its ``.json``: the stable steps', the knee) by ``calibrate.writer`` as it is now, written to
    ``out`` with the provenance beside it (``extends`` made absolute)."""
    import yaml

    from calibrate import fit as fitting
    from calibrate import spread, writer

    calibration = json.loads(platform.with_suffix(".json").read_text())
    names = [s["name"] for s in calibration["step_results"]]
    left = set(calibration.get("left_out_of_fit", []))
    rows = [fitting.Row(**r) for r in calibration["rows"] if r["step"] < 0 or names[r["step"]] not in left]
    below = spread.below_knee(rows, (calibration.get("knee") or {}).get("rate_rps"))
    holds, service = writer.route_holds(rows, below), writer.commit_service(below)
    endpoints = {e.name for e in load_scenario(platform).platform.endpoints}
    lines = []
    for line in platform.read_text().splitlines():
        if line.startswith("extends: ") and not Path(line[9:]).is_absolute():
            line = f"extends: {(platform.parent / line[9:]).resolve()}"
        elif line.lstrip().startswith("- {") and "route_holds" in line:
            body, comment = (re.split(r"(?<=\})\s+#", line, maxsplit=1) + [""])[:2]
            tier = yaml.safe_load(body.strip())[0]
            tier["route_holds"] = writer.for_endpoints(holds, endpoints)
            tier["service"] = (service or "exponential") if writer.WRITE_SPREADS else "exponential"
            indent = line[:len(line) - len(line.lstrip())]
            why = f"the lock's spreads re-read (bench_lock_waits); {comment.strip()}"
            line = f"{indent}- {json.dumps(tier)}   # {why}"
        lines.append(line)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    calibration["writer"] = (calibration.get("writer") or {}) | {"route_holds": holds, "service": service}
    out.with_suffix(".json").write_text(json.dumps(calibration))


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
    parser.add_argument("--reread", type=Path, help="re-read the lock's spreads into this file first")
    parser.add_argument("levels", type=Path, nargs="+")
    args = parser.parse_args()
    try:
        if args.reread is not None:
            reread(args.platform, args.reread)
        after = load_scenario(args.reread or args.platform)
    except (ScenarioError, OSError, KeyError, ValueError) as exc:
        print(f"bench_lock_waits: --platform {args.platform}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    needed = ("summary.json", "metrics-end.txt")
    absent = [f for f in args.levels for name in needed if not (f / name).is_file()]
    if absent:
        print(f"bench_lock_waits: {absent[0]}: not a bench_calibrate level folder (summary.json, "
              "metrics-end.txt)", file=sys.stderr)
        return 2
    before = without_spreads(after)
    for folder in args.levels:
        _level(folder, predicted(before, folder, args.seeds), predicted(after, folder, args.seeds))
    return 0


def _level(folder: Path, before: Predicted, after: Predicted) -> None:
    summary = read_summary(folder, LoadtestSummary)
    means = measured_means(folder)
    in_app = parse_metrics((folder / "metrics-end.txt").read_text()).in_app
    print(f"\n{folder}: the lock's wait a heartbeat job: server {server_wait_ms(folder):.2f} ms, "
          f"model {before.wait_ms:.2f} -> {after.wait_ms:.2f} ms (before -> after); the loops' lag "
          f"{server_wait_ms(folder, _LAG):.2f} ms, the model's wait for its loop {after.loop_wait_ms:.2f}")
    for name in ENDPOINTS:
        measured = summary.endpoints.get(name)
        if measured is None or measured.p95_ms is None or name not in before.endpoints or name not in means:
            continue
        (mb, pb), (ma, pa) = before.endpoints[name], after.endpoints[name]
        seconds, count = in_app.get(name, (0.0, 0.0))
        app = f"{1000.0 * seconds / count:5.1f}" if count else "  -  "
        print(f"  {name:14s} n={measured.requests:6d} mean {means[name]:6.1f} (in app {app}): "
              f"{_error(mb, means[name])} -> {_error(ma, means[name])}   "
              f"p95 {measured.p95_ms:6.1f}: {_error(pb, measured.p95_ms)} -> {_error(pa, measured.p95_ms)}")
    tiers = _find(json.loads((folder / "level.json").read_text()), "at_achieved").get("tiers", {})
    for tier, figures in tiers.items():
        if figures.get("measured") is not None and tier in after.utilisation:
            print(f"  {tier:14s} utilisation measured {figures['measured']:.3f}: "
                  f"{100 * (before.utilisation[tier] - figures['measured']):+5.1f} -> "
                  f"{100 * (after.utilisation[tier] - figures['measured']):+5.1f} pp")


if __name__ == "__main__":
    sys.exit(main())
