"""``yanxiu report RESULTS_DIR``: one self-contained report.html (charts embedded) with the
PNGs beside it, for a model run or a load-test run (docs/report-gate.md)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS_DIR", help="a results folder (model or load test)")
    parser.add_argument("--lang", choices=("en", "zh"), default="en", help="report language (default en)")
    parser.add_argument("--out", metavar="FILE",
                        help="where to write the page (default RESULTS_DIR/report/report.html, or "
                             "report.zh.html for --lang zh)")


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from report.build import build_report
    from yanxiu.progress import Progress

    with Progress("yanxiu report") as progress:
        progress.stage("drawing charts", unit="chart", quiet=True)
        path = build_report(args.results, args.lang, args.out, on_chart=progress.callback())
    print(f"report written: {path}")
    return 0
