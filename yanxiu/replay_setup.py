"""What a replay needs before and after Locust, for ``yanxiu loadtest`` (one campaign, or a
platform scenario's campaigns together: ``yanxiu.commands.loadtest_platform``) and ``yanxiu
calibrate``: the model run it replays, the harness's options and context, the accounts the
reference target seeds, its server options, and the model's requests beside the target's."""

from __future__ import annotations

import argparse
import datetime as dt
import math
from pathlib import Path

from records import LoadtestSummary

RESULTS = Path("results")


def serve_options(args: argparse.Namespace) -> tuple[str, ...]:
    """The reference server's overload options, as ``yanxiu serve`` takes them."""
    options: tuple[str, ...] = ()
    if args.server_max_in_flight is not None:
        options += ("--max-in-flight", str(args.server_max_in_flight))
    if args.server_waiting_room is not None:
        options += ("--waiting-room", f"{args.server_waiting_room:g}")
    return options


def run_model(scenario_path: str, model: Path) -> None:
    """``yanxiu run`` through its own Python entry (add_arguments/run), before the replay."""
    import importlib.util

    from yanxiu.errors import CommandError

    if importlib.util.find_spec("yanxiu.commands.run") is None:
        raise CommandError(f"{model / 'timeseries.csv'}: missing, and `yanxiu run` is not available")
    from yanxiu.commands import run as run_command

    print(f"no model results in {model}: running the model first")
    parser = argparse.ArgumentParser(prog="yanxiu run")
    run_command.add_arguments(parser)
    code = run_command.run(parser.parse_args([scenario_path, "--out", str(model), "--no-charts"]))
    if code or not (model / "timeseries.csv").is_file():
        raise CommandError(f"{model / 'timeseries.csv'}: the model run did not write it")


def replay_context(args: argparse.Namespace, model: Path):
    from loadtests.options import build_context

    return build_context(argparse.Namespace(
        scenario=args.scenario, model_results=str(model), stretch=args.stretch,
        compress=args.compress, scale=args.scale, accounts="", answers="",
        route_map=str(args.route_map or ""), api=args.api or "", bin_seconds=args.bin_seconds, max_sessions=1,
        seed=args.seed, mobile_base=0, arrival_process=args.arrival_process,
        max_duration=args.duration))


def in_session_to_seed(plan, shares: dict[str, float]) -> int:
    """Teachers to seed in a session for the sessions a replay resumes (``Plan.resumed``): as
    many of each sub-platform as its resumed sessions take (the model's viewers' split at the
    first minute, ``Plan.resumed_subs``; without those columns a binomial bound on the
    scenario's shares), with the seeding's own draw of sub-platforms allowed for
    (``loadtests.accounts.to_seed``): seeding just their number left a sub-platform short
    about half the time."""
    from collections import Counter

    from loadtests.accounts import taken_by, to_seed

    count = plan.resumed_count()
    subs = plan.resumed_subs(count)
    needs = dict(Counter(subs)) if all(subs) else taken_by(count, shares)
    return to_seed(needs, shares) if count else 0


def teachers_needed(plan, model: Path | None = None, resume: bool = False,
                    shares: dict[str, float] | None = None, stages: dict[int, float] | None = None) -> int:
    """Accounts for the returning teachers' logins and certificate fetches: one per login,
    but no more than the model's active teachers on the stretch's days (at test scale), so
    that accounts come back within the stretch as often as the model's teachers do and a
    later session continues an earlier one's study (and reaches its test). With ``resume``,
    one more for each session resumed at the origin: they are all running at once, and two
    sessions of one account would study the same courses (a replay 34 times smoke's size
    seeded 991 accounts for 5,000 resumed sessions). With ``stages`` (the seeding's share of
    teachers studying at each stage, ``studying_by_stage``), at least an account of its own for
    every later sign-in of each stage and sub-platform (``_for_stages``)."""
    from loadtests.plan import CERTIFICATE, REGISTRATION, SESSION

    logins = (plan.per_minute[SESSION] - plan.per_minute[REGISTRATION] + plan.per_minute[CERTIFICATE]).sum()
    needed = math.ceil(1.2 * logins) + 50
    if stages:
        needed = max(needed, _for_stages(plan, stages, shares or {"": 1.0}))
    active = _active_teachers(plan, model) if model is not None else None
    if active is not None:
        needed = min(needed, math.ceil(active))
    if resume:  # the in-session ones (in_session_to_seed with the scenario's ``shares``)
        needed += in_session_to_seed(plan, shares) if shares else plan.resumed_count()
    return int(min(200_000, max(200, needed)))


