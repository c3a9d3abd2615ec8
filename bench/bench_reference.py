"""Requests/s of the reference platform's heartbeat (with its durable write) and login, side
by side with a hello-world endpoint on the same server (same uvicorn, FastAPI, workers and
middleware), driven by wrk from a separate process over loopback; the server's CPU per request
with its route CPU counter (reference.route_cpu) on and off, from a second server started with
``--no-route-cpu`` and driven in the same interleaved rounds; then where the time goes (py-spy
samples of the workers during a heartbeat run, grouped by layer).

    .venv/bin/python bench/bench_reference.py [--workers N] [--rounds 3] [--duration 5] [--warmup 2]
        [--connections 64] [--committer auto|loop|thread] [--no-counter-off]

64 connections by default, for all three endpoints alike: enough concurrent players that the
server, not the round trip of a durable commit, is the limit (what requests/s capacity means;
a real campaign has millions of players). With 16, the heartbeat is latency-bound: its answer
waits for its batch's commit and fsync while hello-world is already CPU-bound.

Needs wrk (Debian: apt-get install -y wrk) and, for the profile, py-spy (pip). Every run is
bounded by --duration; traffic goes to 127.0.0.1 only. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.reference_probes import commit_figures, fsync_census, profile  # noqa: E402
from bench.wrk_runs import median_run, warm_up, wrk  # noqa: E402

SECRET = "bench-secret-0123456789abcdef"
CLOCK_START = "2023-01-10T20:00"  # inside winter-2023, every course open
DRAIN_S = 2.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANXIU_")}
    return env | {"YANXIU_SECRET": SECRET} | (extra or {})


def _yanxiu(*args: str) -> list[str]:
    return [sys.executable, "-m", "yanxiu.cli", *args]


def start_server(
    url: str, scenario: str, workers: int, log: Path, committer: str = "auto", extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        _yanxiu(
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--database-url",
            url,
            "--scenario",
            scenario,
            "--clock-start",
            CLOCK_START,
            "--committer",
            committer,
            *extra,  # e.g. --max-in-flight N (bench_overload.py)
        ),
        cwd=ROOT,
        env=_env(),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, wait_ready(process, port, log)


def wait_ready(process: subprocess.Popen, port: int, log: Path) -> str:
    """The server's base URL once /healthz answers (at most 60 s); else stop it and exit."""
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return base
        except httpx.TransportError:
            time.sleep(0.2)
    stop_server(process)
    raise SystemExit(f"server did not start; log: {log.read_text()[-1500:]}")


def stop_server(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def prepare(
    base: str, accounts: Path, teachers: int, resources: list[str], out: Path, campaign: str,
    skip: int = 0,
) -> tuple[Path, Path]:
    """Log in and enrol ``teachers`` seeded teachers (after the first ``skip``); write wrk's
    data files into ``out``."""
    with accounts.open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["role"] == "teacher"][skip : skip + teachers]
    beats, logins = out / "heartbeats.txt", out / "logins.txt"
    with httpx.Client(base_url=base, timeout=30) as client, beats.open("w") as fb:
        for row in rows:
            answer = client.post(
                "/api/v1/auth/login", json={"mobile": row["mobile"], "password": row["password"]}
            )
            answer.raise_for_status()
            token = answer.json()["token"]
            client.post(
                f"/api/v1/campaigns/{campaign}/enrol", headers={"Authorization": f"Bearer {token}"}
            ).raise_for_status()
            for resource in resources:
                fb.write(f"{token} {resource}\n")
    logins.write_text("".join(f"{r['mobile']} {r['password']}\n" for r in rows))
    return beats, logins


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="uvicorn workers (default: one per CPU)"
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--warmup", type=int, default=2, help="unreported seconds per endpoint first")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (all endpoints)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--teachers", type=int, default=64, help="distinct logged-in teachers")
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "winter-2023.yaml"))
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument(
        "--committer",
        choices=["auto", "loop", "thread"],
        default="auto",
        help="who runs the group commits (yanxiu serve --committer; default %(default)s)",
    )
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--no-counter-off", action="store_true",
        help="no second server without the route CPU counter (its hello and heartbeat runs)",
    )
    parser.add_argument("--keep", type=Path, help="copy the raw profiles and server log here")
    return parser.parse_args(argv)


