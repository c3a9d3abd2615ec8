"""Overload: at twice the knee load, does the reference platform keep the requests it admits
within their SLO and shed the rest with 429/503, instead of collapsing into timeouts?

    .venv/bin/python bench/bench_overload.py [--workers 2] [--max-in-flight 32] [--knee N]
        [--start 500] [--step-s 5] [--duration 15] [--connections 256] [--compare]

Heartbeats at a fixed offered rate (wrk with bench/lua/paced_beats.lua: one connection per
wrk thread, each sending on a schedule, latency counted from the scheduled send as a waiting
player sees it, per answer status) against ``yanxiu serve --max-in-flight`` on a fresh SQLite
file. The knee (unless ``--knee`` gives it): offered rates from ``--start`` up by x1.5 a step
(``--step-s`` each, at most 10 steps) until a step serves under 95% of its offered rate with 200,
or its 200s' p95 exceeds the SLO, or anything timed out; the knee is the last rate that passed.
Then twice the knee for ``--duration``: offered and served rates, shed answers (429/503),
timeouts and socket errors, p50/p95/p99 of the admitted (200) and of the shed answers, and the
verdict against the scenario's API SLO (service_levels.api.p95_ms, 300 ms in winter-2023).
``--compare`` runs the same twice-the-knee load on a server without admission control.

A latency benchmark: run it on a quiet machine. Needs wrk (apt-get install -y wrk). Loopback
only; every wrk run is bounded by its duration (+60 s). Prints figures; exit 1 if the verdict fails.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_reference import _env, _yanxiu, prepare, start_server, stop_server  # noqa: E402

LUA = ROOT / "bench" / "lua" / "paced_beats.lua"
SHED = (429, 503)


@dataclass
class Step:
    offered: float  # requests/s asked of wrk
    seconds: float
    latency: dict[int, dict[int, int]] = field(default_factory=dict)  # status -> ms bucket -> count
    service: dict[int, dict[int, int]] = field(default_factory=dict)  # the same from the actual send
    late: int = 0
    timeouts: int = 0
    socket_errors: int = 0

    def count(self, *statuses: int) -> int:
        return sum(sum(self.latency.get(s, {}).values()) for s in statuses)

    def rate(self, *statuses: int) -> float:
        return self.count(*statuses) / self.seconds

    def others(self) -> dict[int, int]:
        return {s: self.count(s) for s in self.latency if s != 200 and s not in SHED}

    def p(self, q: float, *statuses: int, since_due: bool = True) -> float | None:
        merged: dict[int, int] = {}
        for status in statuses:
            for ms, n in (self.latency if since_due else self.service).get(status, {}).items():
                merged[ms] = merged.get(ms, 0) + n
        total = sum(merged.values())
        if not total:
            return None
        seen = 0
        for ms in sorted(merged):
            seen += merged[ms]
            if seen >= q * total:
                return ms + 1.0  # the bucket's upper edge
        return None


def paced(base: str, beats: Path, rate: float, seconds: int, connections: int, seq_base: int) -> Step:
    command = ["wrk", "-t", str(connections), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
               "-s", str(LUA), f"{base}/api/v1/progress/heartbeat", "--", str(beats), str(seq_base),
               str(connections), f"{rate / connections:.6f}"]
    text = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    step = Step(rate, float(seconds))
    for kind, status, ms, n in re.findall(r"^(lat|svc) (\d+) (\d+) (\d+)$", text, re.M):
        table = step.latency if kind == "lat" else step.service
        bucket = table.setdefault(int(status), {})
        bucket[int(ms)] = bucket.get(int(ms), 0) + int(n)
    late = re.search(r"^late (\d+)$", text, re.M)
    step.late = int(late.group(1)) if late else 0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if errors:
        step.socket_errors = sum(int(errors.group(i)) for i in (1, 2, 3))
        step.timeouts = int(errors.group(4))
    return step


def passes(step: Step, slo_ms: float) -> bool:
    p95 = step.p(0.95, 200)
    return step.rate(200) >= 0.95 * step.offered and p95 is not None and p95 <= slo_ms and not step.timeouts


def find_knee(base: str, beats: Path, args: argparse.Namespace, slo_ms: float, seq: list[int]) -> float:
    rate, knee = float(args.start), 0.0
    for _ in range(10):
        seq[0] += 10**7
        step = paced(base, beats, rate, args.step_s, args.connections, seq[0])
        ok = passes(step, slo_ms)
        print(f"  offered {rate:8.0f}/s: served {step.rate(200):8.0f}/s, shed {step.rate(*SHED):7.0f}/s, "
              f"p95 {_ms(step.p(0.95, 200))}, timeouts {step.timeouts}: {'pass' if ok else 'past the knee'}",
              flush=True)
        if not ok:
            break
        knee, rate = rate, rate * 1.5
        time.sleep(1)  # let the queues drain between steps
    if not knee:
        raise SystemExit(f"even --start {args.start}/s is past the knee: start lower")
    return knee


def _ms(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:5.0f} ms"


def verdict(step: Step, slo_ms: float) -> tuple[bool, str]:
    p95 = step.p(0.95, 200)
    reasons = []
    if p95 is None or p95 > slo_ms:
        reasons.append(f"admitted p95 {_ms(p95)} over the {slo_ms:.0f} ms SLO")
    if step.timeouts or step.socket_errors:
        reasons.append(f"{step.timeouts} timeouts, {step.socket_errors} socket errors")
    if step.others():
        reasons.append(f"answers other than 200/429/503: {step.others()}")
    if not step.count(*SHED) and step.rate(200) >= 0.95 * step.offered:
        reasons.append("not overloaded (nothing shed, all served): the knee was underestimated")
    return not reasons, "; ".join(reasons) or "admitted within the SLO, the rest shed, no timeouts"


def describe(name: str, step: Step, slo_ms: float) -> bool:
    ok, why = verdict(step, slo_ms)
    print(f"{name}: offered {step.offered:.0f}/s for {step.seconds:.0f} s")
    print(f"  served 200: {step.rate(200):.0f}/s ({step.count(200)}); shed 429/503: {step.rate(*SHED):.0f}/s "
          f"({step.count(*SHED)}); other answers {step.others() or 'none'}; timeouts {step.timeouts}; "
          f"socket errors {step.socket_errors}; sent late (a connection still waiting) {step.late}")
    for label, statuses in (("admitted (200)", (200,)), ("shed (429/503)", SHED)):
        print(f"  {label}: p50 {_ms(step.p(0.5, *statuses))}, p95 {_ms(step.p(0.95, *statuses))}, "
              f"p99 {_ms(step.p(0.99, *statuses))} from the scheduled send; p95 from the actual send "
              f"{_ms(step.p(0.95, *statuses, since_due=False))}")
    print(f"  verdict: {'PASS' if ok else 'FAIL'}: {why}", flush=True)
    return ok


def run_server(args: argparse.Namespace, out: Path, url: str, bounded: bool, knee: float | None,
               slo_ms: float, scenario) -> tuple[float, Step]:
    extra = ("--max-in-flight", str(args.max_in_flight)) if bounded else ()
    server, base = start_server(url, args.scenario, args.workers, out / "server.log", extra=extra)
    try:
        resources = [r.id for r in scenario.courses[0].resources][:4]
        teachers = max(64, -(-args.connections // len(resources)))
        beats, _ = prepare(base, out / "accounts.csv", teachers, resources, out, scenario.name)
        # above any earlier run's seqs on this database (a knee search uses under 2 x 10^8)
        seq = [10**8 if bounded else 10**9]
        paced(base, beats, args.start, 2, args.connections, seq[0])  # warm-up, unreported
        knee = knee or find_knee(base, beats, args, slo_ms, seq)
        time.sleep(1)
        seq[0] += 10**7
        return knee, paced(base, beats, 2 * knee, args.duration, args.connections, seq[0])
    finally:
        stop_server(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-in-flight", type=int, default=32, help="per worker (yanxiu serve)")
    parser.add_argument("--knee", type=float, help="heartbeats/s; default: found by steps")
    parser.add_argument("--start", type=float, default=500, help="first step's offered rate")
    parser.add_argument("--step-s", type=int, default=5, help="seconds per knee step")
    parser.add_argument("--duration", type=int, default=15, help="seconds at twice the knee")
    parser.add_argument("--connections", type=int, default=256, help="wrk connections (one per thread)")
    parser.add_argument("--teachers", type=int, default=1000, help="seeded teachers")
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "winter-2023.yaml"))
    parser.add_argument("--compare", action="store_true", help="also without admission control")
    args = parser.parse_args(argv)
    from domain.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    slo = scenario.service_levels.tiers["api"].p95_ms
    slo_ms = float(slo) if slo is not None else 300.0
    with tempfile.TemporaryDirectory(prefix="yanxiu-overload-") as tmp:
        out = Path(tmp)
        url = f"sqlite:///{out / 'overload.sqlite'}"
        subprocess.run(_yanxiu("seed", "--teachers", str(args.teachers), "--database-url", url, "--scenario",
                               args.scenario, "--out", str(out)),
                       cwd=ROOT, env=_env(), check=True, capture_output=True, timeout=600)
        print(f"knee ({args.workers} workers, --max-in-flight {args.max_in_flight}, "
              f"API SLO p95 {slo_ms:.0f} ms):")
        knee, bounded = run_server(args, out, url, True, args.knee, slo_ms, scenario)
        print(f"knee: {knee:.0f} heartbeats/s")
        ok = describe(f"twice the knee, admission control on (--max-in-flight {args.max_in_flight})",
                      bounded, slo_ms)
        if args.compare:
            _, unbounded = run_server(args, out, url, False, knee, slo_ms, scenario)
            describe("twice the knee, no admission control", unbounded, slo_ms)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
