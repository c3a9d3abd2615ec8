"""The knee's confirmation: holds, steps long enough for the queue to reach its steady state.

A staircase step (20-25 s at compress 144) is mostly the sessions' ramp: a replay starts with
no session in progress, and the request rate climbs for about as long as a session lasts
(2026-11-30, SQLite: 12-17 s of a 20-s step). Its last seconds are the first at the step's full
rate, and a queue near saturation needs far longer than that to fill: on 2026-11-30 a 20-s step
at 524 req/s met the 300-ms p95 while 485 req/s sustained for 100 s gave 2.3 s. So after the
staircase, holds bisect between the last step that met the SLO in its last 10 s and the first
that broke it, each held until its queue has relaxed, and the knee is the highest hold that met
the SLO in its steady part (``calibrate.knee.judge``, ``calibrate.knee.knee``).

The order of the holds (``first_scale``, ``next_scale``; since 2026-12-01 05:00): the middle of the
staircase's bracket first; a hold that met it is followed by one at the staircase's broken scale
(the staircase at compress 144 is not the hold's load: is it broken there?), one that broke it by
one at the staircase's good scale; past a staircase end that held, strides of ``STEP`` (1.08x,
doubling in log-rate as the walk goes on); between two holds, bisection in log-rate (a stride
where that closes a 1.21-1.31x bracket sooner), until the bracket is within ``RESOLUTION``. The
budget decides how many run. Before (01:28-05:00) a hold that met with nothing broken above it
went up by √growth (1.30x), so three holds left a 1.30x bracket (05:00 baseline: 6.13, 7.99
met, 10.4 broke); before that, bisecting from the good step towards the staircase's broken one,
three holds that all met left the knee a lower bound (SQLite, 00:11: 329, 393, 469 req/s met).
On a synthetic target four holds close the bracket for knees from 0.9x the staircase's good
scale to 1.12x its broken one (``tests/calibrate/test_knee.py``); the holds' knees lay at
0.6-2.2x the staircase's good scale in the 2026-11-30/12-01 calibrations, most within 1.14x of
an end.

How long a hold lasts. Near saturation the queue behaves like one server of the tier's whole
capacity C (req/s): the waiting time of a request that waits is exponential with rate
C(1 - ρ), so its p95 is about ln(20)/(C(1 - ρ)) = 3/(C(1 - ρ)); at the knee that is the SLO's
p95 s, so C(1 - ρ) = 3/s there. The M/M/1 relaxation time 1/(C(1 - √ρ)²) ≈ 4/(C(1 - ρ)²) is
then τ = 4·C·s²/9: 20 s at C = 500 req/s and s = 0.3 s (and 4x that where the steady p95 is
twice the SLO: a rate just past the knee fills its queue slowly, which the growth check sees).
A hold = 2τ (from an empty queue the distance to the steady state falls as e^(-t/τ): 13% left)
+ four 10-s windows, judged for the SLO, the later two compared with the earlier two (a p95
still growing towards the SLO fails); its sessions are resumed, so it has no ramp (below). C is
the staircase's rate at its first broken step (in its last 10 s), an upper bound on the
capacity, so τ errs long. Two workers with their own queues relax faster than one queue of
their summed capacity: at a fixed SLO τ scales with C, and each worker's queue, of capacity
C/workers at its own knee, relaxes with its own τ (``relaxation_s(C / workers)``), which the
hold uses where the api's workers are known (the reference platform; a ``--host`` target keeps
the pooled τ). A service more variable than exponential relaxes faster too: at a fixed ρ its
p95 and its relaxation time both grow with k = (c_a² + c_s²)/2, but at the knee the SLO fixes
C(1 - ρ) ≈ 3k/s, and the relaxation time ~4k/(C(1 - ρ)²) is then τ/k
(``tests/calibrate/test_knee.py``: after two of its own τ a worker's queue, and after 2τ an
M/H2/1, has its windows' p95 within 20% of its steady value). Measured 16:40-17:15 (two
processor-sharing workers relaxed in 3.4 s where the pooled τ was 12 s) the hold still errs
long; a rate past the knee fills its queue more slowly, which the growth check sees.

Where its load comes from (``calibrate.holds``; since 2026-11-30 22:40). A hold replays the
load the validation levels replay: the validation's busiest minutes (the peak hour's busiest
40 s) with the minutes before them, at the validation's compression (``Config.hold_compress``,
36), with the sessions the model has in progress at its first minute started first
(``--resume-sessions``): its judged windows are the minutes a level puts at L x the knee, with
as many sessions in flight per request. Resumed sessions run at the model's rate from the first
bin, so a hold has no ramp: it is 2τ + the judged windows of replay, after the resumed
sessions' set-up window (``Plan.set_up_s``: they sign in or load their page before the origin).
τ is each api worker's queue's (C / workers: the workers queue apart, see above), 2 x 12 s at
C = 609 req/s on two workers: a 64-s replay, about 85 s with its set-up and Locust's start,
where the pooled τ (89 s of replay, ~110 s in all) left room for two holds in the 600-s budget
after the staircase (2026-11-30 22:22 run: 276 s of staircase, 108-s holds). The staircase's
scales (compress 144, its own minutes) become a hold's by the planned rate per unit of scale in
each one's judged part. Each hold takes accounts no earlier step or hold took
(``loadtests.accounts.write_untouched``, as the validation levels of bench/bench_calibrate.py
do): every run's roster starts at the file's first teacher, and sessions on accounts that have
studied play less and take tests more (2026-11-30 13:50: the third hold, after two on the same
accounts, finished 124 req/s in its steady part at scale 0.73, the second 160 req/s at 0.64);
and the accounts seeded in a session that no earlier hold resumed (``holds.drop_in_session``).
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibrate import holds as loads
from calibrate.errors import CalibrationError
from calibrate.knee import JUDGED_WINDOWS, RESOLUTION, SHORT, StepResult, judge
from calibrate.steps import WINDOW_S, StepRun, StepSpec, run_step

__all__ = ["JUDGED_WINDOWS", "confirm", "hold_plan", "in_session_for_holds", "next_scale", "relaxation_s"]

# the fit and the platform file after the steps (12-20 s on 2026-11-30), and the model's own knee
# on the knee's load (calibrate.knee_report.after_calibration: ~10 predictions, 10 s on SQLite 01:40)
FIT_RESERVE_S = 40.0
# holds seeded for at the staircase's top scale (``in_session_for_holds``): only the first can run
# that high, the others near the knee, below the first (the bracket's middle, or the capacity it
# measured), so three at the top cover five; five at the top put 10,000 of 20,000 teachers in a
# session (three: 6,771) and left too few untouched ones for the holds' new sessions (05:19)
SEEDED_HOLDS = 3
# a stride past a hold (``next_scale``): below RESOLUTION, so that a hold there that breaks closes
# the bracket and a "110%" level lies above it (1.1 / 1.08: 2% above)
STEP = 1.08
MIN_HOLD_S, MAX_HOLD_S = 60.0, 120.0  # at least 20 s to settle before the 40 s judged
OVERHEAD_S = 10.0  # a step's start-up and drain beyond its replay, when no step measured it


@dataclass(frozen=True)
class HoldPlan:
    seconds: float  # the hold's replay; its last ``JUDGED_WINDOWS`` windows are its steady part
    tau_s: float  # the relaxation time at the knee of each queue (module docstring)
    capacity_rps: float  # C in it, all queues together
    queues: int  # the api's workers, each its own queue (1: not known, the pooled τ)


def relaxation_s(capacity_rps: float, slo_p95_ms: float) -> float:
    """τ = 4·C·s²/9: the M/M/1 relaxation time of a queue of capacity C whose steady p95 is the
    SLO's s (module docstring)."""
    s = slo_p95_ms / 1000.0
    return 4.0 * capacity_rps * s * s / 9.0


