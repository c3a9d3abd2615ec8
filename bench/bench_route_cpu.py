"""The api's demands per endpoint checked against loads of one endpoint alone (issue 12).

    .venv/bin/python bench/bench_route_cpu.py --platform CAL.json [--teachers 2000] [--seconds 15]
        [--scenario scenarios/smoke.yaml] [--model-results FOLDER] [--json OUT]

A reference platform (SQLite, 2 workers) is seeded and served on 127.0.0.1; ``--sessions``
teachers sign in; then each endpoint alone (heartbeat, campaign page, sign-in) is sent open-loop
at two rates (``PHASES``) from keep-alive connections, every request scheduled (bounded), and
the server's process-tree CPU (psutil) and ``/metrics`` are read around each phase. A
calibration never saw these mixes: its steps always mix heartbeats, sign-ins and pages.

Printed per phase: requests and their statuses, the server's busy seconds measured, the route
CPU counter's share, and the busy seconds each api fit of ``--platform``'s calibration predicts
for that phase (idle·T + Σ N·d + c·W, the wake-ups W from the chain at the phase's rate as the
calibration predicts them), with its error: the fit written (``fits.api`` of the json: from the
routes' CPU when the target had the counter) and the utilisation law alone re-fitted on the
same calibration's rows (``calibrate.fit.fit_event_loop``, as before the counter). Asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

# (endpoint, requests/s) phases: each endpoint alone, at a light rate and at a rate where a loop
# wakes less than once a request (heartbeats), as far as this 2-core machine allows
PHASES = (
    ("heartbeat", 40.0),
    ("heartbeat", 250.0),
    ("campaign_page", 20.0),
    ("campaign_page", 60.0),
    ("login", 4.0),
    ("login", 12.0),
)
CONNECTIONS = 16


def _request(
    conn: http.client.HTTPConnection, method: str, path: str, body: dict | None, token: str | None
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    answer = conn.getresponse()
    return answer.status, answer.read()


class Session:
    """A signed-in teacher: its token, a resource of an open course, its heartbeats' sequence."""

    def __init__(self, conn: http.client.HTTPConnection, account) -> None:
        self.account = account
        status, body = _request(
            conn, "POST", "/api/v1/auth/login", {"mobile": account.mobile, "password": account.password}, None
        )
        if status != 200:
            raise SystemExit(f"sign-in of {account.mobile}: HTTP {status}")
        self.token = json.loads(body)["token"]
        _, page = _request(conn, "GET", "/api/v1/campaign", None, self.token)
        courses = json.loads(page).get("courses") or []
        resources = [r for c in courses for r in c.get("resources") or []]
        self.resource = resources[0]["id"] if resources else None
        self.seq = int((time.time() - 1.75e9) * 20)

    def call(self, endpoint: str) -> tuple[str, str, dict | None, str | None]:
        if endpoint == "heartbeat":
            self.seq += 1
            return (
                "POST",
                "/api/v1/progress/heartbeat",
                {"resource_id": self.resource, "position_s": 10.0, "elapsed_s": 10.0, "seq": self.seq},
                self.token,
            )
        if endpoint == "campaign_page":
            return "GET", "/api/v1/campaign", None, self.token
        return (
            "POST",
            "/api/v1/auth/login",
            {"mobile": self.account.mobile, "password": self.account.password},
            None,
        )


def _phase(port: int, sessions: list[Session], endpoint: str, rate: float, seconds: float) -> dict[str, int]:
    """``rate`` requests/s of ``endpoint`` for ``seconds`` (deterministic spacing, round robin
    over the sessions), on ``CONNECTIONS`` keep-alive connections; the statuses counted."""
    jobs: queue.Queue = queue.Queue()
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while (job := jobs.get()) is not None:
            try:
                status, _ = _request(conn, *job)
            except OSError:
                status, conn = 0, http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                statuses[str(status)] = statuses.get(str(status), 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(CONNECTIONS)]
    for t in threads:
        t.start()
    count, start = int(rate * seconds), time.monotonic()
    for i in range(count):
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
        jobs.put(sessions[i % len(sessions)].call(endpoint))
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join(60)
    return statuses


def _predict(fit, endpoint: str, requests: float, seconds: float, servers: int) -> float:
    """Busy seconds a fit (``TierFit``) predicts for ``requests`` of one endpoint in ``seconds``."""
    from calibrate.fit import WAKEUPS, Row, predicted_wakeups

    names = [e for e in fit.demands if e != WAKEUPS]
    demand_s = np.array([fit.demands[e].ms / 1000.0 for e in names])
    c_s = fit.demands[WAKEUPS].ms / 1000.0 if WAKEUPS in fit.demands else 0.0
    row = Row(0, seconds, {endpoint: requests}, {})
    wakeups = float(predicted_wakeups([row], names, demand_s, c_s, servers)[0])
    return fit.idle_rate * seconds + requests * fit.demands[endpoint].ms / 1000.0 + c_s * wakeups


