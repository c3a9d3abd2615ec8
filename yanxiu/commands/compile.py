"""``yanxiu compile``: build the compiled copies of the model's hot modules (``sim.native``).

Optional: without them the model runs as plain Python, slower. ``make run`` and ``make test``
call it; it exits 1 with one line when mypyc or a C compiler is missing.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="only say whether a current build is in use (exit 1 when not)")


def run(args: argparse.Namespace) -> int:
    from sim import native

    if args.check:
        current = native.usable_build() is not None
        print(f"compiled modules: {'current' if current else 'missing or stale'} ({native.native_dir()})")
        return 0 if current else 1
    try:
        where = native.build()
    except (RuntimeError, OSError) as exc:
        print(f"yanxiu compile: compiled modules not built ({exc}); the model runs as plain Python",
              file=sys.stderr)
        return 1
    print(f"yanxiu compile: {', '.join(native.HOT)} compiled into {where}")
    return 0