def hold_plan(good: StepResult, broken: StepResult | None, growth: float, slo_p95_ms: float,
              slo_error_rate: float, queues: int = 1) -> HoldPlan:
    """The hold's replay from the staircase: 2τ of each of ``queues`` queues at the capacity
    seen at the first step that broke the SLO (its last window's rate; the good one's × growth
    when the broken step's generator saturated: its rate measured the generator), and the
    judged windows. No ramp: a hold resumes the sessions in progress at its start."""
    rate = judge(good, slo_p95_ms, slo_error_rate).rate_rps * growth
    if broken is not None and broken.trustworthy:
        rate = judge(broken, slo_p95_ms, slo_error_rate).rate_rps
    queues = max(1, queues)
    tau = relaxation_s(rate / queues, slo_p95_ms)
    seconds = min(MAX_HOLD_S, max(MIN_HOLD_S, 2.0 * tau + JUDGED_WINDOWS * WINDOW_S))
    return HoldPlan(seconds, tau, rate, queues)


def first_scale(presumed: float, above: float | None) -> float:
    """The first hold's scale: the geometric middle of the staircase's bracket (its last good
    step's scale ``presumed`` and its first broken one's ``above``, as a hold's), or the good
    step's when nothing above it broke."""
    return math.sqrt(presumed * above) if above is not None else presumed