def _fits(platform_json: Path, servers: int):
    """The calibration's api fit as written, and the utilisation law alone on its rows."""
    from calibrate.fit import Demand, Row, TierFit, fit_event_loop

    data = json.loads(platform_json.read_text())
    api = data["fits"]["api"]
    written = TierFit(
        "api",
        api["idle_rate"],
        {
            e: Demand(**{k: v for k, v in d.items() if k in Demand.__dataclass_fields__})
            for e, d in api["demands_ms"].items()
        },
        api["r2"],
        api["rows"],
    )
    rows = [Row(r["step"], r["seconds"], r["requests"], r["busy_s"]) for r in data["rows"]]
    left_out = set(data.get("left_out_of_fit") or [])
    names = [s["name"] for s in data["step_results"]]
    rows = [r for r in rows if r.step < 0 or names[r.step] not in left_out]
    endpoints = [e for e in written.demands if not e.startswith("(")]
    law = fit_event_loop("api", rows, endpoints, servers, np.random.default_rng(0))
    return written, law


def _error(predicted: float, measured: float) -> str:
    return f"{100 * (predicted / measured - 1):+.0f}%" if measured > 0 else "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", type=Path, required=True, help="a calibration's platform.json")
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "smoke.yaml")
    parser.add_argument("--model-results", type=Path, default=ROOT / "results" / "smoke")
    parser.add_argument("--teachers", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clock", default="2023-01-05T20:00")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    from calibrate.probes import COMMITS_CPU, MetricsScrape, ProcessCpu
    from calibrate.target import reference
    from loadtests.accounts import load_accounts

    written, law = _fits(args.platform, 2)
    out = []
    with reference(
        args.scenario,
        args.teachers,
        args.clock,
        "000000",
        2,
        144.0,
        args.clock,
        args.model_results,
        None,
        print,
    ) as target:
        port = int(target.url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        # enrolled and studying (a beat of a teacher not enrolled is refused 403 and writes nothing)
        teachers = [a for a in load_accounts(target.accounts) if a.role == "teacher" and not a.resume]
        accounts = [a for a in teachers if a.progress == "studying"] or teachers
        sessions = [Session(conn, a) for a in accounts[: args.sessions]]
        assert target.probes.api_cpu is not None  # a server started here
        cpu, metrics = ProcessCpu(target.probes.api_cpu.pid), MetricsScrape(target.url)
        for endpoint, rate in PHASES:
            time.sleep(2.0)
            c0, s0, t0 = cpu.seconds(), metrics.read(), time.monotonic()
            statuses = _phase(port, sessions, endpoint, rate, args.seconds)
            c1, s1, t1 = cpu.seconds(), metrics.read(), time.monotonic()
            n = s1.requests.get(endpoint, 0.0) - s0.requests.get(endpoint, 0.0)
            others = sum(s1.requests.values()) - sum(s0.requests.values()) - n
            route = s1.route_cpu.get(endpoint, 0.0) - s0.route_cpu.get(endpoint, 0.0)
            # the group commits' CPU and jobs in the phase (a heartbeat's write, outside its request)
            commit_s = s1.route_cpu.get(COMMITS_CPU, 0.0) - s0.route_cpu.get(COMMITS_CPU, 0.0)
            jobs = (s1.jobs or 0.0) - (s0.jobs or 0.0)
            commits = (s1.commits or 0.0) - (s0.commits or 0.0)
            busy, seconds = c1 - c0, t1 - t0
            written_s = _predict(written, endpoint, n, seconds, 2)
            law_s = _predict(law, endpoint, n, seconds, 2)
            line = {
                "endpoint": endpoint,
                "rate": rate,
                "requests": n,
                "other_requests": others,
                "statuses": statuses,
                "seconds": seconds,
                "busy_s": busy,
                "route_cpu_s": route,
                "commit_cpu_s": commit_s,
                "jobs": jobs,
                "commits": commits,
                "written_s": written_s,
                "law_s": law_s,
            }
            out.append(line)
            print(
                f"{endpoint:14s} {rate:6.0f}/s: {n:5.0f} req ({statuses}), busy {busy:6.3f} s "
                f"({1000 * busy / max(n, 1):.2f} ms a request; route CPU {1000 * route / max(n, 1):.2f} ms), "
                f"predicted: written fit {written_s:.3f} s ({_error(written_s, busy)}), "
                f"law alone {law_s:.3f} s ({_error(law_s, busy)})"
                + (f"; commits {commit_s:.3f} s CPU, {jobs:.0f} jobs, {commits:.0f} commits" if jobs else "")
            )
    for name, fit in (("written", written), ("law alone", law)):
        shown = ", ".join(
            f"{e} {fit.demands[e].ms:.2f} [{fit.demands[e].lo_ms:.2f}, {fit.demands[e].hi_ms:.2f}]"
            for e in ("heartbeat", "campaign_page", "login", "(wake-ups)")
            if e in fit.demands
        )
        print(f"fit {name}: {shown} ms; idle {fit.idle_rate:.3f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
