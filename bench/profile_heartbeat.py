"""Micro-profile of the heartbeat's server work, in process (no HTTP, no latency): what one
beat costs in SQL statements, Python function calls and CPU, and where the calls go.

    .venv/bin/python bench/profile_heartbeat.py [--teachers 64] [--batch 16] [--rounds 40] [--top 25]

A fresh SQLite file seeded with ``--teachers`` enrolled teachers of winter-2023; each round
is one group commit of ``--batch`` beats (distinct teachers, each on one of two resources
played at once, 20 campaign seconds apart), taken through the route's steps: the token read,
the body validated from JSON, the campaign and the resource checked, the batch written by the
committer's writer (``reference.batch_writer.BatchWriter``: BEGIN IMMEDIATE, the statements, COMMIT),
the answer serialised. Counts are exact: statements by SQLite's trace callback (an
``executemany`` counts once per row, as SQLite runs it), calls by cProfile. CPU per beat
(``time.process_time``, without the profiler) is indicative on a shared machine; the
statement and call counts are not. Loopback-free; bounded by ``--rounds``.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCENARIO = ROOT / "scenarios" / "winter-2023.yaml"
# inside winter-2023, every course open (bench_reference's clock start)
START = dt.datetime(2023, 1, 10, 20, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
RESOURCES = ("1.1", "1.2")


def build(folder: Path, teachers: int):
    """The app state on a seeded, enrolled SQLite file, and the teachers' tokens."""
    from sqlalchemy import insert, select

    from reference.clock import FixedClock
    from reference.models import CourseProgress, Enrolment, Teacher
    from reference.settings import Settings
    from reference.state import AppState

    url = f"sqlite:///{folder / 'profile.sqlite'}"
    subprocess.run([sys.executable, "-m", "yanxiu.cli", "seed", "--teachers", str(max(teachers, 100)),
                    "--database-url", url, "--scenario", str(SCENARIO), "--out", str(folder / "seed")],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    settings = Settings(database_url=url, scenario=SCENARIO, secret="profile-secret-" + "p" * 20,
                        init_db=False)
    state = AppState.build(settings, FixedClock(START))
    campaign = state.catalogue.name
    with state.db.session() as session:
        ids = list(session.scalars(select(Teacher.id).where(Teacher.role == "teacher").limit(teachers)))
        now = state.clock.now()
        session.execute(insert(Enrolment), [{"teacher_id": t, "campaign": campaign, "enrolled_at": now}
                                            for t in ids])
        session.execute(insert(CourseProgress), [
            {"teacher_id": t, "campaign": campaign, "course_id": c, "studied_s": 0.0, "attempts": 0,
             "test_passed": False} for t in ids for c in state.catalogue.courses])
    tokens = {t: state.signer.issue(t, "teacher", version=0) for t in ids}
    return state, tokens


def beat_bodies(tokens: dict[int, str], batch: int, round_no: int) -> list[tuple[str, bytes]]:
    """One round's beats: ``batch`` teachers, each its own two plays in turn."""
    teachers = list(tokens)
    chosen = [teachers[(round_no * batch + i) % len(teachers)] for i in range(batch)]
    out = []
    for n, teacher in enumerate(chosen):
        visit = (round_no * batch + n) // len(teachers)  # how often this teacher came before
        resource = RESOURCES[visit % 2]
        beat_no = visit // 2 + 1
        body = (f'{{"resource_id":"{resource}","position_s":{20.0 * beat_no},"elapsed_s":20.0,'
                f'"seq":{beat_no}}}').encode()
        out.append((tokens[teacher], body))
    return out


def one_round(state, beats: list[tuple[str, bytes]]) -> list[bytes]:
    """The route's steps for each beat, one group commit for all (reference.api.routes.progress)."""
    from reference.schemas.progress import Heartbeat
    from reference.services.heartbeat import BeatWrite, check_heartbeat

    now = state.clock.now()
    jobs = []
    for token, raw in beats:
        claims = state.signer.read(token)
        body = Heartbeat.model_validate_json(raw)
        catalogue = state.campaigns.for_beat(body.campaign, body.resource_id)
        resource = check_heartbeat(catalogue, body, now)
        write = BeatWrite(catalogue, resource, claims.account_id, body, now, claims.version)
        jobs.append((write, None, None))
    outcomes = state.committer._writer.commit(jobs)
    answers = []
    for ok, result in outcomes:
        assert ok, result
        answers.append(result.model_dump_json().encode())
    return answers


def trace_statements(state, on: bool) -> Counter:
    """Every statement SQLite runs on the writer's connection (by its first words), or no
    more tracing."""
    counted: Counter = Counter()
    raw = state.committer._writer._connect().connection.dbapi_connection
    raw.set_trace_callback((lambda sql: counted.update([" ".join(sql.split()[:3])])) if on else None)
    return counted


def _passes(state, rounds: list, rounds_n: int, run) -> tuple[Counter, pstats.Stats, list[float]]:
    """Three passes over fresh rounds: statements traced, calls profiled, CPU timed alone."""
    counted = trace_statements(state, True)
    for beats in rounds[:rounds_n]:
        run(beats)
    trace_statements(state, False)
    profiler = cProfile.Profile(time.process_time)  # CPU, not the commit's fsync wait
    for beats in rounds[rounds_n:2 * rounds_n]:
        profiler.enable()
        run(beats)
        profiler.disable()
    cpu = []
    for beats in rounds[2 * rounds_n:3 * rounds_n]:
        started = time.process_time()
        run(beats)
        cpu.append(time.process_time() - started)
    return counted, pstats.Stats(profiler), cpu


def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="yanxiu-profile-") as tmp:
        state, tokens = build(Path(tmp), args.teachers)
        rounds = [beat_bodies(tokens, args.batch, r) for r in range(3 * args.rounds + len(tokens))]
        warm = len(tokens) * 2 // args.batch + 2  # every teacher's first beats (they only start clocks)
        if args.asgi:
            from bench.profile_asgi import asgi_round, hello_cpu

            app = asgi_app(state)

            def run(beats):
                asgi_round(app, beats)
                state.clock.advance(20)
        else:
            def run(beats):
                one_round(state, beats)
                state.clock.advance(20)
        for beats in rounds[:warm]:
            run(beats)
        counted, stats, cpu = _passes(state, rounds[warm:], args.rounds, run)
        hello = hello_cpu(app, args.rounds * args.batch) if args.asgi else None
        state.db.dispose()
    report(args, counted, stats, cpu, hello)