def next_scale(good: float | None, bad: float | None, presumed_good: float | None = None,
               presumed_bad: float | None = None, capacity: float | None = None) -> float | None:
    """The next hold's scale, a bisection in log-rate (since 2026-12-01 05:00): ``good`` the
    highest hold that met the SLO, ``bad`` the lowest hold that broke it, ``presumed_good`` and
    ``presumed_bad`` the staircase's bracket as a hold's scales (its 144x steps are not the
    holds' load: the knee of the holds lay 0.6-2.2x its good step's, docs/calibration.md).
    - both held: the geometric middle, none once within ``RESOLUTION``; a stride up from
      ``good`` where the middle would need two more holds and a stride closes it in one or the
      middle after it in one more (a bracket of RESOLUTION² to RESOLUTION²·STEP, 1.21-1.31x);
    - only ``good`` held: the staircase's broken scale if it lies above by more than ``STEP``,
      else a stride up (``stride``);
    - only ``bad`` held: the staircase's good scale if below by more than ``STEP``, else down;
    - none held: the staircase's bracket's middle (``first_scale``).
    ``capacity``: the scale whose plan is what a hold that broke with its queue growing finished
    (``capacity_scale``): the target's capacity at the hold's load, measured; the knee lies at
    or a little below it (04:39/04:57 baselines: hold-10.4 finished 541 and 606 of 710 req/s,
    the knees by plan 1.0x and 0.85-0.9x of that). Where it lies below the held bracket's top by
    more than a stride it is held next, and the walk down strides from it (the staircase's good
    scale can be far above it: 05:19, the staircase met 4.1 at 144x, 13.6 as a hold's); within a
    stride above ``good``, ``good`` strides up.
    A stride of ``STEP`` (< ``RESOLUTION``) closes the bracket with one hold when the knee lies
    within it, and leaves a "110%" level above the hold that broke."""
    if good is not None and bad is not None:
        wide = bad / good
        if wide <= RESOLUTION * (1.0 + 1e-9):
            return None
        if capacity is not None and good * STEP < capacity < bad / STEP:
            return capacity
        if capacity is not None and capacity <= good * STEP:
            return good * STEP
        return good * STEP if RESOLUTION**2 < wide <= RESOLUTION**2 * STEP else math.sqrt(good * bad)
    if good is not None:
        if presumed_bad is not None and presumed_bad > good * STEP:
            return presumed_bad
        end = presumed_bad if presumed_bad is not None else presumed_good
        return good * stride(good / end if end else 1.0)
    if bad is not None:
        if capacity is not None and capacity < bad / STEP:
            return capacity
        if presumed_good is not None and presumed_good < bad / STEP and capacity is None:
            return presumed_good
        end = capacity or (presumed_good if presumed_good is not None else presumed_bad)
        return bad / stride(end / bad if end else 1.0)
    if presumed_good is None:
        return presumed_bad
    return first_scale(presumed_good, presumed_bad)


