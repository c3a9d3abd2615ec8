"""Requests/s of the reference platform's heartbeat (with its durable write) and login, side
by side with a hello-world endpoint on the same server (same uvicorn, FastAPI, workers and
middleware), driven by wrk from a separate process over loopback; then where the time goes
(py-spy samples of the workers during a heartbeat run, grouped by layer).

    .venv/bin/python bench/bench_reference.py [--workers N] [--rounds 3] [--duration 5] [--warmup 2]
        [--connections 64] [--committer auto|loop|thread]

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
import re
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
LUA = ROOT / "bench" / "lua" / "post_lines.lua"
sys.path.insert(0, str(ROOT))
from bench.profile_layers import layer_shares  # noqa: E402

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


def worker_pids(server: subprocess.Popen) -> list[int]:
    import psutil

    children = psutil.Process(server.pid).children(recursive=True)
    workers = [
        c.pid
        for c in children
        if "multiprocessing" not in " ".join(c.cmdline()) or "spawn_main" in " ".join(c.cmdline())
    ]
    return workers or [server.pid]


def prepare(
    base: str, accounts: Path, teachers: int, resources: list[str], out: Path, campaign: str
) -> tuple[Path, Path]:
    """Log in and enrol ``teachers`` seeded teachers; write wrk's data files."""
    with accounts.open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["role"] == "teacher"][:teachers]
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


