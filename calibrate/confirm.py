"""The knee's confirmation: holds, steps long enough for the queue to reach its steady state.

A staircase step (20-25 s at compress 144) is mostly the sessions' ramp: a replay starts with
no session in progress, and the request rate climbs for about as long as a session lasts
(2026-11-30, SQLite: 12-17 s of a 20-s step). Its last seconds are the first at the step's full
rate, and a queue near saturation needs far longer than that to fill: on 2026-11-30 a 20-s step
at 524 req/s met the 300-ms p95 while 485 req/s sustained for 100 s gave 2.3 s. So after the
staircase, holds bisect between the last step that met the SLO in its last 10 s and the first
that broke it, each held until its queue has relaxed, and the knee is the highest hold that met
the SLO in its steady part (``calibrate.knee.judge``, ``calibrate.knee.knee``).

How long a hold lasts. Near saturation the queue behaves like one server of the tier's whole
capacity C (req/s): the waiting time of a request that waits is exponential with rate
C(1 - ρ), so its p95 is about ln(20)/(C(1 - ρ)) = 3/(C(1 - ρ)); at the knee that is the SLO's
p95 s, so C(1 - ρ) = 3/s there. The M/M/1 relaxation time 1/(C(1 - √ρ)²) ≈ 4/(C(1 - ρ)²) is
then τ = 4·C·s²/9: 20 s at C = 500 req/s and s = 0.3 s (and 4x that where the steady p95 is
twice the SLO: a rate just past the knee fills its queue slowly, which the growth check sees).
A hold = the sessions' ramp (measured on the staircase) + 2τ (from an empty queue the distance
to the steady state falls as e^(-t/τ): 13% left) + four 10-s windows, judged for the SLO, the
later two compared with the earlier two (a p95 still growing towards the SLO fails). C is the
staircase's rate at its first broken step (in its last 10 s), an upper bound on the capacity, so
τ errs long. Two workers with their own queues relax faster than one queue of their summed
capacity (at a fixed SLO τ scales with C), and so does a service more variable than
exponential: at a fixed ρ its p95 and its relaxation time both grow with k = (c_a² + c_s²)/2,
but at the knee the SLO fixes C(1 - ρ) ≈ 3k/s, and the relaxation time ~4k/(C(1 - ρ)²) is then
τ/k (``tests/calibrate/test_knee.py``: after 2τ the windows' p95 is within 20% of its steady
value for both). So for the api's workers (two queues, logins among heartbeats) the hold errs
long; a rate past the knee fills its queue more slowly, which the growth check sees.

Where its load comes from. The hold replays the minutes the staircase's steps replayed (the
stretch's first ``--step-seconds``: the replay's plan) with the minutes before them, at the same
compress and scale (the same request rate per unit of scale as the staircase's steps, so the
knee's scale means the same load in the validation tests): the sessions build up in those
earlier minutes, as they did in the model, and the steady part is the steps' own minutes.
Each hold takes accounts no earlier step or hold took (``loadtests.accounts.write_untouched``,
as the validation levels of bench/bench_calibrate.py do): every run's roster starts at the
file's first teacher, and sessions on accounts that have studied play less and take tests
more. On 2026-11-30 13:50 the third hold (after two on the same accounts) finished 124 req/s
in its steady part at scale 0.73, the second 160 req/s at 0.64.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibrate.errors import CalibrationError
from calibrate.knee import StepResult, judge
from calibrate.steps import WINDOW_S, StepRun, StepSpec, run_step

FIT_RESERVE_S = 30.0  # the fit and the platform file after the steps (12-20 s on 2026-11-30)
MIN_HOLD_S, MAX_HOLD_S = 60.0, 120.0  # at least 20 s to settle before the 40 s judged
# a hold's steady part: its last four 10-s windows, the earlier two compared with the later two.
# Two (20 s) were too few: 100-s replays at the knee (14:09, load 2.5-4.9) had a stall every
# 15-25 s (a second finishing 2-3x the others' requests after a dip), 10-s p95s 210-790 ms in
# turn, and a 20-s judged part met the SLO or not by whether it held one
JUDGED_WINDOWS = 4
DEFAULT_RAMP_S = 15.0  # when the staircase measured none
RESOLUTION = 1.1  # stop bisecting when the good and the bad scale are this close
OVERHEAD_S = 10.0  # a step's start-up and drain beyond its replay, when no step measured it


@dataclass(frozen=True)
class HoldPlan:
    seconds: float  # the hold's length; its last ``JUDGED_WINDOWS`` windows are its steady part
    tau_s: float  # the relaxation time at the knee (module docstring)
    capacity_rps: float  # C in it
    ramp_s: float


def relaxation_s(capacity_rps: float, slo_p95_ms: float) -> float:
    """τ = 4·C·s²/9: the M/M/1 relaxation time of a queue of capacity C whose steady p95 is the
    SLO's s (module docstring)."""
    s = slo_p95_ms / 1000.0
    return 4.0 * capacity_rps * s * s / 9.0


