"""The ``yanxiu`` command line: a thin dispatcher.

Each subcommand lives in ``yanxiu.commands.<name>`` with ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when needed so that, e.g., Locust's
monkey-patching never happens unless a load test is asked for.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from yanxiu import __version__

COMMANDS: dict[str, str] = {
    "validate": "check a scenario file and summarise the campaign",
    "run": "simulate a campaign and size the platform",
    "serve": "start the reference platform server",
    "seed": "fill the reference platform with provinces, schools and teachers",
    "certificates": "issue certificates on the reference platform after the window",
    "loadtest": "replay a stretch of the simulated campaign against a live system",
    "calibrate": "measure the platform's service demands and knee, write a platform file",
    "report": "write an HTML report of a results folder",
    "compare": "put model runs side by side (what-ifs): figures, capacity, service levels, load curves",
    "check": "evaluate a results folder against the scenario's thresholds",
    "compile": "compile the model's hot modules with mypyc (optional, faster runs)",
    "fit": "fit the teachers' behaviour to public figures (targets file)",
}

EXIT_BAD_INPUT = 2


def _available() -> dict[str, ModuleType]:
    modules: dict[str, ModuleType] = {}
    for name in COMMANDS:
        try:
            modules[name] = importlib.import_module(f"yanxiu.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"yanxiu.commands.{name}":
                raise
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yanxiu", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"yanxiu {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in _available().items():
        command = sub.add_parser(name, help=COMMANDS[name], description=COMMANDS[name])
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from yanxiu.errors import input_errors

    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except input_errors() as exc:
        print(f"yanxiu {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"yanxiu {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
