"""The fault campaign: the reference platform under a steady heartbeat and SMS load, one fault
at a time, on SQLite and on PostgreSQL; nothing acknowledged may be lost.

    .venv/bin/python bench/fault_campaign.py [--backends sqlite,postgres] [--teachers 16]
        [--fault-s 3] [--workers 2] [--faults kill,pg-restart,pg-backends,disk-full,stall,sms]

Per backend: a fresh database (SQLite on a size-limited tmpfs, so its disk can fill;
PostgreSQL ``yanxiu_fault_<pid>`` at 127.0.0.1:5432, dropped afterwards), ``--teachers``
seeded teachers each playing two videos at once (``bench.fault_load``) and a new phone asking
for an SMS code every 0.2 s, against ``--workers`` uvicorn workers of the reference app
(``bench.fault_app``). Faults (``bench.faults``): kill -9 of a worker; a real PostgreSQL
restart (the local Debian cluster stopped, held down, started: root only, at most 3 s held,
about 7 s down in all; every database on that server goes down with it, and it is started
again whatever happens); PostgreSQL's backends of this database terminated again and again;
the SQLite disk full; a stalled connection (the write lock held); the SMS gateway failing.
Each fault lasts ``--fault-s`` (the kill is instant), then the campaign waits until the load
has run 1.5 s without a failed try (at most 15 s). Per fault: while it was on, the tries, the
failed ones and those answered 5xx without a Retry-After in seconds (a 500, not a 503 to
retry); over its window, failed tries, timeouts, the slowest answer, the first heartbeat
answered 200 after the fault was over (for a restart: after the server accepted connections
again) and the last failed try, heartbeats acknowledged and acknowledged ones lost. At the end,
per backend: study time credited twice (one teacher's plays together over his play time, or a
course total that is not its resources' sum) and the SMS codes acknowledged against those
stored. Exit 1 if anything acknowledged was lost or credited twice, a fault was answered with
a 500 or not within 5 s, or the load did not recover. Loopback only; bounded: about a minute
and a half per backend.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import fault_load as load  # noqa: E402
from bench import faults  # noqa: E402
from bench.bench_reference import _free_port, stop_server, wait_ready  # noqa: E402

SCENARIO = ROOT / "scenarios" / "smoke.yaml"
CLOCK_START = "2023-01-04T10:00"  # inside the smoke campaign; course 1 open
CLEAN_S, RECOVER_MAX_S, BASELINE_S = 1.5, 15.0, 2.0
ROWS_SQL = "SELECT teacher_id, resource_id, watched_s, last_seq FROM resource_progress"
STUDIED_SQL = ("SELECT teacher_id, sum(studied_s) FROM course_progress WHERE campaign = 'smoke' "
               "GROUP BY teacher_id")


@dataclass
class Row:
    backend: str
    fault: str
    window_s: float = 0.0
    beats: int = 0
    beats_failed: int = 0
    sms: int = 0
    sms_failed: int = 0
    timeouts: int = 0
    slowest_s: float = 0.0
    recover_s: float = 0.0
    acked: int = 0
    lost: int = 0
    note: str = ""
    held_s: float = 0.0  # from inject() to the end of lift() (0: an instant fault)
    during: int = 0  # tries answered while the fault was on (an instant fault: the whole window)
    during_failed: int = 0
    unsafe: int = 0  # ... answered 5xx without a Retry-After in whole seconds (a 500, not a 503 to retry)
    first_ok_s: float = -1.0  # from the lifting to the first heartbeat answered 200 (-1: none)
    retry_after: str = ""  # the Retry-After values of the sheds while the fault was on


def _yanxiu(*args: str) -> list[str]:
    return [sys.executable, "-m", "yanxiu.cli", *args]


def start(url: str, workers: int, flag: Path, log: Path) -> tuple[subprocess.Popen, str]:
    from reference.settings import Settings

    settings = Settings(database_url=url, scenario=SCENARIO, secret="fault-campaign-" + "s" * 20,
                        clock_start=CLOCK_START, clock_origin=time.time(), init_db=False, workers=workers)
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANXIU_")}
    env |= settings.to_env() | {"FAULT_SMS_FLAG": str(flag)}
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.fault_app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning",
         "--timeout-graceful-shutdown", "5"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    return server, wait_ready(server, port, log)


def sign_in(base: str, accounts: Path, teachers: int) -> list[load.Play]:
    with accounts.open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["role"] == "teacher"][:teachers]
    plays = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for row in rows:
            secret = {"mobile": row["mobile"], "password": row["password"]}
            answer = client.post("/api/v1/auth/login", json=secret)
            answer.raise_for_status()
            token, teacher = answer.json()["token"], answer.json()["teacher_id"]
            client.post("/api/v1/campaigns/smoke/enrol",
                        headers={"Authorization": f"Bearer {token}"}).raise_for_status()
            plays += [load.Play(token, teacher, resource) for resource in load.RESOURCES]
    return plays


def run_fault(fault: faults.Fault, log: load.Log, backend: str, fault_s: float) -> tuple[Row, float, float]:
    """Inject, hold, lift (always: a stopped PostgreSQL is started again whatever happens),
    wait for a clean stretch; the row (load figures filled later) and the window's bounds."""
    time.sleep(BASELINE_S)
    started = time.monotonic()
    try:
        fault.inject()
        if not fault.instant:
            time.sleep(min(fault_s, fault.longest_s))
    finally:
        if not fault.instant:
            fault.lift()
    lifted = fault.over_at or time.monotonic()
    while time.monotonic() - lifted < RECOVER_MAX_S:
        time.sleep(0.25)
        bad = [a.at for a in log.attempts[-2000:] if a.outcome != "ok" and a.at >= started]
        if time.monotonic() - max(bad, default=lifted) >= CLEAN_S:
            break
    ended = time.monotonic()
    return _measure(fault, log.attempts, backend, (started, lifted, ended)), started, ended