def server_cpu_s(server: subprocess.Popen) -> float:
    """User + system CPU seconds of the server and its workers so far."""
    import psutil

    root = psutil.Process(server.pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def wrk(
    base: str,
    path: str,
    args: argparse.Namespace,
    lua_args: list[str] | None = None,
    server: subprocess.Popen | None = None,
) -> dict:
    command = [
        "wrk",
        "-t",
        str(args.threads),
        "-c",
        str(args.connections),
        "-d",
        f"{args.duration}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if lua_args:
        command += ["-s", str(LUA), f"{base}{path}", "--", *lua_args, str(args.threads)]
    else:
        command.append(f"{base}{path}")
    cpu = server_cpu_s(server) if server else 0.0
    text = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=args.duration + 60
    ).stdout
    result = parse_wrk(text)
    if server:
        result["cpu_ms"] = (server_cpu_s(server) - cpu) * 1000 / max(result["requests"], 1)
    return result


def _found(pattern: str, text: str, flags: int = 0) -> re.Match[str]:
    """A match wrk's output must hold; one line naming what was missing otherwise."""
    match = re.search(pattern, text, flags)
    if match is None:
        raise SystemExit(f"wrk's output has no {pattern!r}: {text[-300:]!r}")
    return match


def _ms(value: str) -> float:
    number, unit = _found(r"^([\d.]+)(us|ms|s)$", value).groups()
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def parse_wrk(text: str) -> dict:
    rps = float(_found(r"Requests/sec:\s+([\d.]+)", text).group(1))
    total = int(_found(r"(\d+) requests in", text).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    percent = {p: _ms(v) for p, v in re.findall(r"^\s+(50|90|99)%\s+(\S+)\s*$", text, re.M)}
    statuses = {int(k): int(v) for k, v in re.findall(r"^status (\d+): (\d+)$", text, re.M)}
    return {
        "rps": rps,
        "requests": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "statuses": statuses,
        "socket_errors": errors.group(1) if errors else "",
        "p50_ms": percent.get("50"),
        "p99_ms": percent.get("99"),
    }


def _median(runs: list[dict]) -> dict:
    ordered = sorted(runs, key=lambda r: r["rps"])
    middle = dict(ordered[len(ordered) // 2])
    middle["all_rps"] = [r["rps"] for r in runs]
    return middle


def profile(
    server: subprocess.Popen, base: str, beats: Path, args: argparse.Namespace, out: Path
) -> dict[str, float]:
    """py-spy the workers during one more heartbeat run; shares of samples by layer. Only
    samples of the thread holding the GIL (``--gil``): the CPU the workers spend in Python and
    in C called with the GIL held, not the waits (epoll, fsync, the write lock) that py-spy
    cannot tell from work inside uvloop."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy not found (pip install py-spy): no profile", file=sys.stderr)
        return {}
    records = []
    for pid in worker_pids(server):
        raw = out / f"profile-{pid}.txt"
        records.append(
            (
                raw,
                subprocess.Popen(
                    [
                        spy,
                        "record",
                        "--pid",
                        str(pid),
                        "--duration",
                        str(args.duration),
                        "--rate",
                        "200",
                        "--format",
                        "raw",
                        "--output",
                        str(raw),
                        "--nonblocking",
                        "--gil",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ),
            )
        )
    time.sleep(0.5)
    wrk(base, "/api/v1/progress/heartbeat", args, [str(beats), "heartbeat", str(9 * 10**8)])
    for _, process in records:
        process.wait(timeout=args.duration + 30)
    return layer_shares([raw for raw, _ in records if raw.exists()])


def main(argv: list[str] | None = None) -> int:
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
    parser.add_argument("--keep", type=Path, help="copy the raw profiles and server log here")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    from domain.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    resources = [r.id for r in scenario.courses[0].resources][:4]
    with tempfile.TemporaryDirectory(prefix="yanxiu-bench-") as tmp:
        out = Path(tmp)
        url = args.database_url or f"sqlite:///{out / 'bench.sqlite'}"
        subprocess.run(
            _yanxiu(
                "seed",
                "--teachers",
                str(max(args.teachers, 1000)),
                "--database-url",
                url,
                "--scenario",
                args.scenario,
                "--out",
                str(out),
            ),
            cwd=ROOT,
            env=_env(),
            check=True,
            capture_output=True,
            timeout=300,
        )
        server, base = start_server(url, args.scenario, args.workers, out / "server.log", args.committer)
        try:
            beats, logins = prepare(base, out / "accounts.csv", args.teachers, resources, out, scenario.name)
            warm_up(base, beats, args)
            runs: dict[str, list[dict]] = {"hello": [], "heartbeat": [], "login": []}
            # Interleaved rounds, medians reported: the machine is shared, so noise hits all
            # three endpoints alike instead of one of them.
            for n in range(args.rounds):
                runs["hello"].append(wrk(base, "/hello", args, server=server))
                runs["heartbeat"].append(
                    wrk(
                        base,
                        "/api/v1/progress/heartbeat",
                        args,
                        [str(beats), "heartbeat", str((n + 1) * 10**7)],
                        server=server,
                    )
                )
                runs["login"].append(
                    wrk(base, "/api/v1/auth/login", args, [str(logins), "login", "0"], server=server)
                )
                time.sleep(DRAIN_S)  # let the logins still queued in the server finish
            results = {name: _median(r) for name, r in runs.items()}
            commits = commit_figures(base)
            layers = None if args.no_profile else profile(server, base, beats, args, out)
            syncs = fsync_census(server, base, beats, args, out) if "sqlite" in url else None
        finally:
            stop_server(server)
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                for path in out.glob("profile-*.txt"):
                    shutil.copy(path, args.keep)
                shutil.copy(out / "server.log", args.keep)
    report(results, layers, syncs, args, url)
    if commits:
        print(
            f"group commits ({args.committer} committer): {commits['jobs']:.1f} heartbeats per "
            f"commit, write lock held {commits['held_ms']:.2f} ms per commit "
            f"({commits['held_ms'] / commits['jobs']:.3f} ms per heartbeat; /metrics)"
        )
    return 0


def warm_up(base: str, beats: Path, args: argparse.Namespace) -> None:
    """Unreported runs of hello-world and the heartbeat first: the first measured round used
    to be 10-35% slower than the others (imports, caches, the first beat of each resource)."""
    if args.warmup <= 0:
        return
    short = argparse.Namespace(**{**vars(args), "duration": args.warmup})
    wrk(base, "/hello", short)
    wrk(base, "/api/v1/progress/heartbeat", short, [str(beats), "heartbeat", str(10**6)])


def commit_figures(base: str) -> dict | None:
    """Mean jobs per group commit and write-lock time per commit, from the server's /metrics
    (summed over its workers) after the interleaved rounds."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    value = {}
    for name in ("yanxiu_commit_jobs_sum", "yanxiu_commit_jobs_count", "yanxiu_commit_seconds_sum"):
        found = re.search(rf"^{name} (\S+)$", text, re.M)
        value[name] = float(found.group(1)) if found else 0.0
    commits = value["yanxiu_commit_jobs_count"]
    if not commits:
        return None
    return {
        "jobs": value["yanxiu_commit_jobs_sum"] / commits,
        "held_ms": 1000 * value["yanxiu_commit_seconds_sum"] / commits,
    }


def fsync_census(
    server: subprocess.Popen, base: str, beats: Path, args: argparse.Namespace, out: Path
) -> dict | None:
    """fsync calls per heartbeat and their mean duration, from strace -c on the workers during
    a short extra run (strace slows the server; this run's req/s is not reported)."""
    if shutil.which("strace") is None:
        return None
    log = out / "strace.txt"
    command = ["strace", "-c", "-w", "-f", "-e", "trace=fsync,fdatasync", "-o", str(log)]
    import psutil

    for pid in worker_pids(server):  # strace -p attaches one thread: name them all
        command += [arg for t in psutil.Process(pid).threads() for arg in ("-p", str(t.id))]
    tracer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    short = argparse.Namespace(**{**vars(args), "duration": 3})
    result = wrk(base, "/api/v1/progress/heartbeat", short, [str(beats), "heartbeat", str(15 * 10**8)])
    tracer.send_signal(signal.SIGINT)
    tracer.wait(timeout=30)
    calls = seconds = 0.0
    for line in log.read_text().splitlines():
        fields = line.split()
        if fields and fields[-1] in ("fsync", "fdatasync") and len(fields) >= 5:
            seconds += float(fields[1])
            calls += int(fields[3])
    ok = sum(v for k, v in result["statuses"].items() if 200 <= k < 300) or result["requests"]
    return {"per_request": calls / max(ok, 1), "mean_ms": 1000 * seconds / calls if calls else 0}


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
        f"{'endpoint':<12}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
        f"{'vs hello':>10}{'CPU ms/req':>12}   all rounds"
    )
    hello = results["hello"]["rps"]
    for name, r in results.items():
        rounds = " ".join(f"{x:.0f}" for x in r["all_rps"])
        print(
            f"{name:<12}{r['rps']:>10.0f}{r['p50_ms'] or 0:>9.1f}{r['p99_ms'] or 0:>9.1f}"
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
