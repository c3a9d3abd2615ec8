"""Benchmark: the combined platform winter 2023 (winter study + exempt-certification study +
student teachers on one platform) against the winter study alone, both national and both
measured in this one run, so a busy machine still gives a fair ratio.

The platform run shares the sampling budget (``--max-simulated``) among its campaigns in
proportion to their participants (sim.campaigns.budgets), so it should cost about what the
winter study costs alone plus its longer horizon and extra shards: the issue asks for at most
1.5 times. Each run has a fresh process (no warm caches shared between them); the order
alternates over ``--rounds`` so drift in the machine's load does not favour one side.

    .venv/bin/python bench/bench_multi.py                       # national, 500,000 simulated
    .venv/bin/python bench/bench_multi.py --max-simulated 100000 # quicker look
    .venv/bin/python bench/bench_multi.py --effect --max-simulated 20000  # teachers in both: with/without
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WINTER = ROOT / "scenarios" / "winter-2023.yaml"
PLATFORM = ROOT / "scenarios" / "platform-winter-2023.yaml"


def single(max_simulated: int) -> dict:
    from domain.scenario import load_scenario
    from sim.model import run_model

    started = time.perf_counter()
    run = run_model(load_scenario(WINTER), max_simulated=max_simulated)
    return {"wall_s": time.perf_counter() - started, "simulated": run.population.size,
            "sessions": run.stats["sessions_simulated"], "shards": run.shards,
            "minutes": run.recorder.minutes, "peak_rps": float(run.recorder.series()["rps.total"].max())}


def combined(max_simulated: int) -> dict:
    from domain.platform import load_platform
    from sim.campaigns import contributions, run_platform

    started = time.perf_counter()
    run = run_platform(load_platform(PLATFORM), max_simulated=max_simulated)
    wall = time.perf_counter() - started
    shares = contributions(run)
    return {"wall_s": wall, "simulated": sum(p.run.population.size for p in run.parts),
            "sessions": sum(p.run.stats["sessions_simulated"] for p in run.parts),
            "shards": int(run.stats["shards"]), "minutes": run.minutes,
            "peak_rps": float(run.series["rps.total"].max()),
            "by_campaign": {name: round(c["at_peak"]) for name, c in shares["peak"]["by_campaign"].items()},
            "set_by": {tier: t["set_by"] for tier, t in shares["tiers"].items()}}


def effect(max_simulated: int) -> None:
    """The combined scenario with its ``overlaps:`` and without: per campaign, participants,
    completion, study its own journeys played and study credited from the other campaign."""
    import dataclasses

    import numpy as np

    from domain.platform import load_platform
    from sim.campaigns import run_platform
    from sim.sessions.recorder import TALLY

    plan = load_platform(PLATFORM)
    for label, variant in (("with overlaps", plan), ("without", dataclasses.replace(plan, overlaps=()))):
        started = time.perf_counter()
        run = run_platform(variant, max_simulated=max_simulated)
        print(f"{label} ({time.perf_counter() - started:.0f} s):", flush=True)
        for part in run.parts:
            weight = part.run.population.weight
            done = float(weight[np.isfinite(part.run.completed_at)].sum() / weight.sum())
            own = part.run.recorder.tally[TALLY.index("study_s")] / 3600
            credited = sum(p.routed_hours.get(part.name, 0.0) for p in run.parts)
            print(f"  {part.name:12s} participants {part.run.population.participants:>11,}  in both "
                  f"{sum(part.in_both.values()):>8,.0f}  completed {done:6.1%}  own study "
                  f"{own / weight.sum():5.2f} h each  credited from the other {credited:>10,.0f} h",
                  flush=True)


def in_fresh_process(function, max_simulated: int) -> dict:
    with cf.ProcessPoolExecutor(1, mp_context=mp.get_context("fork")) as pool:
        return pool.submit(function, max_simulated).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-simulated", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--effect", action="store_true",
                        help="instead: the combined scenario with and without its overlaps, by campaign")
    args = parser.parse_args()
    from sim import native

    compiled = native.usable_build() is not None and native.install()
    print(f"compiled hot modules: {'yes' if compiled else 'no (plain Python for both)'}")
    if args.effect:
        effect(args.max_simulated)
        return
    results: dict[str, list[dict]] = {"single": [], "combined": []}
    for r in range(args.rounds):
        order = [("single", single), ("combined", combined)]
        for name, function in order if r % 2 == 0 else order[::-1]:
            results[name].append(in_fresh_process(function, args.max_simulated))
            figures = results[name][-1]
            print(f"round {r + 1} {name:8s} {figures['wall_s']:8.1f} s  simulated {figures['simulated']:,}"
                  f"  sessions {figures['sessions']:,.0f}  shards {figures['shards']}"
                  f"  minutes {figures['minutes']:,}  peak {figures['peak_rps']:,.0f} req/s", flush=True)
    alone = sum(f["wall_s"] for f in results["single"]) / args.rounds
    both = sum(f["wall_s"] for f in results["combined"]) / args.rounds
    print(f"winter-2023 alone      {alone:8.1f} s (mean of {args.rounds})")
    print(f"platform-winter-2023   {both:8.1f} s (mean of {args.rounds})")
    print(f"ratio combined/alone   {both / alone:8.2f}  (target <= 1.5)")
    last = results["combined"][-1]
    print(f"shared peak by campaign: {last['by_campaign']}; tier needs set by: {last['set_by']}")


if __name__ == "__main__":
    main()
