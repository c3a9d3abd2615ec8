"""``yanxiu check RESULTS_DIR``: the regression gate for CI.

Evaluates the scenario's ``thresholds:`` on ``summary.json["metrics"]`` and the service levels
the run judged (``summary.json["slo"]``) and, with ``--baseline``, compares every metric present
in both folders, beyond seed noise when both have replications. Exit 0 when all hold, 1 on any
breach, missed service level or regression, 2 on bad input. The rules are in docs/report-gate.md.
"""

from __future__ import annotations

import argparse

from records import AnySummary as Summary
from records import LoadtestSummary, ModelSummary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS_DIR", help="a results folder (model or load test)")
    parser.add_argument("--scenario", metavar="FILE",
                        help="scenario whose thresholds to apply (default: the one summary.json names)")
    parser.add_argument("--baseline", metavar="OTHER_DIR", help="results folder to compare against")
    parser.add_argument("--max-regression", metavar="PCT", default="10%",
                        help="how much worse than the baseline a metric may get: 10%% or 0.10 "
                             "(default 10%%); with replications it must also exceed seed noise")
    parser.add_argument("--write-baseline", metavar="DIR",
                        help="when the gate passes, save these results' summary.json as the baseline "
                             "in DIR (creates or refreshes it)")
    parser.add_argument("--skip-slo", action="store_true",
                        help="do not gate the service levels the run judged (summary.json slo)")
    parser.add_argument("--junit", metavar="FILE", help="also write JUnit XML here")
    parser.add_argument("--allow-missing", action="store_true",
                        help="skip thresholds on metrics these results do not have instead of failing "
                             "with exit 2 (a load test's results always skip the model-only ones)")


def run(args: argparse.Namespace) -> int:
    from domain.platform import load_any
    from gate import junit
    from gate.evaluate import GateError, compare, evaluate, parse_all, parse_fraction, slo_outcomes
    from gate.results import load_summary, scenario_path
    from yanxiu.errors import CommandError

    try:
        limit = parse_fraction(args.max_regression)
        summary = load_summary(args.results)
        # a platform scenario (several campaigns) states its own thresholds and name
        scenario = load_any(scenario_path(summary, args.results, args.scenario))
        untrusted = untrusted_reason(summary)
        # a load test that measured nothing fails on that, whatever metrics it lacks
        # a load test measures endpoints, not the model's tiers and teachers: skip what it lacks
        skip_missing = args.allow_missing or bool(untrusted) or summary.kind == "loadtest"
        # a --ranges run: thresholds on a figure with a range are judged at its unfavourable end
        ranges = summary.ranges.figures if isinstance(summary, ModelSummary) and summary.ranges else None
        outcomes = evaluate(parse_all(scenario.thresholds), summary.metrics, skip_missing, ranges)
        slo = summary.slo if isinstance(summary, ModelSummary) else {}
        slos = [] if args.skip_slo else slo_outcomes(slo)
        regressions, baseline = [], None
        if args.baseline:
            baseline = load_summary(args.baseline)
            regressions = compare(summary.metrics, baseline.metrics, limit,
                                  _intervals(summary), _intervals(baseline))
    except GateError as exc:
        raise CommandError(str(exc)) from None
    print(render(outcomes, regressions, limit, scenario.name, args.results, slos))
    if isinstance(summary, ModelSummary) and summary.ranges is not None:  # yanxiu run --ranges
        _ranges(summary)
    if baseline is not None and not (_intervals(summary) and _intervals(baseline)):
        print("note: no replication intervals in both runs, so seed noise counts as change; "
              "run both with --replications 5 to judge regressions beyond it")
    if untrusted:
        print(f"FAIL  the load test is NOT trustworthy: {untrusted}; GATE FAILS")
    if args.junit:
        junit.write(args.junit, junit.build(outcomes, regressions, args.results,
                                            limit if args.baseline else None, slos))
    failed = (any(not o.passed for o in outcomes) or any(r.regressed for r in regressions)
              or any(not s.compliant for s in slos) or bool(untrusted))
    if args.write_baseline:
        _write_baseline(args.results, args.write_baseline, failed)
    return 1 if failed else 0