def studying_by_stage(model: Path, campaign, instant: str) -> dict[int, float]:
    """The share of the seeded teachers studying with each number of credited courses at
    ``instant`` (local ISO), as ``yanxiu seed --progress-at`` draws their stages from the model's
    results (``reference.seeding.progress``; those with every course are complete); empty
    without usable results."""
    from reference.seeding.progress import ProgressError, shares_from_results

    try:
        shares = shares_from_results(model, campaign, campaign.at(dt.datetime.fromisoformat(instant)))
    except ProgressError:
        return {}
    levels = [shares.started, *shares.at_least]
    return {k: levels[k] - levels[k + 1] for k in range(len(levels) - 1)}


def _for_stages(plan, stages: dict[int, float], subs: dict[str, float]) -> int:
    """Teachers to seed so that every later sign-in the plan gives a stage (``Plan._stages``) and
    sub-platform finds an account of its own there (the roster hands each out once before it
    falls back to any studying one, ``Roster.teacher``), the seeding's draw of both allowed for
    (``loadtests.accounts.to_seed``): at smoke's peak hour the 1.2 accounts a sign-in seeded
    ~0.9 studying ones, 0.7 of them at stage 1 for the model's 0.86."""
    from loadtests.accounts import to_seed

    cut = slice(plan.start, plan.stop)
    needs, shares = {}, {}
    for k, per_minute in plan.series.by_stage.items():
        for sub, q in subs.items():
            if stages.get(k, 0.0) > 0 and q > 0:
                needs[f"{k}.{sub}"] = math.ceil(float(per_minute[cut].sum()) * plan.scale * q)
                shares[f"{k}.{sub}"] = stages[k] * q
    return to_seed(needs, shares) if needs else 0


def _active_teachers(plan, model: Path) -> float | None:
    """The model's active teachers summed over the stretch's days, times the test scale."""
    import csv

    path = model / "outcomes_daily.csv"
    if not path.is_file():
        return None
    first = plan.first_minute.date()
    last = (plan.first_minute + dt.timedelta(minutes=plan.minutes - 1)).date()
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    try:
        active = sum(float(r["active"]) for r in rows if first <= dt.date.fromisoformat(r["day"]) <= last)
    except (KeyError, ValueError):
        return None
    return active * plan.scale if active > 0 else None


def progress_instant(context) -> str:
    """The stretch's first minute; for a stretch after the window that reaches the
    certificate date, that date (study ended with the window, so the progress is the same,
    and ``yanxiu seed`` then issues the completers' certificates)."""
    campaign, plan = context.campaign, context.plan
    first = campaign.at(plan.first_minute)
    last = first + dt.timedelta(minutes=plan.minutes)
    if first >= campaign.end_at and first < campaign.certificates_at < last:
        first = campaign.certificates_at
    return first.astimezone(campaign.zone).replace(tzinfo=None).isoformat(timespec="minutes")


def clock_rate(compress: float) -> float | None:
    """Run the server's campaign clock as fast as the replay, where the server supports it."""
    from reference.settings import Settings

    return compress if "clock_rate" in Settings.model_fields else None


def replay_options(args, context, model: Path, accounts, answers) -> dict[str, object]:
    """The harness's options of one Locust run (``loadtests.options``)."""
    return {
        "scenario": args.scenario, "model_results": model, "stretch": args.stretch,
        "compress": args.compress, "scale": context.plan.scale, "accounts": accounts,
        "answers": answers or "",
        "route_map": args.route_map or "", "api": args.api or "", "sms_code": args.sms_code,
        "registrations": args.registrations or "",
        "arrival_process": args.arrival_process,
        "bin_seconds": args.bin_seconds, "seed": args.seed, "max_duration": args.duration,
        "resume_sessions": int(args.resume_sessions),
    }


def with_plan(summary: LoadtestSummary, out: Path, model: Path, scenario) -> LoadtestSummary:
    """The model's requests per endpoint beside the target's (loadtests.requests), the endpoints
    off it beyond sampling noise and their gate metrics, into summary.json."""
    from loadtests.plan import PlanError
    from loadtests.requests import requests_vs_plan, with_requests
    from records import write_summary

    try:
        plan = requests_vs_plan(summary, out, [e.name for e in scenario.platform.endpoints],
                                model / "timeseries.csv")
    except (PlanError, OSError) as exc:  # a model run that is not the replayed one: say so, keep the test
        print(f"requests vs plan: not compared ({exc})")
        return summary
    summary = with_requests(summary, plan)
    write_summary(out, summary)
    return summary


def now_slug() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")