def _measure(fault: faults.Fault, attempts: list[load.Attempt], backend: str,
             times: tuple[float, float, float]) -> Row:
    started, lifted, ended = times
    tries = [a for a in attempts if started <= a.at <= ended]
    beats = [a for a in tries if a.kind == "heartbeat"]
    sms = [a for a in tries if a.kind == "sms_send"]
    failed = [a for a in tries if a.outcome != "ok"]
    during = tries if fault.instant else [a for a in tries if a.at <= lifted]
    first_ok = min((a.at for a in beats if a.at >= lifted and a.outcome == "ok"), default=None)
    return Row(backend, fault.name, ended - started, len(beats), sum(a.outcome != "ok" for a in beats),
               len(sms), sum(a.outcome != "ok" for a in sms), sum(a.outcome == "timeout" for a in tries),
               max((a.latency_s for a in tries), default=0.0),
               max(0.0, max((a.at for a in failed), default=lifted) - lifted) if failed else 0.0,
               held_s=0.0 if fault.instant else lifted - started, during=len(during),
               during_failed=sum(a.outcome != "ok" for a in during),
               unsafe=sum(a.status >= 500 and a.outcome == "error" for a in during),
               first_ok_s=-1.0 if first_ok is None else first_ok - lifted,
               retry_after=",".join(sorted({a.retry_after for a in during if a.outcome == "shed"}, key=int)))


