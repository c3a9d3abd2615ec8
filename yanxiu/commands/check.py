"""``yanxiu check RESULTS_DIR``: the regression gate for CI.

Evaluates the scenario's ``thresholds:`` on ``summary.json["metrics"]`` and, with
``--baseline``, compares every metric present in both folders. Exit 0 when all hold, 1 on
any breach or regression, 2 on bad input. The language is in docs/report-gate.md.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS_DIR", help="a results folder (model or load test)")
    parser.add_argument("--scenario", metavar="FILE",
                        help="scenario whose thresholds to apply (default: the one summary.json names)")
    parser.add_argument("--baseline", metavar="OTHER_DIR", help="results folder to compare against")
    parser.add_argument("--max-regression", metavar="PCT", default="10%",
                        help="how much worse than the baseline a metric may get (default 10%%)")
    parser.add_argument("--junit", metavar="FILE", help="also write JUnit XML here")
    parser.add_argument("--allow-missing", action="store_true",
                        help="skip thresholds on metrics these results do not have (e.g. model-only "
                             "metrics when checking a load test) instead of failing with exit 2")


def run(args: argparse.Namespace) -> int:
    from domain.scenario import load_scenario
    from gate import junit
    from gate.evaluate import GateError, compare, evaluate, parse_all, parse_fraction
    from gate.results import load_summary, scenario_path
    from yanxiu.errors import CommandError

    try:
        limit = parse_fraction(args.max_regression)
        summary = load_summary(args.results)
        scenario = load_scenario(scenario_path(summary, args.results, args.scenario))
        outcomes = evaluate(parse_all(scenario.thresholds), summary["metrics"], args.allow_missing)
        regressions = []
        if args.baseline:
            regressions = compare(summary["metrics"], load_summary(args.baseline)["metrics"], limit)
    except GateError as exc:
        raise CommandError(str(exc)) from None
    print(render(outcomes, regressions, limit, scenario.name, args.results))
    if args.junit:
        junit.write(args.junit, junit.build(outcomes, regressions, args.results,
                                            limit if args.baseline else None))
    failed = any(not o.passed for o in outcomes) or any(r.regressed for r in regressions)
    return 1 if failed else 0


def render(outcomes: list, regressions: list, limit: float, scenario: str, results: str) -> str:
    from domain.thresholds import format_value

    lines = [f"thresholds of scenario {scenario} on {results}:"]
    if not outcomes:
        lines.append("  (the scenario has no thresholds)")
    width = max((len(o.threshold.text) for o in outcomes), default=10)
    for o in outcomes:
        if o.skipped:
            missing = f"no metric {o.threshold.metric} in these results"
            lines.append(f"  skip  {o.threshold.text:<{width}}  {missing}")
            continue
        verdict = "pass" if o.passed else "FAIL"
        actual = format_value(o.actual, o.threshold.unit)
        lines.append(f"  {verdict:<4}  {o.threshold.text:<{width}}  actual {actual}")
    if regressions:
        lines.append(f"regressions against the baseline (limit {limit:.1%} worse):")
        width = max(len(r.metric) for r in regressions)
        for r in regressions:
            verdict = "FAIL" if r.regressed else "pass"
            lines.append(f"  {verdict:<4}  {r.metric:<{width}}  baseline {r.baseline:<12.6g} "
                         f"now {r.current:<12.6g} worse by {r.change:+.1%}")
    breaches = sum(not o.passed for o in outcomes) + sum(r.regressed for r in regressions)
    skipped = sum(o.skipped for o in outcomes)
    checks = len(outcomes) + len(regressions) - skipped
    lines.append(f"{checks - breaches} of {checks} checks pass" + (f", {skipped} skipped" if skipped else "")
                 + ("" if not breaches else "; GATE FAILS"))
    return "\n".join(lines)
