"""wrk runs against a server for the benchmarks (bench/bench_reference.py, bench_overload.py):
one endpoint for a bounded time, wrk's figures parsed, the server's CPU per request (psutil,
the server's whole process tree) around the run."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "lua" / "post_lines.lua"


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


def median_run(runs: list[dict]) -> dict:
    ordered = sorted(runs, key=lambda r: r["rps"])
    middle = dict(ordered[len(ordered) // 2])
    middle["all_rps"] = [r["rps"] for r in runs]
    return middle


def warm_up(base: str, beats: Path, args: argparse.Namespace) -> None:
    """Unreported runs of hello-world and the heartbeat first: the first measured round used
    to be 10-35% slower than the others (imports, caches, the first beat of each resource)."""
    if args.warmup <= 0:
        return
    short = argparse.Namespace(**{**vars(args), "duration": args.warmup})
    wrk(base, "/hello", short)
    wrk(base, "/api/v1/progress/heartbeat", short, [str(beats), "heartbeat", str(10**6)])