def asgi_app(state):
    from reference.main import create_app

    app = create_app(state.settings, state.clock, init_db=False)
    app.state.yanxiu.db.dispose()
    app.state.yanxiu = state  # the same database, clock and committer as the service passes
    return app


def report(args, counted: Counter, stats: pstats.Stats, cpu: list[float],
           hello: tuple[float, float] | None) -> None:
    beats_done = args.rounds * args.batch
    calls = sum(entry[1] for entry in stats.stats.values())  # type: ignore[attr-defined]
    statements = sum(counted.values())
    what = "the whole app, in process (ASGI calls, no socket)" if args.asgi else "the heartbeat's own steps"
    print(f"{what}; batch of {args.batch}, {args.rounds} rounds per pass ({beats_done} beats, "
          "each crediting):")
    print(f"  SQL statements per beat: {statements / beats_done:.3f} ({statements / args.rounds:.1f} per "
          f"batch: {', '.join(f'{k} x{v / args.rounds:g}' for k, v in counted.most_common())})")
    print(f"  Python function calls per beat: {calls / beats_done:.0f}")
    per_beat = sorted(cpu)[len(cpu) // 2] * 1000 / args.batch
    print(f"  CPU per beat (no profiler, median round): {per_beat:.3f} ms")
    if hello is not None:
        print(f"  /hello through the same app: CPU {hello[0]:.3f} ms, {hello[1]:.0f} Python calls")
    own: Counter = Counter()
    called: Counter = Counter()
    for (filename, _line, _name), entry in stats.stats.items():  # type: ignore[attr-defined]
        own[_package(filename)] += entry[2]
        called[_package(filename)] += entry[1]
    total = sum(own.values()) or 1
    print("  own CPU by package: " + ", ".join(f"{k} {v / total:.0%}" for k, v in own.most_common(12)))
    print("  calls per beat by package: " + ", ".join(f"{k} {v / beats_done:.0f}"
                                                     for k, v in called.most_common(12)))
    stats.sort_stats("tottime").print_stats(args.top)


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/")[1].split("/")[0]
    for layer in ("reference/", "domain/", "bench/"):
        if f"/{layer}" in filename:
            return layer.rstrip("/") + "/" + Path(filename).stem
    return "python" if filename.startswith(("/", "<frozen")) else filename  # stdlib, C built-ins


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--asgi", action="store_true",
                        help="through the whole app (middleware, routing, the route) by ASGI calls")
    args = parser.parse_args(argv)
    if not 0 < args.batch <= args.teachers:
        parser.error("--batch: between 1 and --teachers")
    measure(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
