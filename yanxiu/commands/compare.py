"""``yanxiu compare A B [C...]``: model runs side by side for what-if work (docs/report-gate.md).

The first folder is the reference. Writes one self-contained page (tables of headline figures,
capacity needs and service levels with their differences, overlaid load curves); refuses runs
of different kinds or windows with one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS_DIR", nargs="+",
                        help="two or more model results folders; the first is the reference")
    parser.add_argument("--lang", choices=("en", "zh"), default="en", help="page language (default en)")
    parser.add_argument("--out", metavar="FILE",
                        help="where to write the page (default: results/compare/<A>-vs-<B>.html beside "
                             "the first folder)")


def default_out(folders: list[str], lang: str) -> Path:
    first = Path(folders[0])
    name = "-vs-".join(Path(f).name for f in folders)
    return first.parent / "compare" / (f"{name}.html" if lang == "en" else f"{name}.{lang}.html")


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from report.compare import CompareError, build_compare
    from yanxiu.errors import CommandError

    if len(args.results) < 2:
        raise CommandError("give at least two results folders (the first is the reference)")
    try:
        path = build_compare(args.results, args.out or default_out(args.results, args.lang), args.lang)
    except CompareError as exc:
        raise CommandError(str(exc)) from None
    print(f"comparison written: {path}")
    return 0