def capacity_scale(holds: list[StepRun], rps_per_scale: float, slo: tuple[float, float]) -> float | None:
    """The lowest scale whose plan is what a hold finished in its judged part when it broke the
    SLO with its queue growing (it finished ``knee.SHORT`` fewer than offered): the target's
    capacity at the holds' load (``next_scale``). None: no such hold."""
    found = []
    for run in holds:
        verdict, planned = judge(run.result, *slo), run.result.judged_planned_rps
        if not verdict.meets and planned and verdict.rate_rps < (1.0 - SHORT) * planned and rps_per_scale > 0:
            found.append(verdict.rate_rps / rps_per_scale)
    return min(found, default=None)


def held_bracket(met: list[float], broke: list[float]) -> tuple[float | None, float | None]:
    """The holds' bracket as ``calibrate.knee.knee`` reads it: the highest scale that met the SLO,
    the lowest above it that broke it (a hold that broke below one that met is noise near the
    knee, and left out as the knee leaves it out)."""
    good = max(met, default=None)
    bad = min((b for b in broke if good is None or b > good), default=None)
    return good, bad


def stride(past: float) -> float:
    """A walk's stride, ``past`` being how far (a ratio) the holds have come past the
    staircase's end: ``STEP``, then as far again (the knee lies further than the staircase
    said: each stride doubles the walk's distance in log-rate)."""
    return max(STEP, past)


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


def load_for(config: Any, context: Any, seconds: float) -> tuple[loads.HoldLoad, float]:
    """The hold's minutes (``calibrate.holds``) and the factor from a staircase step's scale to a
    hold's at the same planned rate in each one's judged part."""
    series, timeseries = context.plan.series, Path(config.model_results) / "timeseries.csv"
    endpoints = [e.name for e in context.scenario.platform.endpoints]
    load = loads.hold_load(series, timeseries, config.stretch, endpoints, config.hold_compress, seconds,
                           float(JUDGED_WINDOWS * WINDOW_S))
    stair = loads.staircase_rps_per_scale(series, timeseries, config.stretch, endpoints, config.compress,
                                          config.step_seconds)
    return load, loads.equivalent_scale(1.0, stair, load.rps_per_scale)


