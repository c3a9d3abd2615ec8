"""Benchmark of ``yanxiu run``'s model at scale, beside SimPy baselines measured in the same run.

Prints, for each population size: wall time, peak resident memory (the run's process plus
its shard processes), sessions simulated, sessions/s; and the baselines measured in the same
run: raw SimPy timeouts/s (and the cost of a session in raw timeouts), and, at ``--compare``
teachers, the plain-Python single-process model against the model as shipped (compiled hot
modules, shards on every core). Each run has a fresh process, so its peak memory is its own.

    .venv/bin/python bench/bench_sim.py                     # 1,000,000 and 18,800,000 teachers
    .venv/bin/python bench/bench_sim.py --teachers 100000   # quicker look
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def simpy_timeouts_per_s(n: int = 1_000_000) -> float:
    import simpy

    env = simpy.Environment()

    def ticker(env, count):
        for _ in range(count):
            yield env.timeout(1)

    for _ in range(10):
        env.process(ticker(env, n // 10))
    started = time.perf_counter()
    env.run()
    return n / (time.perf_counter() - started)


def one_run(scenario_path: str, teachers: int, max_simulated: int | None,
            shards: int | None = None, workers: int | None = None) -> dict:
    import sim.native

    sim.native.install()  # as yanxiu run does; YANXIU_NATIVE=0 (in_fresh_process) keeps plain Python
    from domain.scenario import load_scenario
    from sim.model import run_model

    scenario = load_scenario(scenario_path)
    started = time.perf_counter()
    run = run_model(scenario, teachers=teachers, max_simulated=max_simulated, shards=shards,
                    workers=workers)
    wall = time.perf_counter() - started
    # the shard processes are this process's children: their peak adds to ours
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return {"teachers": teachers, "simulated": run.population.size, "wall_s": wall,
            "peak_mb": own + (children if run.stats["workers"] > 1 else 0.0),
            "sessions": run.stats["sessions_simulated"], "native": sim.native.active(), **run.stats}


def in_fresh_process(native: bool, *args) -> dict:
    """One run in a new interpreter (its own peak memory; the compiled modules on or off)."""
    os.environ["YANXIU_NATIVE"] = "1" if native else "0"
    with cf.ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(one_run, *args).result()


def show(label: str, r: dict, baseline: float) -> None:
    rate = r["sessions"] / r["simulate_s"]
    print(f"{label:<22} {r['teachers']:>11,} {r['simulated']:>10,} {r['wall_s']:>8.1f} "
          f"{r['peak_mb']:>8.0f} {r['sessions']:>11,.0f} {rate:>9,.0f} {baseline / rate:>9.1f}", flush=True)
    print(f"{'':<22} build {r['build_s']:.1f} s, simulate {r['simulate_s']:.1f} s, "
          f"tiers {r['tiers_s']:.1f} s, feedback calls {r['feedback_calls']:.0f}, "
          f"shards {r['shards']:.0f} on {r['workers']:.0f} processes, compiled {r['native']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "winter-2023.yaml"))
    parser.add_argument("--teachers", type=int, nargs="+", default=[1_000_000, 18_800_000])
    parser.add_argument("--max-simulated", type=int, default=None,
                        help="sample cap (default: the model's default)")
    parser.add_argument("--compare", type=int, default=100_000, metavar="N",
                        help="teachers for the same-run comparison with the plain-Python, "
                             "single-process model (0: skip)")
    args = parser.parse_args()
    from sim.model import DEFAULT_MAX_SIMULATED

    cap = args.max_simulated or DEFAULT_MAX_SIMULATED
    baseline = simpy_timeouts_per_s()
    print(f"baseline  SimPy raw timeouts/s on this machine now: {baseline:,.0f}")
    print(f"{'run':<22} {'teachers':>11} {'simulated':>10} {'wall s':>8} {'peak MB':>8} "
          f"{'sessions':>11} {'sess/s':>9} {'t/o per s':>9}")
    if args.compare:
        plain = in_fresh_process(False, args.scenario, args.compare, cap, 1, 1)
        show("plain, 1 process", plain, baseline)
        shipped = in_fresh_process(True, args.scenario, args.compare, cap, None, None)
        show("as shipped", shipped, baseline)
        print(f"speed-up as shipped vs plain single-process: {plain['wall_s'] / shipped['wall_s']:.2f}x "
              f"(simulate {plain['simulate_s'] / shipped['simulate_s']:.2f}x)")
    for teachers in args.teachers:
        show("as shipped", in_fresh_process(True, args.scenario, teachers, cap), baseline)
    baseline_after = simpy_timeouts_per_s()
    print(f"baseline  SimPy raw timeouts/s after the runs: {baseline_after:,.0f} "
          "(a big change means the machine was busy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
