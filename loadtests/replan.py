"""Judge a finished load test's requests per endpoint against the model again: against the model run
it replayed, another one, or the mean of several runs of the same scenario at other seeds.

    python -m loadtests.replan RESULTS [--model DIR ...] [--scenario FILE]

A model run is one draw of its teachers; the replay is another. With several ``--model`` runs the
plan is their mean, the model's expectation to within ``1 / sqrt(K)`` of one run's spread, so the
plan factor of the sampling band (``loadtests.noise``) is divided by ``K``: what is left of a
difference is the replay's own sampling and whatever the replay does otherwise than the model.
(The replay still follows the run it replayed in what it copies from it: its arrivals per minute,
so its logins, page loads and enrolments, bin by bin, are that run's and not the mean's; the
sessions' sub-platforms and stages; the resumed sessions' phases. Judge those against the run
replayed; the mean is for what each session draws afresh: its plays, beats and tests.)

Works on any folder with a ``summary.json`` and ``stats_history.csv`` (``yanxiu loadtest``,
``bench/bench_calibrate.py``'s levels), without the lock: nothing is run but arithmetic.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from loadtests.requests import MIN_PER_BIN, requests_vs_plan
from records import LoadtestSummary
from records.loadtest import RequestsVsPlan


def mean_model(models: list[Path], into: Path) -> Path:
    """A model folder whose ``timeseries.csv`` holds the runs' mean ``rps.*`` per minute and whose
    ``summary.json`` weight is one run's over ``K`` (the mean's variance is 1/K of a run's)."""
    tables = [_rows(m / "timeseries.csv") for m in models]
    minutes = [r["minute"] for r in tables[0]]
    if any([r["minute"] for r in t] != minutes for t in tables[1:]):
        raise SystemExit("replan: the model runs' minutes differ (not the same scenario)")
    columns = [c for c in tables[0][0] if c.startswith("rps.")]
    mean = np.mean([[[float(r.get(c) or 0.0) for c in columns] for r in t] for t in tables], axis=0)
    with (into / "timeseries.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["minute", *columns])
        writer.writerows([m, *row] for m, row in zip(minutes, mean.tolist(), strict=True))
    weights = [json.loads((m / "summary.json").read_text(encoding="utf-8")).get("weight") for m in models]
    if all(isinstance(w, int | float) for w in weights):
        (into / "summary.json").write_text(json.dumps({"weight": float(np.mean(weights)) / len(models)}))
    return into / "timeseries.csv"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def judge(folder: Path, models: list[Path], endpoints: list[str]) -> dict[str, RequestsVsPlan]:
    from records import read_summary

    summary = read_summary(folder, LoadtestSummary)
    if len(models) == 1:
        return requests_vs_plan(summary, folder, endpoints, models[0] / "timeseries.csv")
    with tempfile.TemporaryDirectory() as tmp:
        return requests_vs_plan(summary, folder, endpoints, mean_model(models, Path(tmp)))


def lines(rows: dict[str, RequestsVsPlan]) -> list[str]:
    out = [f"{'endpoint':<15} {'planned':>8} {'in stretch':>10} {'ratio':>6} {'band':>6} {'z':>5}  "
           f"{'first bin':>13} {'band':>5}  {'max bin':>7} {'outside':>7}  on plan"]
    for name, row in rows.items():
        if row.planned < MIN_PER_BIN:
            continue
        first = next((k for k, p in enumerate(row.planned_per_bin) if p >= MIN_PER_BIN), None)
        bin0 = (f"{row.achieved_per_bin[first]:>5.0f} / {row.planned_per_bin[first]:>5.0f}"
                if first is not None else f"{'-':>13}")
        band = f"±{100 * float(row.stretch_band) / float(row.planned):.0f}%" if row.stretch_band else "-"
        out.append(f"{name:<15} {row.planned:>8.1f} {_num(row.in_stretch):>10} "
                   f"{_num(row.stretch_ratio, 2):>6} {band:>6} {_num(row.stretch_z, 1):>5}  "
                   f"{bin0} {_num(row.first_bin_band, 0):>5}  "
                   f"{_pct(row.max_bin_error):>7} {len(row.bins_outside_band):>3}/{row.bins_judged:<3}  "
                   f"{row.on_plan}")
    return out


def _num(value, digits: int = 1) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


def _pct(value) -> str:
    return "-" if value is None else f"{100 * float(value):.0f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.replan", description=__doc__.split("\n")[0])
    parser.add_argument("results", type=Path, help="a load test's results folder")
    parser.add_argument("--model", type=Path, action="append", default=[],
                        help="model results folder (repeat for the mean of several; default: the run's own)")
    parser.add_argument("--scenario", type=Path, help="scenario file (default: the run's)")
    args = parser.parse_args(argv)
    from domain.fields import ScenarioError
    from domain.scenario import load_scenario
    from records import read_summary
    from records.errors import RecordsError

    try:
        summary = read_summary(args.results, LoadtestSummary)
    except RecordsError as exc:
        print(f"replan: {exc}", file=sys.stderr)
        return 2
    models = args.model or ([Path(summary.model_results)] if summary.model_results else [])
    scenario = args.scenario or (Path(summary.scenario_path) if summary.scenario_path else None)
    if not models or scenario is None:
        print("replan: name --model and --scenario (the summary does not)", file=sys.stderr)
        return 2
    missing = [m for m in models if not (m / "timeseries.csv").is_file()]
    if missing:  # a model folder is read deep inside judge: refuse it here with its name
        print(f"replan: --model {missing[0]}: no timeseries.csv (not a model results folder)",
              file=sys.stderr)
        return 2
    try:
        endpoints = [e.name for e in load_scenario(scenario).platform.endpoints]
    except ScenarioError as exc:
        print(f"replan: --scenario {exc}", file=sys.stderr)
        return 2
    rows = judge(args.results, models, endpoints)
    print(f"{args.results}: scale {summary.scale}, compress {summary.compress}, plan the mean of "
          f"{len(models)} model run(s)")
    print("\n".join(lines(rows)))
    for name, row in rows.items():
        if row.judgement and row.planned >= MIN_PER_BIN:
            print(f"  {name}: {row.judgement}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
