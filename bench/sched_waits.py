"""Where a server thread's wall time goes on a shared host: CPU run time and the wait for a core.

    .venv/bin/python bench/sched_waits.py sample OUT.jsonl SECONDS      # beside a bench, no load of its own
    .venv/bin/python bench/sched_waits.py levels OUT.jsonl LEVEL_FOLDER [LEVEL_FOLDER ...]

``sample`` reads once a second every thread's ``/proc/<pid>/task/<tid>/schedstat`` (CPU run
time, time waiting in the run queue for a core, time slices) of the reference server's worker
processes (children of ``yanxiu.cli serve``), the PostgreSQL backends of its ``yanxiu_*``
database and Locust, and ``/proc/pressure/cpu``'s "some" total; about 0.2% of a core. ``levels``
takes each load test's replay window from its Locust history (from 10 s in) and prints, per role
and for the workers' loop (the main thread), writer (the non-main thread with the most time
slices: the PostgreSQL writer thread) and pool threads, run and wait in ms a second and their
stretch (run + wait) / run, and per batch of the writer (``level.json`` ``comparison.writer``).
Measured on 2026-12-01 (docs/calibration-log.md, "Demands that move with load"): the writer's wait
for a core 1.04 -> 2.50 ms a batch from 30 to 110% of the PostgreSQL knee.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _role(pid: str) -> str | None:
    cmd = _read(f"/proc/{pid}/cmdline") or ""
    if "spawn_main" in cmd:
        stat = _read(f"/proc/{pid}/stat") or ""
        parent = stat.rsplit(")", 1)[-1].split()[1] if ")" in stat else "0"
        return "worker" if "yanxiu.cli\0serve" in (_read(f"/proc/{parent}/cmdline") or "") else None
    if cmd.startswith("postgres: ") and "yanxiu" in cmd:
        return "pg"
    return "locust" if "locust" in cmd and "-f" in cmd else None


def _tasks(pid: str) -> dict[str, list[int]]:
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task") if os.path.isdir(f"/proc/{pid}/task") else []:
        stat = _read(f"/proc/{pid}/task/{tid}/schedstat")
        if stat:
            out[tid] = [int(x) for x in stat.split()]
    return out


def sample(out: Path, seconds: float) -> None:
    end = time.time() + seconds
    with out.open("a", buffering=1) as f:
        while time.time() < end:
            now = time.time()
            procs = {pid: {"role": role, "tasks": _tasks(pid)} for pid in os.listdir("/proc")
                     if pid.isdigit() and (role := _role(pid)) is not None}
            psi = _read("/proc/pressure/cpu")
            some = int(psi.split("total=")[1].split()[0]) if psi else None
            f.write(json.dumps({"t": now, "psi_some_us": some, "procs": procs}) + "\n")
            time.sleep(max(0.0, 1.0 - (time.time() - now)))


def _window(folder: Path) -> tuple[float, float]:
    rows = list(csv.DictReader((folder / "stats_history.csv").open()))
    stamps = [float(r["Timestamp"]) for r in rows]
    return min(stamps) + 10.0, max(stamps)


def _deltas(first: dict, last: dict) -> dict[str, list[tuple[str, str, list[int]]]]:
    """Per role: (pid, tid, [run ns, wait ns, slices]) moved between two samples."""
    out: dict[str, list[tuple[str, str, list[int]]]] = {}
    for pid, proc in last["procs"].items():
        before = first["procs"].get(pid)
        if before is None:
            continue
        for tid, now in proc["tasks"].items():
            then = before["tasks"].get(tid, [0, 0, 0])
            moved = [a - b for a, b in zip(now, then, strict=False)]
            out.setdefault(proc["role"], []).append((pid, tid, moved))
    return out


def _line(name: str, moved: list[list[int]], seconds: float) -> str:
    run, wait, slices = (sum(m[i] for m in moved) for i in range(3))
    return (f"  {name:7s} run {run / 1e6 / seconds:7.1f} ms/s  wait for a core "
            f"{wait / 1e6 / seconds:7.1f} ms/s  stretch {(run + wait) / max(run, 1):.2f}  "
            f"slices/s {slices / seconds:.0f}")


def levels(samples: Path, folders: list[Path]) -> None:
    snaps = [json.loads(line) for line in samples.open()]
    for folder in folders:
        start, end = _window(folder)
        inside = [s for s in snaps if start <= s["t"] <= end]
        if len(inside) < 5:
            print(f"== {folder}: {len(inside)} samples in its window")
            continue
        seconds = inside[-1]["t"] - inside[0]["t"]
        moved = _deltas(inside[0], inside[-1])
        print(f"== {folder} ({seconds:.0f} s)")
        for role, rows in moved.items():
            print(_line(role, [m for _, _, m in rows], seconds))
        workers = moved.get("worker", [])
        loop = [m for pid, tid, m in workers if pid == tid]
        writers, pool = [], []
        for pid in {p for p, _, _ in workers}:
            others = sorted((m for p, t, m in workers if p == pid and t != pid), key=lambda m: -m[2])
            writers += others[:1]
            pool += others[1:]
        for name, threads in (("loop", loop), ("writer", writers), ("pool", pool)):
            print(_line(name, threads, seconds))
        level = folder / "level.json"
        record = json.loads(level.read_text()) if level.is_file() else {}
        writer = (record.get("comparison") or {}).get("writer") or {}
        batches_s = (writer.get("batches") or 0) / 100.0  # over the 100-s replay
        if batches_s and writers:
            run, wait = (sum(m[i] for m in writers) / 1e6 / seconds / batches_s for i in (0, 1))
            print(f"  writer a batch: CPU {run:.2f} ms, wait for a core {wait:.2f} ms; transaction "
                  f"{writer.get('commit_ms', 0):.2f} ms of {writer.get('jobs_a_batch', 0):.2f} jobs")


def main() -> int:
    if len(sys.argv) >= 4 and sys.argv[1] == "sample":
        sample(Path(sys.argv[2]), float(sys.argv[3]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "levels":
        levels(Path(sys.argv[2]), [Path(a) for a in sys.argv[3:]])
    else:
        print(__doc__.strip().splitlines()[2])
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