def in_session_for_holds(config: Any, context: Any, top_scale: float, shares: dict[str, float],
                         teachers: int) -> int:
    """Accounts to seed in a session on a calibration's own target for its holds' resumed
    sessions: ``SEEDED_HOLDS`` holds at the staircase's ``top_scale`` (the most any hold can
    run), each taking its own (``holds.drop_in_session``); at most half the ``teachers``."""
    from loadtests.accounts import to_seed

    if config.max_holds <= 0:
        return 0
    needs: dict[str, int] = {}
    for seconds in (MIN_HOLD_S, MAX_HOLD_S):
        load, factor = load_for(config, context, seconds)
        for sub, n in loads.resumed_by_sub(load.plan(top_scale * factor)).items():
            needs[sub] = max(needs.get(sub, 0), n * min(config.max_holds, SEEDED_HOLDS))
    named = all(sub for sub in needs)  # "": a model run without the sub-platforms' columns
    count = to_seed(needs, shares) if named else sum(needs.values())
    return min(count, teachers // 2)


def confirm(config: Any, context: Any, target: Any, work: Path, runs: list[StepRun], options: dict[str, Any],
            deadline: float, growth: float, slo: tuple[float, float], say: Callable[[str], None],
            shares: dict[str, float] | None = None) -> list[StepRun]:
    """Holds until the bracket is within ``RESOLUTION``, ``config.max_holds`` ran, or the next
    would end after ``deadline`` (monotonic seconds). A hold that cannot be measured ends them.
    ``context`` is the replay's ``loadtests.options.Context`` (the series the holds replay);
    ``shares`` the scenario's sub-platforms (each hold on untouched accounts; None: the file as
    it is, less the accounts in a session earlier holds resumed)."""
    good, broken = bracket(runs, *slo)
    if good is None or config.max_holds <= 0:
        return []
    hold = hold_plan(good.result, broken.result if broken else None, growth, *slo,
                     queues=target.api_servers or 1)
    load, factor = load_for(config, context, hold.seconds)
    seconds, settle = load.seconds, load.seconds - load.judged_s
    say(f"holds: {seconds:.0f} s of replay each at compress {load.compress:g} with the sessions in progress "
        f"resumed (2 x relaxation time {hold.tau_s:.0f} s of each of {hold.queues} queue(s) at "
        f"{hold.capacity_rps:.0f} req/s + {JUDGED_WINDOWS} x {WINDOW_S} s judged), stretch {load.stretch}, "
        f"judged {load.judged}; a staircase scale x {factor:.3g}")
    presumed = (good.spec.scale * factor, broken.spec.scale * factor if broken else None)
    met: list[float] = []
    broke: list[float] = []
    scale: float | None = next_scale(None, None, *presumed)
    holds: list[StepRun] = []
    resumed: dict[str, int] = {}  # accounts in a session earlier holds took, by sub-platform
    while scale is not None and len(holds) < config.max_holds:
        plan = load.plan(scale)
        cost = seconds + plan.set_up_s() + overhead_s(runs, config.step_seconds)
        if time.monotonic() + cost > deadline:
            say(f"holds: no time left for a {cost:.0f}-s hold within the {config.budget_s:.0f}-s budget")
            break
        spec = StepSpec(f"hold-{scale:.3g}", scale, seconds=seconds + 0.01, stretch=load.stretch,
                        settle_s=plan.set_up_s() + settle, compress=load.compress, resume=True,
                        judged=load.judged, set_up_s=plan.set_up_s())
        accounts = _accounts(target, runs, holds, shares, plan, resumed, work / f"accounts-{spec.name}.csv",
                             say)
        try:
            run = run_step(len(runs) + len(holds), spec, options | {"accounts": str(accounts)}, target.url,
                           work, target.probes, seconds, config.bin_seconds, say)
        except CalibrationError as exc:
            say(f"hold {spec.name}: not measured ({exc}); the holds stop here")
            break
        # its plan in the judged windows: a judged part that finished 10% fewer is a queue growing
        run = dataclasses.replace(run, result=dataclasses.replace(
            run.result, judged_planned_rps=load.rps_per_scale * scale))
        holds.append(run)
        for sub, n in loads.resumed_by_sub(plan).items():
            resumed[sub] = resumed.get(sub, 0) + n
        verdict = judge(run.result, *slo)
        said = "meets" if verdict.meets else "breaks"
        say(f"hold {spec.name}: {said} the SLO: {verdict.why}{_beside(run)}")
        (met if verdict.meets else broke).append(scale)
        capacity = capacity_scale(holds, load.rps_per_scale, slo)
        scale = next_scale(*held_bracket(met, broke), *presumed, capacity)
    return holds


def _beside(run: StepRun) -> str:
    """The host's other work during a hold, and the load generator's share of it: near the knee
    a stall follows the host's cores filling up (2026-12-01 01:28 baseline: SQLite's hold-4.7
    broke beside 1.26 cores of other work on 2, the generator 0.16 of them)."""
    if run.background_cores is None:
        return ""
    generator = float((run.summary.get("generator_cpu") or {}).get("mean") or 0.0) / 100.0
    return (f"; beside {run.background_cores:.2f} cores of other work of {run.host_cores or '?'} "
            f"(the load generator {generator:.2f})")


def _accounts(target: Any, runs: list[StepRun], holds: list[StepRun], shares: dict[str, float] | None,
              plan: Any, resumed: dict[str, int], path: Path, say: Callable[[str], None]) -> Path:
    """The hold's accounts file: untouched teachers (``_untouched``) where enough are left, and
    the accounts in a session that no earlier hold resumed (``resumed``), said when too few."""
    sessions = int(math.ceil(float(plan.series.sessions[plan.start:plan.stop].sum()) * plan.scale))
    starts = sessions + plan.resumed_count()
    fresh = _untouched(target, runs, holds, shares, starts, path, say) if shares else None
    if fresh is None:
        shutil.copyfile(target.accounts, path)
    left = loads.drop_in_session(path, resumed)
    needed = loads.resumed_by_sub(plan)
    if not left:
        say(f"hold: no accounts seeded in a session: its {plan.resumed_count()} resumed sessions sign in")
    elif any(left.get(sub, 0) < n for sub, n in needed.items() if sub):
        say(f"hold: fewer accounts in a session ({left}) than resumed sessions ({needed}): some share one")
    return path


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