def _ranges(summary: ModelSummary) -> None:
    """The ranges of a --ranges run (the thresholds on them are judged in the table above)."""
    from fit.ranges import lines

    assert summary.ranges is not None
    print("\n".join(lines(summary.ranges)))


def _intervals(summary: Summary) -> dict:
    """summary.json replications.ci95 ({} for a single run or another kind)."""
    if isinstance(summary, ModelSummary) and summary.replications is not None:
        return dict(summary.replications.ci95)
    return {}


def _write_baseline(results: str, target: str, failed: bool) -> None:
    """The gate compares summary.json only, so that file is the whole baseline."""
    import shutil
    from pathlib import Path

    if failed:
        print(f"baseline NOT written to {target}: the gate failed")
        return
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(results) / "summary.json", folder / "summary.json")
    print(f"baseline written: {folder / 'summary.json'} (from {results})")


def untrusted_reason(summary: Summary) -> str:
    """Why a load-test run cannot be used (its ``verdict``), or '' for a usable run or a model
    run."""
    if not isinstance(summary, LoadtestSummary) or summary.trustworthy:
        return ""
    return "; ".join(summary.verdict) or "trustworthy is false in summary.json"


def describe(outcome) -> str:
    """'actual 19.06ms', or for a range 'at p95 1.2e+04 (central 4,740; 90% range 4,580 .. 1.2e+04)'."""
    from domain.thresholds import format_value

    unit = outcome.threshold.unit
    if outcome.range is None:
        return f"actual {format_value(outcome.actual, unit)}"
    r = outcome.range
    return (f"at {outcome.judged_at} {format_value(outcome.actual, unit)} (central "
            f"{format_value(r.central, unit)}; 90% range {format_value(r.p05, unit)} .. "
            f"{format_value(r.p95, unit)})")


def render(outcomes: list, regressions: list, limit: float, scenario: str, results: str,
           slos: list | None = None) -> str:
    lines = [f"thresholds of scenario {scenario} on {results}:"]
    if any(o.range is not None for o in outcomes):
        lines.append("  (a figure with a range is judged at the end of its 90% interval that matters: "
                     "p95 for < and <=, p05 for > and >=, both for == and !=)")
    if not outcomes:
        lines.append("  (the scenario has no thresholds)")
    width = max((len(o.threshold.text) for o in outcomes), default=10)
    for o in outcomes:
        if o.skipped:
            missing = f"no metric {o.threshold.metric} in these results"
            lines.append(f"  skip  {o.threshold.text:<{width}}  {missing}")
            continue
        verdict = "pass" if o.passed else "FAIL"
        lines.append(f"  {verdict:<4}  {o.threshold.text:<{width}}  {describe(o)}")
    slos = slos or []
    if slos:
        lines.append("service levels the run judged (every judged minute within target, peak "
                     "utilisation within its cap):")
    for s in slos:
        lines.append(f"  {'pass' if s.compliant else 'FAIL':<4}  {s.name:<{width}}  "
                     f"{'met' if s.compliant else 'MISSED'}: {s.detail}")
    if regressions:
        means = " (replication means; seed noise = combined 95% intervals)" if any(
            r.noise is not None for r in regressions) else ""
        lines.append(f"regressions against the baseline (limit {limit:.1%} worse){means}:")
        width = max(len(r.metric) for r in regressions)
        for r in regressions:
            verdict = "FAIL" if r.regressed else "pass"
            lines.append(f"  {verdict:<4}  {r.metric:<{width}}  baseline {r.baseline:<12.6g} "
                         f"now {r.current:<12.6g} {r.describe()}")
    breaches = (sum(not o.passed for o in outcomes) + sum(r.regressed for r in regressions)
                + sum(not s.compliant for s in slos))
    skipped = sum(o.skipped for o in outcomes)
    checks = len(outcomes) + len(regressions) + len(slos) - skipped
    lines.append(f"{checks - breaches} of {checks} checks pass" + (f", {skipped} skipped" if skipped else "")
                 + ("" if not breaches else "; GATE FAILS"))
    return "\n".join(lines)
