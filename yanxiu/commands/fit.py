"""``yanxiu fit SCENARIO --targets FILE``: estimate the free behaviour parameters from public
figures (ABC-PMC on reduced-population national runs) and write a behaviour file with the
parameters, their posterior sample and provenance (docs/fit.md)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from yanxiu.commands.run import _positive, _seed
from yanxiu.progress import Progress


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
    parser.add_argument("--cross-validate", nargs=2, metavar=("SCENARIO", "TARGETS"),
                        help="cross-validation both ways with this other campaign: fit this scenario "
                             "and predict the other's targets, then fit the other and predict this "
                             "one's; writes --out (a folder, default results/cross-validation) with "
                             "cross-validation.json and both behaviour files")


def run(args: argparse.Namespace) -> int:
    from domain.scenario import load_scenario
    from domain.targets import TargetsError, load_targets
    from fit import params
    from fit.crossval import predict
    from fit.errors import FitError, NotConverged
    from fit.fitting import FitOptions, fit, write
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
        if args.cross_validate:
            return _cross_validate(args, scenario, targets, options)
        with Progress("yanxiu fit") as progress:
            progress.stage(f"fitting {scenario.name} by ABC-PMC, a budget of", total=options.budget,
                           unit="simulation", quiet=True)
            document = fit(scenario, targets, options, progress.note, progress.callback())
    except NotConverged as exc:
        print(f"yanxiu fit: {exc}", file=sys.stderr)
        return 1
    except (TargetsError, FitError) as exc:
        raise CommandError(str(exc)) from None
    write(document, out, "yanxiu fit " + shlex.join(sys.argv[2:] if len(sys.argv) > 2 else []))
    _summary(document, out)
    return 0


def _cross_validate(args: argparse.Namespace, scenario, targets, options) -> int:
    """Both directions; the record and the behaviour files go into the --out folder."""
    from domain.scenario import load_scenario
    from domain.targets import load_targets
    from fit.crossval import Campaign, cross_validate

    other_scenario, other_targets = args.cross_validate
    a = Campaign(scenario, targets, str(args.scenario), str(args.targets))
    b = Campaign(load_scenario(other_scenario), load_targets(other_targets), other_scenario, other_targets)
    folder = args.out or Path("results") / "cross-validation"
    with Progress("yanxiu fit") as progress:
        def stage(name: str) -> None:
            progress.stage(f"{name}, a budget of", total=options.budget, unit="simulation")

        record = cross_validate(a, b, options, folder, progress.note, progress.callback(), stage)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cross-validation.json"
    path.write_text(record.to_text(), encoding="utf-8")
    _cross_table(record)
    print(f"cross-validation record: {path}")
    return 0 if all(d.converged for d in record.directions) else 1


KEY_METRICS = ("participants", "peak_day_ratio")


def _cross_table(record) -> None:
    for d in record.directions:
        if not d.converged:
            print(f"fitted on {d.fitted_on}: {d.message}")
            continue
        print(f"fitted on {d.fitted_on} ({d.simulations} simulations, {d.wall_s:.0f} s), "
              f"predicting {d.predicted}:")
        for where, rows in (("in sample", d.in_sample), ("predicted", d.out_of_sample)):
            for r in rows:
                if r.metric in KEY_METRICS:
                    error = f"{r.error:+.1%}" if r.error is not None else "-"
                    print(f"  {where:<9} {r.name}: figure {r.figure:,.4g}, model {r.model:,.4g} ({error}) "
                          f"-> {'agrees' if r.agrees else 'MISSES'}")


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
