"""What bench/bench_reference.py measures besides req/s: where the workers' CPU goes (py-spy),
the group commits' batch and lock time (the server's /metrics), fsyncs per heartbeat (strace)."""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.profile_layers import layer_shares
from bench.wrk_runs import wrk


def worker_pids(server: subprocess.Popen) -> list[int]:
    import psutil

    children = psutil.Process(server.pid).children(recursive=True)
    workers = [
        c.pid
        for c in children
        if "multiprocessing" not in " ".join(c.cmdline()) or "spawn_main" in " ".join(c.cmdline())
    ]
    return workers or [server.pid]


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
