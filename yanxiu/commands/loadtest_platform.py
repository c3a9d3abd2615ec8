"""``yanxiu loadtest`` on a platform scenario: its campaigns' combined load, replayed at once.

The reference platform is started on the platform scenario (it serves every campaign). The
stretch is chosen on the platform's total load (``peak-day``: the day the campaigns together
are busiest) and each campaign replays those same minutes of its own model results
(``<model>/campaigns/<name>/``) with its own Locust run, all against that one server at one
scale, so the server sees the sum. A campaign whose horizon starts inside the stretch starts
that much later; one with no minute in it is left out (said). Each replay addresses its own
campaign (a route map adds ``?campaign=`` to the campaign page, heartbeat, certificate and
administrators' progress), signs in with its own slice of the seeded teachers (the
administrators are shared: they only read) and registers new teachers on its own numbers.

Results: ``<out>/campaigns/<name>/``, a load test's folder each (docs/results.md), and one
line per campaign and for all. Not here (refused in one line): ``--host`` and the options
that describe another system's fixtures, a distributed master or worker, ``--platform``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CAMPAIGN_ROUTES = {
    "campaign_page": ("GET", "/api/v1/campaign?campaign={campaign}"),
    "heartbeat": ("POST", "/api/v1/progress/heartbeat?campaign={campaign}"),
    "certificate": ("GET", "/api/v1/certificate?campaign={campaign}"),
    "admin_progress": ("GET", "/api/v1/admin/progress?campaign={campaign}"),
}
REFUSED = ("host", "route_map", "api", "accounts", "answers", "registrations", "platform",
           "expect_workers", "master_host")
MOBILES_PER_REGISTRATION = 1.5  # new numbers per planned registration (retries, resends), estimate


@dataclass
class Part:
    """One campaign's replay within the combined one."""

    name: str
    file: Path
    model: Path
    context: Any  # loadtests.options.Context
    delay_s: float  # test seconds after the first replay's start
    out: Path


def run(plan, args: argparse.Namespace) -> int:
    """Replay the combined load of platform scenario ``plan`` (``domain.platform.PlatformScenario``)."""
    from loadtests.target import ReferenceTarget
    from yanxiu import replay_setup as setup

    _refuse(args)
    model = args.model_results or setup.RESULTS / plan.name
    if not (model / "timeseries.csv").is_file():
        setup.run_model(args.scenario, model)
    out = args.out or setup.RESULTS / f"loadtest-{plan.name}-{setup.now_slug()}"
    parts = _parts(plan, args, model, out)
    first = min(p.context.plan.first_minute for p in parts)
    clock = first.replace(tzinfo=None).isoformat(timespec="minutes")
    resume = bool(getattr(args, "resume_sessions", False))
    teachers = args.teachers or sum(setup.teachers_needed(p.context.plan, p.model, resume) for p in parts)
    rate = setup.clock_rate(args.compress)
    options = setup.serve_options(args)
    with ReferenceTarget(Path(args.scenario), teachers, clock, args.sms_code, args.server_workers, rate,
                         database_url=args.database_url, serve_options=options) as target:
        assert target.folder is not None  # entering the target seeded it
        fixtures = _fixtures(parts, target.accounts, target.folder, resume)
        codes = _replay_all(parts, args, target.url, target.answers, fixtures)
    return _report(parts, codes)


def _refuse(args: argparse.Namespace) -> None:
    from yanxiu.errors import CommandError

    for name in REFUSED:
        if getattr(args, name, None):
            raise CommandError(f"--{name.replace('_', '-')}: not available for a platform scenario's "
                               "combined replay (it runs against the reference platform it starts; "
                               "replay one campaign file against another system)")


def _parts(plan, args: argparse.Namespace, model: Path, out: Path) -> list[Part]:
    """Every campaign's replay of the stretch chosen on the platform's total load."""
    from loadtests.plan import PlanError, read_timeseries
    from loadtests.stretch import select
    from yanxiu import replay_setup as setup
    from yanxiu.errors import CommandError

    try:
        series = read_timeseries(model / "timeseries.csv")
        stretch = select(series, args.stretch)
    except PlanError as exc:
        raise CommandError(str(exc)) from None
    start = series.minutes[stretch.start]
    end = series.minutes[stretch.stop - 1] + dt.timedelta(minutes=1)
    spec = f"{_local(start)}..{_local(end)}"
    scale = _scale(args, plan)
    folder = Path(args.scenario).parent
    parts = []
    for scenario, file in zip(plan.campaigns, plan.files, strict=True):
        own = model / "campaigns" / scenario.name
        one = argparse.Namespace(**{**vars(args), "scenario": str(folder / file), "stretch": spec,
                                    "scale": str(scale)})
        try:
            context = setup.replay_context(one, own)
        except PlanError as exc:
            print(f"yanxiu loadtest: {scenario.name}: left out ({exc})", flush=True)
            continue
        late = (context.plan.first_minute - start).total_seconds() / 60.0
        parts.append(Part(scenario.name, folder / file, own, context, late * context.plan.minute_s,
                          out / "campaigns" / scenario.name))
    if not parts:
        raise CommandError(f"--stretch: {args.stretch!r}: no campaign has a minute in it")
    print(f"yanxiu loadtest: {plan.name} {stretch.label}: {', '.join(p.name for p in parts)} "
          f"replayed together at scale {scale:.4g}", flush=True)
    return parts


def _local(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec="minutes")