def seed(url: str, teachers: int, scenario: str, out: Path) -> None:
    command = _yanxiu("seed", "--teachers", str(teachers), "--database-url", url, "--scenario", scenario,
                      "--out", str(out))
    subprocess.run(command, cwd=ROOT, env=_env(), check=True, capture_output=True, timeout=300)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    from domain.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    resources = [r.id for r in scenario.courses[0].resources][:4]
    servers: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="yanxiu-bench-") as tmp:
        out = Path(tmp)
        url = args.database_url or f"sqlite:///{out / 'bench.sqlite'}"
        seed(url, max(2 * args.teachers, 1000), args.scenario, out)
        server, base = start_server(url, args.scenario, args.workers, out / "server.log", args.committer)
        servers.append(server)
        try:
            beats, logins = prepare(base, out / "accounts.csv", args.teachers, resources, out, scenario.name)
            warm_up(base, beats, args)
            # The same database, other teachers (no anti-cheat rule sees both servers' beats).
            off = None if args.no_counter_off else _counter_off(url, args, resources, scenario.name, out)
            if off is not None:
                servers.append(off[0])
            runs = _rounds(server, base, beats, logins, off, args)
            results = {name: median_run(r) for name, r in runs.items()}
            commits = commit_figures(base)
            layers = None if args.no_profile else profile(server, base, beats, args, out)
            syncs = fsync_census(server, base, beats, args, out) if "sqlite" in url else None
        finally:
            for process in servers:
                stop_server(process)
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                for path in [*out.glob("profile-*.txt"), *out.glob("server*.log")]:
                    shutil.copy(path, args.keep)
    report(results, layers, syncs, args, url)
    if commits:
        print(
            f"group commits ({args.committer} committer): {commits['jobs']:.1f} heartbeats per "
            f"commit, write lock held {commits['held_ms']:.2f} ms per commit "
            f"({commits['held_ms'] / commits['jobs']:.3f} ms per heartbeat; /metrics)"
        )
    if off is not None:
        counter_report(runs)
    return 0


# the server without the counter, its URL, its heartbeats' and logins' files
Off = tuple[subprocess.Popen, str, Path, Path]


def _counter_off(url: str, args: argparse.Namespace, resources: list[str], campaign: str, out: Path) -> Off:
    """A second server on the same database with ``--no-route-cpu``, its own teachers enrolled
    and its own warm-up."""
    folder = out / "off"
    folder.mkdir()
    server, base = start_server(url, args.scenario, args.workers, out / "server-off.log", args.committer,
                                ("--no-route-cpu",))
    try:
        beats, logins = prepare(base, out / "accounts.csv", args.teachers, resources, folder, campaign,
                           skip=args.teachers)
        warm_up(base, beats, args)
    except BaseException:
        stop_server(server)
        raise
    return server, base, beats, logins


def _rounds(server: subprocess.Popen, base: str, beats: Path, logins: Path, off: Off | None,
            args: argparse.Namespace) -> dict[str, list[dict]]:
    """Interleaved rounds (medians reported): the machine is shared, so noise hits every
    endpoint alike instead of one of them. The servers with and without the counter take turns
    at going first and run the same endpoints (after a login run a worker's heap is another:
    2026-11-30 23:25, with logins on one server only, hello cost +2% more on it before the
    first login run and +11-20% after)."""
    names = ("hello", "heartbeat", "login")
    runs: dict[str, list[dict]] = {name: [] for name in names}
    if off is not None:
        runs |= {f"{name}, counter off": [] for name in names}
    for n in range(args.rounds):
        seq = str((n + 1) * 10**7)
        pairs = [("", server, base, beats, logins)]
        if off is not None:
            pairs.insert(n % 2, (", counter off", *off))
        for suffix, process, url, _beats, _logins in pairs:
            runs["hello" + suffix].append(wrk(url, "/hello", args, server=process))
        for suffix, process, url, data, _logins in pairs:
            runs["heartbeat" + suffix].append(
                wrk(url, "/api/v1/progress/heartbeat", args, [str(data), "heartbeat", seq], server=process)
            )
        for suffix, process, url, _beats, data in pairs:
            runs["login" + suffix].append(
                wrk(url, "/api/v1/auth/login", args, [str(data), "login", "0"], server=process)
            )
            time.sleep(DRAIN_S)  # let the logins still queued in the server finish
    return runs