def campaign(backend: str, args: argparse.Namespace, out: Path) -> tuple[list[Row], list[str]]:
    mount = out / "disk"
    url, database, why_not = _database(backend, out, mount)
    flag = out / "sms-down"
    rows: list[Row] = []
    findings: list[str] = []
    seeded = subprocess.run(_yanxiu("seed", "--teachers", str(max(args.teachers, 20)), "--database-url", url,
                                    "--scenario", str(SCENARIO), "--out", str(out / "seed")),
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    if seeded.returncode:
        raise SystemExit(f"seed failed: {seeded.stderr[-800:]}")
    server, base = start(url, args.workers, flag, out / "server.log")
    log, book, stop = load.Log(), load.SmsBook(), threading.Event()
    try:
        plays = sign_in(base, out / "seed" / "accounts.csv", args.teachers)
        deadline = time.monotonic() + 300
        threads = [threading.Thread(target=load.player, args=(base, log, plays[i:i + 2], stop, deadline),
                                    daemon=True) for i in range(0, len(plays), 2)]
        threads.append(threading.Thread(target=load.sms_sender, daemon=True,
                                        args=(base, log, book, stop, deadline, 17000000000)))
        for thread in threads:
            thread.start()
        windows = []
        for fault in _faults(backend, (server, url, database, mount, flag), why_not, rows, args.faults):
            row, started, ended = run_fault(fault, log, backend, args.fault_s)
            if isinstance(fault, faults.KillWorker):
                row.note = f"{len(faults.worker_pids(server))} workers after"
            if isinstance(fault, faults.PostgresBackendsKilled):
                row.note = f"{fault.terminated} backends terminated"
            if isinstance(fault, faults.PostgresRestart):
                row.note = f"server down {fault.outage_s:.1f} s (its stop took {fault.stop_s:.1f} s)"
            rows.append(row)
            windows.append((row, started, ended))
            print(f"  {fault.name}: {row.beats_failed + row.sms_failed} failed tries, recovered in "
                  f"{row.recover_s:.2f} s", flush=True)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        findings += _check(url, plays, book, windows, base, log)
    finally:
        stop.set()
        stop_server(server)
        _drop(backend, database, mount)
    return rows, findings


def _database(backend: str, out: Path, mount: Path) -> tuple[str, str, str | None]:
    if backend == "sqlite":
        why_not = faults.mount_tmpfs(mount, 64)
        folder = out if why_not else mount
        return f"sqlite:///{folder / 'fault.sqlite'}", "", why_not
    database = f"yanxiu_fault_{os.getpid()}"
    with psycopg.connect(faults.PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    return f"postgresql://postgres@127.0.0.1:5432/{database}", database, None


def _drop(backend: str, database: str, mount: Path) -> None:
    if backend == "sqlite":
        if mount.is_mount():
            faults.unmount(mount)
        return
    with psycopg.connect(faults.PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


FAULTS = ("kill", "pg-restart", "pg-backends", "disk-full", "stall", "sms")  # --faults, in this order


def _faults(backend: str, on: tuple, why_not: str | None, rows: list[Row],
            wanted: list[str]) -> list[faults.Fault]:
    """The faults ``wanted`` that apply to ``backend``, in FAULTS' order; a row saying why for
    those that do not."""
    server, url, database, mount, flag = on
    chosen: dict[str, faults.Fault] = {"kill": faults.KillWorker(server)}
    skipped: dict[str, tuple[str, str]] = {}
    if backend == "postgres":
        cluster = faults.local_cluster()
        if isinstance(cluster, str):
            skipped["pg-restart"] = (faults.PostgresRestart.name, f"skipped: {cluster}")
        else:
            chosen["pg-restart"] = faults.PostgresRestart(cluster)
        chosen["pg-backends"] = faults.PostgresBackendsKilled(database)
        chosen["stall"] = faults.StalledPostgres(url)
        skipped["disk-full"] = ("disk full", "n/a: the shared server's disk")
    else:
        skipped["pg-restart"] = ("PostgreSQL restart", "n/a")
        skipped["pg-backends"] = ("PostgreSQL backends killed", "n/a")
        if why_not:
            skipped["disk-full"] = ("disk full", f"skipped: cannot mount a tmpfs ({why_not})")
        else:
            chosen["disk-full"] = faults.DiskFull(mount, Path(url.removeprefix("sqlite:///")))
        chosen["stall"] = faults.StalledSqlite(Path(url.removeprefix("sqlite:///")))
    chosen["sms"] = faults.SmsDown(flag)
    rows += [Row(backend, name, note=note) for key, (name, note) in skipped.items() if key in wanted]
    return [chosen[key] for key in FAULTS if key in wanted and key in chosen]


def _check(url: str, plays: list[load.Play], book: load.SmsBook, windows: list, base: str,
           log: load.Log) -> list[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            found = conn.execute(text(ROWS_SQL))
            db_rows = {(t, r): (w, s) for t, r, w, s in found}
            studied: dict[int, float] = {t: s for t, s in conn.execute(text(STUDIED_SQL))}
            stored = {m for (m,) in conn.execute(text("SELECT mobile FROM sms_codes"))}
    finally:
        engine.dispose()
    ledger = load.check_plays(plays, db_rows)
    for row, started, ended in windows:
        row.acked = sum(started <= a.at <= ended and not a.replay for p in plays for a in p.acks)
        row.lost = sum(started <= at <= ended for at, _ in ledger.lost)
    findings = [f"lost: {what}" for _, what in ledger.lost]
    findings += [f"credited twice: {what}" for what in load.double_credit(plays, db_rows, studied)]
    unstored = [m for m in book.accepted if m not in stored]
    spent = [m for m in book.failed if m in stored]
    findings += [f"SMS acknowledged but not stored: {m}" for m in unstored]
    findings += [f"SMS failed but its code stored (a limit spent): {m}" for m in spent]
    retried = 0
    with httpx.Client(base_url=base, timeout=10) as client:
        for mobile in book.failed[:20]:  # the gateway is back: at once, not a minute later
            retried += client.post("/api/v1/sms/send", json={"mobile": mobile, "purpose": "register"}
                                   ).status_code == 202
    print(f"  heartbeats: {ledger.acked} acknowledged, {ledger.acked - len(ledger.lost)} of them in the "
          f"database, {len(ledger.lost)} lost; {ledger.unacked_written} written but not answered "
          f"(answered as replays on resend: {ledger.replays}); SMS: {len(book.accepted)} acknowledged, "
          f"{len(book.accepted) - len(unstored)} stored; {len(book.failed)} failed, {len(spent)} stored, "
          f"{retried}/{min(len(book.failed), 20)} accepted again at once; tries in all: {len(log.attempts)}",
          flush=True)
    return findings


def table(rows: list[Row]) -> str:
    """While the fault was on: tries, failed, 5xx without Retry-After; then the window's load,
    the first heartbeat answered 200 after the lifting and the last failure after it."""
    head = (f"{'backend':8} {'fault':35} {'window':>6} {'held':>5} {'tries':>5} {'failed':>6} {'5xx':>3} "
            f"{'beats':>5} {'failed':>6} {'sms':>3} {'failed':>6} {'t/o':>3} {'slowest':>7} {'1st ok':>6} "
            f"{'recover':>7} {'acked':>5} {'lost':>4}  note")
    lines = [head, "-" * len(head)]
    for r in rows:
        if not r.window_s:
            lines.append(f"{r.backend:8} {r.fault:35} {'':>92}  {r.note}")
            continue
        pct = [100 * bad / max(all_, 1) for bad, all_ in
               ((r.during_failed, r.during), (r.beats_failed, r.beats), (r.sms_failed, r.sms))]
        note = "; ".join(filter(None, [r.note, f"Retry-After {r.retry_after} s" if r.retry_after else ""]))
        lines.append(f"{r.backend:8} {r.fault:35} {r.window_s:5.1f}s {r.held_s:4.1f}s {r.during:5d} "
                     f"{pct[0]:5.1f}% {r.unsafe:3d} {r.beats:5d} {pct[1]:5.1f}% {r.sms:3d} {pct[2]:5.1f}% "
                     f"{r.timeouts:3d} {r.slowest_s:6.2f}s {r.first_ok_s:5.2f}s {r.recover_s:6.2f}s "
                     f"{r.acked:5d} {r.lost:4d}  {note}")
    return "\n".join(lines)


def row_findings(rows: list[Row]) -> list[str]:
    """A fault must be answered (503 with Retry-After, or a refused connection for a killed
    worker), never with a 500 or not at all, and the load must recover after it."""
    found = []
    for r in rows:
        what = f"{r.backend} {r.fault}"
        if r.unsafe:
            found.append(f"{what}: {r.unsafe} answers 5xx without a Retry-After in seconds while it was on")
        if r.timeouts:
            found.append(f"{what}: {r.timeouts} requests unanswered within {load.TIMEOUT_S:g} s (hung)")
        if r.window_s and r.first_ok_s < 0:
            found.append(f"{what}: no heartbeat answered 200 after it was lifted")
    return found


def _on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(143)  # unwinds through the finally blocks: a stopped PostgreSQL is started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"some of {','.join(FAULTS)}")
    parser.add_argument("--teachers", type=int, default=16)
    parser.add_argument("--fault-s", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    backends, args.faults = args.backends.split(","), args.faults.split(",")
    choices = (("--backends", backends, ("sqlite", "postgres")), ("--faults", args.faults, FAULTS))
    for name, given, known in choices:
        if unknown := [g for g in given if g not in known]:
            parser.error(f"{name}: unknown {unknown[0]!r} ({', '.join(known)})")
    if not 0 < args.fault_s <= 60 or not 1 <= args.teachers <= 200 or not 1 <= args.workers <= 8:
        parser.error("--fault-s must be in (0, 60], --teachers in [1, 200], --workers in [1, 8]")
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    rows, findings = [], []
    try:
        for backend in backends:
            print(f"{backend}:", flush=True)
            with tempfile.TemporaryDirectory(prefix=f"yanxiu-fault-{backend}-") as tmp:
                got, found = campaign(backend, args, Path(tmp))
            rows += got
            findings += found
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)
        if "postgres" in backends and "pg-restart" in args.faults:
            findings += _postgres_up()
    print(table(rows))
    findings += row_findings(rows)
    print("\n".join(findings) or "no acknowledged heartbeat or SMS lost; no study time credited twice; "
          "every fault answered (503 with Retry-After or a refused connection, no 500, no hang)")
    return 1 if findings else 0


def _postgres_up() -> list[str]:
    """The PostgreSQL server is running at the end (others use it): started if need be, then
    ``pg_isready -h 127.0.0.1`` asked."""
    cluster = faults.local_cluster()
    if not isinstance(cluster, str):
        faults.ensure_running(cluster)
    ready = subprocess.run(["pg_isready", "-h", "127.0.0.1"], capture_output=True, text=True, timeout=30)
    print(f"at the end: {ready.stdout.strip() or ready.stderr.strip()}", flush=True)
    return [] if ready.returncode == 0 else [f"PostgreSQL not ready at the end: {ready.stdout.strip()}"]


if __name__ == "__main__":
    raise SystemExit(main())