def _scale(args: argparse.Namespace, plan) -> float:
    """One scale for every campaign, so that their load keeps its proportions: ``auto`` is
    a 20,000-teacher platform's worth (all campaigns' teachers together)."""
    from loadtests.options import resolve_scale

    return resolve_scale(args.scale, sum(s.population.teachers for s in plan.campaigns))


def _fixtures(parts: list[Part], accounts: Path, folder: Path,
              resume: bool = False) -> dict[str, dict[str, Path]]:
    """Per campaign: its slice of the seeded teachers (every administrator), its own numbers
    for new teachers, and the route map that names its campaign."""
    from yanxiu import replay_setup as setup

    with accounts.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or ()), list(reader)
    teachers = [r for r in rows if (r.get("role") or "teacher") == "teacher"]
    admins = [r for r in rows if (r.get("role") or "teacher") != "teacher"]
    wanted = [setup.teachers_needed(p.context.plan, p.model, resume) for p in parts]
    bounds = _slices(len(teachers), wanted)
    out = {}
    for index, (part, (lo, hi)) in enumerate(zip(parts, bounds, strict=True)):
        own = folder / "campaigns" / part.name
        own.mkdir(parents=True, exist_ok=True)
        _write_csv(own / "accounts.csv", header, teachers[lo:hi] + admins)
        _write_csv(own / "registrations.csv", ["mobile"], [{"mobile": m} for m in _mobiles(index, part)])
        routes = own / "routes.yaml"
        routes.write_text("".join(f"{name}: {{method: {method}, path: \"{path}\"}}\n"
                                  for name, (method, path) in CAMPAIGN_ROUTES.items()), encoding="utf-8")
        out[part.name] = {"accounts": own / "accounts.csv", "registrations": own / "registrations.csv",
                          "route_map": routes}
    return out


def _slices(available: int, wanted: list[int]) -> list[tuple[int, int]]:
    """Consecutive, disjoint slices of ``available`` rows in proportion to ``wanted`` (each at
    least one row while there are rows)."""
    total = sum(wanted) or 1
    bounds, start = [], 0
    for k, want in enumerate(wanted):
        size = available - start if k == len(wanted) - 1 else max(1, math.floor(available * want / total))
        size = max(0, min(size, available - start))
        bounds.append((start, start + size))
        start += size
    return bounds


def _mobiles(index: int, part: Part) -> list[str]:
    """New teachers' numbers of one campaign's replay: 166, the campaign's digit, seven digits
    (seeding never uses 166; no two replays share a number)."""
    from loadtests.plan import REGISTRATION

    planned = float(part.context.plan.per_minute[REGISTRATION].sum())
    count = min(10**7, int(math.ceil(planned * MOBILES_PER_REGISTRATION)) + 100)
    return [f"166{index % 10}{n:07d}" for n in range(count)]


def _write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(rows)


def _replay_all(parts: list[Part], args: argparse.Namespace, host: str, answers: Path,
                fixtures: dict[str, dict[str, Path]]) -> dict[str, int]:
    """Every campaign's Locust run at once (a thread each waits for its process)."""
    from loadtests.run import LocustRun
    from yanxiu import replay_setup as setup

    codes: dict[str, int] = {}
    runs = []
    for part in parts:
        files = fixtures[part.name]
        one = argparse.Namespace(**{**vars(args), "scenario": str(part.file),
                                    "stretch": part.context.stretch.label,
                                    "registrations": files["registrations"], "route_map": files["route_map"]})
        options = setup.replay_options(one, part.context, part.model, files["accounts"], answers)
        runs.append((part, LocustRun(host, part.out, part.context.plan.duration_s, options, args.processes,
                                     args.tags, args.exclude_tags)))
    threads = [threading.Thread(target=_one, args=(p, locust, codes), daemon=True) for p, locust in runs]
    for thread in threads:
        thread.start()
    bound = max(p.delay_s + locust.run_time_s() for p, locust in runs) + 300
    for thread in threads:
        thread.join(bound)
    return codes


def _one(part: Part, locust, codes: dict[str, int]) -> None:
    import time

    time.sleep(part.delay_s)  # a campaign that starts inside the stretch starts that much later
    codes[part.name] = locust.execute(Path.cwd())


def _report(parts: list[Part], codes: dict[str, int]) -> int:
    """One line per campaign and one for all; exit 1 if any replay cannot be used."""
    from records import LoadtestSummary, read_summary
    from yanxiu import replay_setup as setup

    ok, planned, achieved, requests = True, 0.0, 0, 0
    for part in parts:
        path = part.out / "summary.json"
        if codes.get(part.name) not in (0, 1) or not path.is_file():
            print(f"{part.name}: locust failed (exit {codes.get(part.name)}; log: {part.out / 'locust.log'})",
                  file=sys.stderr)
            ok = False
            continue
        summary = setup.with_plan(read_summary(part.out, LoadtestSummary), part.out, part.model,
                                      part.context.scenario)
        a, t = summary.arrivals, summary.total
        planned, achieved, requests = planned + a.planned, achieved + a.achieved, requests + t.requests
        ok = ok and summary.trustworthy
        state = "trustworthy" if summary.trustworthy else "NOT trustworthy: " + "; ".join(summary.verdict)
        latency = f", p95 {t.p95_ms:.0f} ms, errors {100 * t.error_rate:.2f}%" if t.requests else ""
        print(f"{part.name}: arrivals {a.achieved} of {a.planned:.1f}, requests {t.requests}{latency}; "
              f"{state} ({part.out})")
    print(f"all campaigns: arrivals {achieved} of {planned:.1f} planned, {requests} requests")
    return 0 if ok else 1