def counter_report(runs: dict[str, list[dict]]) -> None:
    """The route CPU counter's cost: CPU per request with and without it, the medians and each
    round's paired difference (the two servers ran back to back in every round)."""
    print("route CPU counter (reference.route_cpu; the second server runs with --no-route-cpu):")
    print(f"{'endpoint':<12}{'CPU ms/req on':>15}{'off':>8}{'cost ms':>9}{'cost':>8}   each round's cost")
    for name in ("hello", "heartbeat", "login"):
        on = [r["cpu_ms"] for r in runs[name]]
        off = [r["cpu_ms"] for r in runs[name + ", counter off"]]
        paired = [a - b for a, b in zip(on, off, strict=True)]  # in round order
        median_on, median_off, cost = (sorted(x)[len(x) // 2] for x in (on, off, paired))
        rounds = " ".join(f"{d * 1000:+.0f}us ({d / b:+.1%})" for d, b in zip(paired, off, strict=True))
        print(f"{name:<12}{median_on:>15.3f}{median_off:>8.3f}{cost:>+9.3f}{cost / median_off:>+8.1%}"
              f"   {rounds}")


def report(
    results: dict, layers: dict | None, syncs: dict | None, args: argparse.Namespace, url: str
) -> None:
    backend = "SQLite (WAL, synchronous=FULL)" if url.startswith("sqlite") else url.split("@")[-1]
    print(
        f"reference platform, {args.workers} uvicorn worker(s), {backend}; wrk "
        f"{args.threads} thread(s) x {args.connections} connections, {args.rounds} interleaved "
        f"rounds of {args.duration} s (median shown), {os.cpu_count()} CPU(s) shared by "
        f"server and client; load average before: {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'endpoint':<24}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
        f"{'vs hello':>10}{'CPU ms/req':>12}   all rounds"
    )
    hello = results["hello"]["rps"]
    for name, r in results.items():
        rounds = " ".join(f"{x:.0f}" for x in r["all_rps"])
        print(
            f"{name:<24}{r['rps']:>10.0f}{r['p50_ms'] or 0:>9.1f}{r['p99_ms'] or 0:>9.1f}"
            f"{r['non_2xx']:>9}{r['rps'] / hello:>10.0%}{r.get('cpu_ms', 0):>12.2f}   {rounds}"
        )
    for name, r in results.items():
        odd = {k: v for k, v in r.get("statuses", {}).items() if not 200 <= k < 300}
        if odd:
            print(f"  {name}: non-2xx statuses {odd}")
    ratio = results["heartbeat"]["rps"] / hello
    verdict = "meets" if ratio >= 0.5 else "is below"
    print(f"heartbeat/hello = {ratio:.2f}: {verdict} the target of 0.5")
    cpu_hello, cpu_beat = results["hello"].get("cpu_ms"), results["heartbeat"].get("cpu_ms")
    if cpu_hello and cpu_beat:
        print(
            f"server CPU per request: heartbeat {cpu_beat:.2f} ms vs hello {cpu_hello:.2f} ms; "
            f"a CPU-saturated server (open-loop load) would give heartbeat/hello = "
            f"{cpu_hello / cpu_beat:.2f}"
        )
    if syncs:
        print(
            f"durable write: {syncs['per_request']:.3f} fsync per heartbeat (group commit), "
            f"{syncs['mean_ms']:.1f} ms wall each (strace -c -w)"
        )
    if layers:
        print(
            "where the workers' CPU goes during heartbeats (py-spy --gil: samples of the thread "
            "holding the GIL, by layer; SQLite's own C work and fsync run without it):"
        )
        for name, share in sorted(layers.items(), key=lambda kv: -kv[1]):
            print(f"  {share:6.1%}  {name}")


if __name__ == "__main__":
    sys.exit(main())