def hold_plan(good: StepResult, broken: StepResult | None, growth: float, slo_p95_ms: float,
              slo_error_rate: float) -> HoldPlan:
    """The hold's length from the staircase: the ramp of the last step that met the SLO and the
    capacity seen at the first that broke it (its last window's rate; the good one's × growth
    when the broken step's generator saturated: its rate measured the generator)."""
    rate = judge(good, slo_p95_ms, slo_error_rate).rate_rps * growth
    if broken is not None and broken.trustworthy:
        rate = judge(broken, slo_p95_ms, slo_error_rate).rate_rps
    tau = relaxation_s(rate, slo_p95_ms)
    ramp = good.ramp_s if good.ramp_s is not None else DEFAULT_RAMP_S
    judged = JUDGED_WINDOWS * WINDOW_S
    seconds = min(MAX_HOLD_S, max(MIN_HOLD_S, ramp + 2.0 * tau + judged))
    return HoldPlan(seconds, tau, rate, ramp)


def hold_stretch(plan: Any, seconds: float) -> tuple[str, float]:
    """The ``--stretch`` of a hold: the plan's minutes (the staircase steps') with the minutes
    before them, ``seconds`` of replay at its compress in all (fewer if the time series starts
    sooner), and its length."""
    minutes = plan.series.minutes
    first = max(0, plan.stop - int(math.ceil(seconds / plan.minute_s - 1e-9)))
    end = minutes[plan.stop - 1] + dt.timedelta(minutes=1)
    spec = f"{minutes[first]:%Y-%m-%dT%H:%M}..{end:%Y-%m-%dT%H:%M}"
    return spec, min(seconds, (plan.stop - first) * plan.minute_s)


def next_scale(good: float | None, bad: float | None, growth: float) -> float | None:
    """The next hold's scale: the geometric middle of the highest confirmed and the lowest
    broken scale; below a broken one by √growth while none is confirmed; none when the two are
    within ``RESOLUTION`` or when the top is confirmed and nothing above it broke."""
    if good is None:
        return None if bad is None else bad / math.sqrt(growth)
    if bad is None or bad / good <= RESOLUTION:
        return None
    return math.sqrt(good * bad)


def bracket(stair: list[StepRun], slo_p95_ms: float,
            slo_error_rate: float) -> tuple[StepRun | None, StepRun | None]:
    """The staircase's last step on the mix that met the SLO (by its last 10 s) and the first
    above it that did not."""
    on_mix = [r for r in stair if r.spec.on_mix]
    good = [r for r in on_mix if judge(r.result, slo_p95_ms, slo_error_rate).meets]
    top = max(good, key=lambda r: r.spec.scale, default=None)
    if top is None:
        return None, None
    above = [r for r in on_mix if r.spec.scale > top.spec.scale and r not in good]
    return top, min(above, key=lambda r: r.spec.scale, default=None)


def overhead_s(runs: list[StepRun], step_seconds: float) -> float:
    """A step's wall time beyond its replay (Locust's start-up, the drain): the staircase's median."""
    extra = [r.wall_s - (r.spec.seconds or step_seconds) for r in runs if r.wall_s > 0]
    return max(0.0, statistics.median(extra)) if extra else OVERHEAD_S


