"""The workers' garbage-collection pauses of bench levels, beside their stalls (issue 12).

    .venv/bin/python bench/gc_pauses.py LEVEL_FOLDER [LEVEL_FOLDER ...] [--workers 2] [--api-servers 2]

A level folder is one of ``bench/bench_calibrate.py``'s (``validate-85pct``: ``summary.json``,
``level.json``, ``metrics-end.txt``, ``stats_history.csv``). Printed per folder: the server's
collections by generation from ``yanxiu_gc_pause_seconds`` (reference.gc_policy; a server
without the timer: "not timed"), per worker (the sums over ``--workers``) with the mean and
the longest pause, and the share of a worker's time over the replay (``duration_s``; the
collections at start-up are counted in: a frozen worker's own full collection, 50-60 ms);
Locust's 10-s windows over the whole replay (the worst p95 and the median window's) and the
busiest 40 s's verdicts (``level.json``, measured and predicted); the heartbeat's mean and p95
and the p95/mean ratio; and the api's CPU per request (its measured utilisation x ``--api-servers`` x the
replay's seconds / its requests). Reads the records through their loaders; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("levels", type=Path, nargs="+")
    parser.add_argument("--workers", type=int, default=2, help="the server's worker processes")
    parser.add_argument("--api-servers", type=int, default=2, help="the api tier's servers (cores)")
    return parser.parse_args()


def _gc_lines(folder: Path, workers: int, seconds: float) -> list[str]:
    from calibrate.probes import parse_metrics

    path = folder / "metrics-end.txt"
    if not path.is_file():
        return ["  gc: no metrics-end.txt"]
    text = path.read_text()
    pauses = parse_metrics(text).gc_pause
    if not pauses:
        return ["  gc: not timed (a server without yanxiu_gc_pause_seconds)"]
    longest = _longest(text)
    lines = []
    for generation in sorted(pauses):
        total_s, count = pauses[generation]
        mean_ms = 1000 * total_s / count if count else 0.0
        every = f", every {seconds * workers / count:.2f} s" if count else ""
        lines.append(f"  gc gen {generation}: {count / workers:,.0f} a worker{every}, mean {mean_ms:.2f} ms, "
                     f"longest {1000 * longest.get(generation, 0.0):.1f} ms, "
                     f"{100 * total_s / workers / seconds:.2f}% of a worker's time")
    return lines


def _longest(text: str) -> dict[str, float]:
    """yanxiu_gc_pause_max_seconds by generation (the longest in any worker)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith('yanxiu_gc_pause_max_seconds{generation="'):
            generation = line.split('"')[1]
            out[generation] = max(out.get(generation, 0.0), float(line.rsplit(" ", 1)[1]))
    return out


def _level(folder: Path, workers: int, api_servers: int) -> None:
    from calibrate.level_records import LEVEL, LevelResult, read
    from calibrate.steps import history_windows
    from records import read_summary
    from records.loadtest import LoadtestSummary

    summary = read_summary(folder, LoadtestSummary)
    seconds = float(summary.duration_s)
    print(f"{folder}: {summary.total.requests:,} requests in {seconds:.0f} s, "
          f"p95 {summary.total.p95_ms} ms, errors {100 * summary.total.error_rate:.2f}%")
    for line in _gc_lines(folder, workers, seconds):
        print(line)
    windows, _ = history_windows(folder / "stats_history.csv")
    p95s = [w.p95_ms for w in windows if w.p95_ms is not None]
    if p95s:
        print(f"  10-s windows ({len(p95s)}): worst p95 {max(p95s):.0f} ms, "
              f"median {statistics.median(p95s):.0f} ms, above 300 ms: {sum(p > 300 for p in p95s)}")
    level = read(folder / LEVEL, LevelResult) if (folder / LEVEL).is_file() else None
    if level is not None and level.overload is not None:
        print(f"  busiest 40 s, measured: {level.overload.measured_why}")
        print(f"  busiest 40 s, predicted: {level.overload.predicted_why}")
    comparison = level.comparison if level else None
    if comparison is None:
        return
    heartbeat = comparison.endpoints.get("heartbeat", {})
    mean, p95 = heartbeat.get("mean_ms"), heartbeat.get("p95_ms")
    if mean and p95 and mean.measured and p95.measured:
        print(f"  heartbeat: mean {mean.measured:.1f} ms, p95 {p95.measured:.0f} ms, "
              f"p95/mean {p95.measured / mean.measured:.2f} (predicted {p95.predicted:.0f} / "
              f"{mean.predicted:.1f} ms)")
    api = comparison.tiers.get("api")
    if api is not None and api.measured is not None and summary.total.requests:
        cpu_ms = 1000 * api.measured * api_servers * seconds / summary.total.requests
        print(f"  api: utilisation {100 * api.measured:.1f}% of {api_servers}, {cpu_ms:.2f} ms CPU a request")


def main() -> int:
    args = _arguments()
    for folder in args.levels:
        _level(folder, args.workers, args.api_servers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
