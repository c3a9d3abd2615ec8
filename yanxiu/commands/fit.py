"""``yanxiu fit SCENARIO --targets FILE``: estimate the free behaviour parameters from public
figures (ABC-PMC on reduced-population national runs) and write a behaviour file with the
parameters, their posterior sample and provenance (docs/fit.md)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from yanxiu.commands.run import _positive, _seed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--targets", required=True, type=Path, help="targets YAML file")
    parser.add_argument("--out", type=Path,
                        help="behaviour file to write (default scenarios/fitted/<scenario>.behaviour.yaml)")
    parser.add_argument("--params", help="comma-separated parameters to fit (default: all)")
    parser.add_argument("--particles", type=_positive, default=8, help="posterior sample size (default 8)")
    parser.add_argument("--budget", type=_positive, default=40, help="full simulations at most (default 40)")
    parser.add_argument("--generations", type=_positive, default=3,
                        help="ABC generations at most (default 3)")
    parser.add_argument("--max-simulated", type=_positive, default=600,
                        help="teachers simulated per run (national weights; default 600)")
    parser.add_argument("--seed", type=_seed, default=13, help="the fit's random seed")
    parser.add_argument("--workers", type=_positive, help="processes (default: the cores)")
    parser.add_argument("--scheduler", metavar="ADDR", help="run on this Dask scheduler")
    parser.add_argument("--predict", action="store_true",
                        help="fit nothing: run the scenario's fitted behaviour against these targets "
                             "(cross-validation on another campaign) and print each error")


def run(args: argparse.Namespace) -> int:
    from domain.scenario import load_scenario
    from domain.targets import TargetsError, load_targets
    from fit import params
    from fit.errors import FitError, NotConverged
    from fit.fitting import FitOptions, fit, predict, write
    from yanxiu.errors import CommandError

    scenario = load_scenario(args.scenario)
    names = tuple(n.strip() for n in args.params.split(",")) if args.params else \
        tuple(p.name for p in params.PARAMETERS)
    options = FitOptions(names, args.particles, args.budget, args.generations, args.max_simulated,
                         args.seed, args.workers, args.scheduler)
    out = args.out or Path("scenarios") / "fitted" / f"{scenario.name}.behaviour.yaml"
    try:
        targets = load_targets(args.targets)
        if args.predict:
            _predictions(predict(scenario, targets, args.max_simulated, args.seed), scenario.name)
            return 0
        document = fit(scenario, targets, options, lambda line: print(line, file=sys.stderr))
    except NotConverged as exc:
        print(f"yanxiu fit: {exc}", file=sys.stderr)
        return 1
    except (TargetsError, FitError) as exc:
        raise CommandError(str(exc)) from None
    write(document, out, "yanxiu fit " + shlex.join(sys.argv[2:] if len(sys.argv) > 2 else []))
    _summary(document, out)
    return 0


def _predictions(rows: list[dict], name: str) -> None:
    print(f"{name} with its fitted behaviour, against its targets:")
    for row in rows:
        error = f"{row['error']:+.1%}" if row["error"] is not None else "-"
        print(f"  {row['name']}: figure {row['figure']:,.4g} ({row['relation']}), model {row['model']:,.4g} "
              f"({error}) -> {'agrees' if row['agrees'] else 'MISSES'}")


def _summary(document: dict, out: Path) -> None:
    prov = document["provenance"]
    print(f"fitted {len(document['posterior']['names'])} parameters from {prov['simulations']} "
          f"simulations ({prov['screened_without_simulating']} screened) in {prov['wall_s']:.0f} s")
    for row in document["fit"]["targets"]:
        model = row["model_central"]
        print(f"  {row['name']}: figure {row['figure']:,.4g} ({row['relation']}), model "
              f"{model:,.4g} -> {'agrees' if row['agrees'] else 'MISSES'}")
    for row in document["posterior"]["parameters"]:
        lo, hi = row["interval90"]
        print(f"  {row['name']} = {row['central']:.4g} (90%: {lo:.4g} .. {hi:.4g})")
    print(f"behaviour file: {out}")