def confirm(config: Any, plan: Any, target: Any, work: Path, runs: list[StepRun], options: dict[str, Any],
            deadline: float, growth: float, slo: tuple[float, float], say: Callable[[str], None],
            shares: dict[str, float] | None = None) -> list[StepRun]:
    """Holds until the bracket is within ``RESOLUTION``, ``config.max_holds`` ran, or the next
    would end after ``deadline`` (monotonic seconds). A hold that cannot be measured ends them.
    ``plan`` is the replay's ``loadtests.plan.Plan`` (the stretch the holds extend); ``shares``
    the scenario's sub-platforms (each hold on untouched accounts; None: the file as it is)."""
    good, broken = bracket(runs, *slo)
    if good is None or config.max_holds <= 0:
        return []
    hold = hold_plan(good.result, broken.result if broken else None, growth, *slo)
    stretch, seconds = hold_stretch(plan, hold.seconds)
    settle = max(0.0, seconds - JUDGED_WINDOWS * WINDOW_S)
    say(f"holds: {seconds:.0f} s each (ramp {hold.ramp_s:.0f} s + 2 x relaxation time {hold.tau_s:.0f} s "
        f"at {hold.capacity_rps:.0f} req/s + {JUDGED_WINDOWS} x {WINDOW_S} s judged), stretch {stretch}")
    cost = seconds + overhead_s(runs, config.step_seconds)
    ok, bad = None, broken.spec.scale if broken else None
    scale: float | None = good.spec.scale
    holds: list[StepRun] = []
    while scale is not None and len(holds) < config.max_holds:
        if time.monotonic() + cost > deadline:
            say(f"holds: no time left for a {cost:.0f}-s hold within the {config.budget_s:.0f}-s budget")
            break
        spec = StepSpec(f"hold-{scale:.3g}", scale, seconds=seconds, stretch=stretch, settle_s=settle)
        accounts = _untouched(target, runs, holds, shares, _sessions(plan, seconds, scale),
                              work / f"accounts-{spec.name}.csv", say) if shares else None
        fresh = options | ({"accounts": str(accounts)} if accounts else {})
        try:
            run = run_step(len(runs) + len(holds), spec, fresh, target.url, work, target.probes, seconds,
                           config.bin_seconds, say)
        except CalibrationError as exc:
            say(f"hold {spec.name}: not measured ({exc}); the holds stop here")
            break
        holds.append(run)
        verdict = judge(run.result, *slo)
        say(f"hold {spec.name}: {'meets' if verdict.meets else 'breaks'} the SLO: {verdict.why}")
        if verdict.meets:
            ok = scale
        else:
            bad = scale
        scale = next_scale(ok, bad, growth)
    return holds


def _sessions(plan: Any, seconds: float, scale: float) -> int:
    """Sessions a hold of ``seconds`` at ``scale`` starts: the model's over its minutes."""
    minutes = int(math.ceil(seconds / plan.minute_s - 1e-9))
    return int(math.ceil(float(plan.series.sessions[max(0, plan.stop - minutes):plan.stop].sum()) * scale))


def _untouched(target: Any, runs: list[StepRun], holds: list[StepRun], shares: dict[str, float],
               sessions: int, path: Path, say: Callable[[str], None]) -> Path | None:
    """An accounts file without the teachers earlier runs took: the most any step took (each
    starts at the file's first teacher), then every hold's after them. None (the file as it is,
    said) when fewer are left than this hold's ``sessions`` may take."""
    from loadtests.accounts import taken_by, write_untouched

    taken: dict[str, int] = {}
    for run in runs:
        for sub, n in taken_by(_started(run), shares).items():
            taken[sub] = max(taken.get(sub, 0), n)
    for run in holds:
        for sub, n in taken_by(_started(run), shares).items():
            taken[sub] = taken.get(sub, 0) + n
    left = write_untouched(target.accounts, taken, path)
    short = {sub: n for sub, n in taken_by(sessions, shares).items() if left.get(sub, 0) < n}
    if short:
        say(f"holds: fewer untouched teachers than a hold may take ({left} left, {short} needed): it "
            "reuses studied accounts (raise --teachers)")
        return None
    return path


def _started(run: StepRun) -> int:
    """Sessions a run started (planned and resumed): each took at most one account."""
    arrivals = run.summary.get("arrivals") or {}
    return int(arrivals.get("achieved", 0)) + int(arrivals.get("resumed", 0))
