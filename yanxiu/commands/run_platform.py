"""``yanxiu run`` on a platform scenario (``kind: platform``): several campaigns on one platform.

Not a subcommand of its own: ``yanxiu run`` hands a platform scenario here. ``--teachers N``
scales every campaign alike (N is the teachers of all campaigns together).
``--replications R`` runs R - 1 more whole platform runs (seeds as for one campaign) and adds
95% intervals of the platform's figures to summary.json. ``--ranges`` is refused (a fitted
posterior is one campaign's behaviour); the request-level confirmation is not run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def run(plan, args: argparse.Namespace, out: Path) -> int:
    from tqdm import tqdm

    from sim.campaigns import run_platform
    from sim.model import DEFAULT_MAX_SIMULATED
    from sim.outputs.platform import write_platform_results
    from yanxiu.errors import CommandError

    if getattr(args, "ranges", None):
        raise CommandError("--ranges: not available for a platform scenario (a fitted posterior is one "
                           "campaign's behaviour; run --ranges on a campaign file)")
    teachers = sum(s.population.teachers for s in plan.campaigns)
    scale = args.teachers / teachers if args.teachers else 1.0
    cap = args.max_simulated or DEFAULT_MAX_SIMULATED
    bar = tqdm(desc="simulated days", unit="day", file=sys.stderr, disable=None, leave=False)

    def on_day(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        result = run_platform(plan, scale, args.seed, cap, on_day=on_day, shards=args.shards,
                              workers=args.workers)
    finally:
        bar.close()
    intervals = _replications(plan, args, scale, result, cap)
    summary = write_platform_results(result, out, scenario_path=str(args.scenario), replications=intervals)
    assert summary.campaigns is not None  # a platform run's summary always has them
    if not args.no_charts:  # the report's drawings, for the platform and each campaign's folder
        from report.pngs import write_model_pngs

        for folder in (out, *(out / c.folder for c in summary.campaigns.each.values())):
            write_model_pngs(folder)
    print(lines(summary, out))
    return 0


def _replications(plan, args: argparse.Namespace, scale: float, result, cap: int) -> dict | None:
    """The 95% intervals over ``--replications`` whole platform runs (None for one run)."""
    from sim import replications

    if args.replications <= 1:
        return None
    where = f" on {args.scheduler}" if args.scheduler else ""
    print(f"running {args.replications - 1} more replications of the platform{where}", file=sys.stderr)
    extra = replications.run_extra_platform(plan, scale, result.seed, args.replications, cap,
                                            args.scheduler, shards=args.shards)
    intervals = replications.confidence([replications.platform_key_figures(result), *extra])
    intervals["seeds"] = [replications.replication_seed(result.seed, i) for i in range(args.replications)]
    return intervals


def in_both(each: dict) -> list[str]:
    """A line per pair of campaigns with teachers in both: how many, and the study credited
    to them across (summary.json campaigns.each: in_both, shared_study_hours)."""
    out = []
    pairs = {tuple(sorted((name, other))): count for name, figures in each.items()
             for other, count in (figures.get("in_both") or {}).items()}
    for (a, b), count in pairs.items():
        ab = each[a]["shared_study_hours"].get(b, 0.0)
        ba = each[b]["shared_study_hours"].get(a, 0.0)
        out.append(f"  {count:,.0f} of them take part in both {a} and {b} (counted in each): study credited "
                   f"across {ab:,.0f} h into {b}, {ba:,.0f} h into {a}")
    return out


def lines(summary, out: Path) -> str:
    """What a platform run prints: the platform's peak and needs, then each campaign's part."""
    assert summary.campaigns is not None
    section = summary.campaigns.model_dump()  # records.model.Campaigns
    peak = section["peak"]
    text = [f"{summary.scenario}: {len(section['each'])} campaigns on one platform, "
            f"{summary.participants:,} participants ({summary.simulated:,} simulated)",
            f"  shared peak {peak['value']:,.0f} requests/s at {peak['at']}"]
    text[1:1] = in_both(section["each"])
    for name, figures in peak["by_campaign"].items():
        text.append(f"    {name}: {figures['at_peak']:,.0f}/s there ({figures['share_at_peak']:.1%}); "
                    f"alone peaks at {figures['peak_alone']:,.0f}/s; without it the peak is "
                    f"{figures['peak_lowered_without']:,.0f}/s lower")
    for tier, need in section["tiers"].items():
        text.append(f"  {tier}: needs {need['needed']:,.4g} {need['unit']}, set by {need['set_by']}")
    reps = summary.replications
    lo, hi = reps.ci95.get("peak(rps.total)", (None, None)) if reps is not None else (None, None)
    if reps is not None and lo is not None and hi is not None:
        text.append(f"  {reps.count} replications: shared peak {reps.mean['peak(rps.total)']:,.0f}/s "
                    f"[95% CI {lo:,.0f} to {hi:,.0f}]")
    text.append(f"results in {out}/ (each campaign in {out}/campaigns/<name>/)")
    return "\n".join(text)
