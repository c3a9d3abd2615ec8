"""The knee of the staircase: the highest rate on the scenario's mix whose steady part meets the
SLO. A step is judged by its last 10-s window (a staircase step) or by its steady windows (a
hold: ``calibrate.confirm``), their p95 taken together (``union_p95``); holds that meet it
confirm the knee. Moved out of ``calibrate.fit`` (the utilisation law's fit) unchanged.

Since 2026-12-01 a hold breaks on sustained overload only (``sustained``, the rule the
validation levels and the model's prediction are judged by too: ``calibrate.overload``): errors,
a p95 over the SLO beyond one window's stall, or a queue still filling in every later window;
one 10-s stall (windows of 370-600 ms between 50-170 ms ones near the knee) moved the knee
320-537 req/s between two calibrations of the same code. The knee carries its bracket: the
lowest rate above it that broke, and whether a hold did (``Knee.bounded``; else a lower bound).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# a hold's steady part: its last four 10-s windows, the earlier two compared with the later two.
# Two (20 s) were too few: 100-s replays at the knee (14:09, load 2.5-4.9) had a stall every
# 15-25 s (a second finishing 2-3x the others' requests after a dip), 10-s p95s 210-790 ms in
# turn, and a 20-s judged part met the SLO or not by whether it held one
JUDGED_WINDOWS = 4


@dataclass(frozen=True)
class Window:
    """Requests a step's client finished in ``seconds`` up to ``end_s`` (seconds from its first
    finished request), and their p95 (Locust's rolling 10-s percentile at that second)."""

    end_s: float
    seconds: float
    requests: int
    failures: int
    p95_ms: float | None
    # (fraction, ms) for each percentile Locust gives (50% ... 100%): what ``union_p95`` needs
    quantiles: tuple[tuple[float, float], ...] = ()


def union_p95(windows: list[Window]) -> float | None:
    """The p95 of the requests of several windows together: each window's distribution from its
    percentiles (piecewise linear between them), mixed by its requests, solved for 95%. It lies
    between the windows' own p95s, and errs high by up to ~15% when one window has a stall
    (its tail is not linear between Locust's 90th, 95th and 98th percentiles; tests/calibrate/
    test_knee.py). Their maximum (a bound) let one 10-s stall of a shared machine fail a 20-s
    judged part whose p95 met the SLO (13:36: 360 ms then 140 ms at 71 req/s: 268 ms together).
    Windows without percentiles: the maximum of their p95s."""
    if any(w.p95_ms is None for w in windows):
        return None
    if len(windows) == 1 or any(len(w.quantiles) < 2 for w in windows):
        return max(w.p95_ms for w in windows if w.p95_ms is not None)
    grid = sorted({ms for w in windows for _, ms in w.quantiles})
    total = sum(w.requests for w in windows) or 1
    mixed = [sum(w.requests * _cdf(w.quantiles, x) for w in windows) / total for x in grid]
    return float(np.interp(0.95, mixed, grid))


def _cdf(quantiles: tuple[tuple[float, float], ...], ms: float) -> float:
    """A window's share of requests at or below ``ms``, linear between its percentiles (below
    the median: linear from 0 ms)."""
    top: dict[float, float] = {0.0: 0.0}
    for fraction, value in quantiles:  # Locust repeats a value for several percentiles: the highest
        top[value] = max(fraction, top.get(value, 0.0))
    values = sorted(top)
    return float(np.interp(ms, values, [top[v] for v in values]))


@dataclass(frozen=True)
class StepResult:
    """What one step of the staircase measured at the client."""

    name: str
    offered_rps: float  # requests/s the step's plan asked for (all endpoints)
    achieved_rps: float  # requests/s finished
    p95_ms: float | None
    error_rate: float
    trustworthy: bool  # the generator kept up (loadtests.summary)
    on_mix: bool  # a staircase step on the scenario's own mix (knee candidates)
    # disjoint 10-s windows back from the step's last second, in time order (none: the step is
    # judged by its whole p95, as before 2026-11-30)
    windows: tuple[Window, ...] = ()
    # a hold (a confirmation step): its windows from this second on are its steady part, judged
    # for the SLO and for growth; None: a staircase step, judged by its last window only
    settle_s: float | None = None
    ramp_s: float | None = None  # seconds until its throughput reached 90% of its last 5 s'
    # a hold's plan in its judged windows, requests/s (``calibrate.confirm``): a judged part that
    # finished ``SHORT`` fewer is a queue growing (None: not known, not judged so)
    judged_planned_rps: float | None = None


@dataclass(frozen=True)
class Verdict:
    """A step judged by its steady part (``judge``)."""

    meets: bool
    rate_rps: float  # requests/s finished in the judged windows (the whole step's without windows)
    p95_ms: float | None  # the p95 of the judged windows' requests together (``union_p95``)
    error_rate: float
    growing: bool
    judged_s: float  # seconds judged (0: the whole step)
    why: str  # how it was judged, in words


@dataclass(frozen=True)
class Knee:
    rate_rps: float | None  # highest achieved rate meeting the SLO; None if no step met it
    step: str | None
    slo_p95_ms: float
    slo_error_rate: float
    reached: bool  # some step on the mix broke the SLO (else the knee is only a lower bound)
    note: str
    confirmed: bool = False  # a hold (held to its steady state) met the SLO at this rate
    hold_s: float = 0.0  # that hold's length
    how: str = ""  # how the knee was judged: the hold, its steady windows, what broke above it
    # the load it was judged on (``calibrate.calibration``): the step's replayed stretch, its
    # compression, the minutes its judged windows replayed, and whether the sessions the model
    # had in progress were resumed at its start (a hold: ``calibrate.holds``)
    stretch: str = ""
    compress: float | None = None
    judged: str = ""
    resumed: bool = False
    # the knee's bracket (since 2026-12-01): the lowest rate above it that broke the SLO, the
    # step that ran it, and whether that step was a hold (``bounded``: the knee is bracketed on
    # the load it was judged on); a staircase step above it only (a hold never broke above the
    # knee, e.g. when the budget ended the bisection) leaves the knee a lower bound
    upper_rps: float | None = None
    upper_step: str | None = None
    bounded: bool = False
    # the bracket's width (since 2026-12-01 05:00): the broken step's plan over the knee's, each
    # in its judged part (holds replay the same minutes: their scales' ratio); without plans, the
    # finished rates'. Finished rates understate it: a hold past the knee finishes what the target
    # can (05:00 baseline: hold-10.4 finished 541 of 710 req/s offered, 1.07x the knee's 507,
    # planned 1.30x the knee's 545)
    width: float | None = None
    planned_rps: float | None = None  # the knee's step's plan in its judged part (a hold's)
    upper_planned_rps: float | None = None  # the broken step's

    @property
    def lower_bound(self) -> bool:
        """No hold broke the SLO above the knee: the knee is only a lower bound."""
        return self.rate_rps is not None and not self.bounded

    @property
    def resolved(self) -> bool:
        """A hold above the knee broke the SLO within ``RESOLUTION`` of it (``width``)."""
        return self.bounded and self.width is not None and self.width <= RESOLUTION * (1.0 + 1e-9)


# the bisection's resolution (calibrate.confirm): a knee whose bracket is wider is not exact
RESOLUTION = 1.1


# A hold's p95 is "growing" when that of the later half of its steady windows is above the
# earlier half's by more than this share, and as much again would cross the SLO: a queue still
# filling up (the rate is above the one whose steady p95 meets the SLO). A rise that cannot
# reach the SLO is left alone: 10-s windows' p95s move by 20-30% at steady state, and far below
# the SLO that does not matter.
GROWTH = 0.25
# ... unless the later half's rate is above the earlier half's by more than this share: then the
# p95 rose with the load (a hold's judged minutes can rise into the stretch's peak), not because
# a queue is still filling, and the later half is judged by the SLO itself. Measured 2026-11-30
# 17:05: a hold whose last two windows ran 23% more requests than the two before (244, 242 ->
# 314, 283 req/s) had p95s 95, 170 -> 240, 190 ms and was taken for growing, while the same
# load sustained (the peak hour at compress 12, 310 s) held 40-s p95s of 248, 326, 198 ms at
# 283-299 req/s without a trend (docs/calibration-log.md, "The knee's hold, measured").
RATE_RISE = 0.10


def judge(step: StepResult, slo_p95_ms: float, slo_error_rate: float) -> Verdict:
    """A step judged by its steady part. A hold: its windows from ``settle_s`` on (those at
    least half after it; at least its last two), which must not be in sustained overload
    (``sustained``: errors, a p95 over the SLO beyond one window's stall, a queue still
    filling). A staircase step: its last window (a 20-s step is mostly the sessions' ramp; its
    whole p95 mixes the ramp's light load in, which let a step meet the SLO although its last
    seconds did not). No windows: the whole step, as before."""
    if not step.windows:
        ok = step.p95_ms is not None and step.p95_ms <= slo_p95_ms and step.error_rate <= slo_error_rate
        return Verdict(ok and step.trustworthy, step.achieved_rps, step.p95_ms, step.error_rate, False, 0.0,
                       f"whole step: p95 {_ms(step.p95_ms)}")
    if step.settle_s is None:
        judged = list(step.windows[-1:])
    else:
        settle = step.settle_s
        judged = [w for w in step.windows if w.end_s - w.seconds / 2 >= settle - 1e-9]
        judged = judged if len(judged) >= 2 else list(step.windows[-2:])
    seconds = sum(w.seconds for w in judged)
    requests = sum(w.requests for w in judged)
    over = sustained(judged, slo_p95_ms, slo_error_rate, hold=step.settle_s is not None,
                     offered_rps=step.judged_planned_rps)
    ok = step.trustworthy and over.p95_ms is not None and not over.overloaded
    rate = requests / seconds if seconds else 0.0
    why = f"last {seconds:.0f} s: {rate:.0f} req/s, {over.why}"
    return Verdict(ok, rate, over.p95_ms, over.error_rate, over.growing, seconds, why)


# One 10-s window of a hold may hold a transient stall (2026-11-30/12-01: windows of 370-600 ms
# between windows of 50-170 ms, on SQLite and PostgreSQL alike, at loads the validation then met
# for 100 s): its p95 is judged without its worst window (``FORGIVEN`` of them), so a stall in
# one window does not break a hold while a p95 over the SLO in two windows of four does.
FORGIVEN = 1


@dataclass(frozen=True)
class Overload:
    """Windows of requests judged for sustained overload (``sustained``): the same rule for a
    hold, a validation level's busiest window and the model's prediction of either."""

    overloaded: bool
    p95_ms: float | None  # the windows' requests together (``union_p95``)
    sustained_p95_ms: float | None  # the same without the ``FORGIVEN`` worst windows
    error_rate: float
    growing: bool  # the later windows' p95 rose as a queue that is still filling does
    why: str


# a judged part that finished this share fewer requests than its plan offered: a queue growing
# (the replays run 1.0-1.05x their plan on smoke, so 10% short is not the replay's own shortfall)
SHORT = 0.10


def sustained(windows: list[Window], slo_p95_ms: float, slo_error_rate: float, hold: bool = True,
              offered_rps: float | None = None) -> Overload:
    """Whether ``windows`` (in time order) show sustained overload: errors above the SLO's
    rate; a p95 above the SLO's in more than ``FORGIVEN`` window(s) (the p95 of the requests of
    the windows but the worst); or, with ``hold`` (a steady part, not one staircase window), a
    queue still filling (``growing``), or fewer requests finished than ``offered_rps`` by more
    than ``SHORT``. A single window is judged by its own p95."""
    requests = sum(w.requests for w in windows)
    errors = sum(w.failures for w in windows) / requests if requests else 0.0
    p95 = union_p95(windows)
    kept = windows
    if len(windows) > 2 * FORGIVEN:
        worst = sorted(windows, key=lambda w: -(w.p95_ms or 0.0))[:FORGIVEN]
        kept = [w for w in windows if w not in worst]
    steady = union_p95(kept)
    growing, rise = (_growing(windows, slo_p95_ms) if hold and len(windows) >= 2 and p95 is not None
                     else (False, 0.0))
    rate = _rate(windows)
    short = bool(hold and offered_rps and rate < (1.0 - SHORT) * offered_rps)
    overloaded = (p95 is None or steady is None or steady > slo_p95_ms or errors > slo_error_rate
                  or growing or short)
    trend = ", ".join(_ms(w.p95_ms) for w in windows)
    text = f"p95 {_ms(p95)}" + (f" ({trend} by 10 s)" if len(windows) > 1 else "")
    if steady is not None and p95 is not None and kept is not windows and steady != p95:
        text += f", {_ms(steady)} without the worst window"
    if growing:
        text += " (growing)"
    elif rise > RATE_RISE:
        text += f" (the later half's rate {100 * rise:+.0f}%: judged by the SLO, not by its rise)"
    if errors:
        text += f", errors {100 * errors:.2f}%"
    if short:
        text += f", {rate:.0f} of {offered_rps:.0f} req/s offered (queue growing)"
    return Overload(overloaded, p95, steady, errors, growing, text)


def _growing(windows: list[Window], slo_p95_ms: float) -> tuple[bool, float]:
    """A queue still filling: every window of the later half has a p95 above the earlier half's
    highest by more than ``GROWTH``, and its lowest plus that rise again crosses the SLO (one
    window's stall in the later half is not growth). When the later half ran more than
    ``RATE_RISE`` more requests a second, the rise is the load's: growing then means every
    later window is over the SLO itself. Returns (growing, the later half's rate rise)."""
    half = len(windows) // 2
    early, late = windows[:half], windows[-half:]
    rise = _rate(late) / max(1e-9, _rate(early)) - 1.0
    lows = [w.p95_ms or 0.0 for w in late]
    if rise > RATE_RISE:
        return min(lows) > slo_p95_ms, rise
    top = max(w.p95_ms or 0.0 for w in early)
    low = min(lows)
    return low > (1.0 + GROWTH) * top and low + (low - top) > slo_p95_ms, rise


def _rate(windows: list[Window]) -> float:
    seconds = sum(w.seconds for w in windows)
    return sum(w.requests for w in windows) / seconds if seconds else 0.0


def _ms(value: float | None) -> str:
    return "none" if value is None else f"{value:.0f} ms"


def knee(steps: list[StepResult], slo_p95_ms: float, slo_error_rate: float) -> Knee:
    """The highest rate on the scenario's mix whose p95 and error rate meet the SLO, each step
    judged by its steady part (``judge``). When holds ran (``settle_s``), the knee is the
    highest hold that met it (confirmed); staircase steps count only below every hold that
    failed (not confirmed). Steps whose generator saturated are left out: their latency
    measures the generator."""
    mix = [s for s in steps if s.on_mix]
    trusted = [s for s in mix if s.trustworthy]
    verdicts = {s.name: judge(s, slo_p95_ms, slo_error_rate) for s in trusted}
    good = [s for s in trusted if verdicts[s.name].meets]
    broken = [s for s in trusted if s not in good]
    holds = [s for s in trusted if s.settle_s is not None]
    confirmed = [s for s in good if s.settle_s is not None]
    failed = [verdicts[s.name].rate_rps for s in holds if s not in good]
    if confirmed:
        good = confirmed
    elif failed:  # no hold met the SLO: the knee is below the slowest that failed, unconfirmed
        good = [s for s in good if verdicts[s.name].rate_rps < min(failed)]
    best = max(good, key=lambda s: verdicts[s.name].rate_rps, default=None)
    if len(trusted) < len(mix):
        note = f"{len(mix) - len(trusted)} step(s) left out: the load generator saturated"
    else:
        note = ""
    if not broken:
        note = (note + "; " if note else "") + "no step broke the SLO: the knee is above the highest rate"
    how = _how(best, holds, verdicts) if best is not None else ""
    rate = verdicts[best.name].rate_rps if best else None
    upper, bounded = _upper(best, holds, broken, verdicts)
    if best is not None and not bounded:
        how += ("; a LOWER BOUND: no hold broke the SLO above it"
                + (f" (the staircase broke it at {verdicts[upper.name].rate_rps:.0f} req/s, {upper.name})"
                   if upper is not None else ""))
    upper_rps = verdicts[upper.name].rate_rps if upper is not None else None
    return Knee(rate, best.name if best else None, slo_p95_ms, slo_error_rate, bool(broken), note,
                bool(confirmed), _hold_s(best), how, upper_rps=upper_rps,
                upper_step=upper.name if upper is not None else None, bounded=bounded,
                width=_width(best, upper, rate, upper_rps),
                planned_rps=best.judged_planned_rps if best is not None else None,
                upper_planned_rps=upper.judged_planned_rps if upper is not None else None)


def _width(best: StepResult | None, upper: StepResult | None, rate: float | None,
           upper_rps: float | None) -> float | None:
    """The bracket's width (``Knee.width``): by plan where both steps' plans compare (two holds:
    their judged parts' plans; two staircase steps: their plans, the same minutes at the same
    compression), else by the rates they finished."""
    if best is None or upper is None or not rate or upper_rps is None:
        return None
    if best.judged_planned_rps and upper.judged_planned_rps:
        return upper.judged_planned_rps / best.judged_planned_rps
    if best.settle_s is None and upper.settle_s is None and best.offered_rps > 0:
        return upper.offered_rps / best.offered_rps
    return upper_rps / rate


def _upper(best: StepResult | None, holds: list[StepResult], broken: list[StepResult],
           verdicts: dict[str, Verdict]) -> tuple[StepResult | None, bool]:
    """The lowest step above the knee ``best`` that broke the SLO: a hold if one did (bounded),
    else a staircase step (None when nothing broke above it). Holds are ordered by their plans
    where known (``_above``): one far past the knee finishes less than one just past it."""
    if best is None:
        return None, False
    failed = [s for s in holds if not verdicts[s.name].meets and _above(s, best, verdicts)]
    if failed:
        return min(failed, key=lambda s: _load(s, verdicts)), True
    rate = verdicts[best.name].rate_rps
    stairs = [s for s in broken if s.settle_s is None and verdicts[s.name].rate_rps > rate]
    return min(stairs, key=lambda s: verdicts[s.name].rate_rps, default=None), False


def _load(step: StepResult, verdicts: dict[str, Verdict]) -> float:
    """A hold's plan in its judged part, else the rate it finished there."""
    return step.judged_planned_rps or verdicts[step.name].rate_rps


def _above(step: StepResult, best: StepResult, verdicts: dict[str, Verdict]) -> bool:
    """Whether ``step`` ran above the knee ``best``: by plan where both know theirs (a hold past
    the knee may finish less than the knee's rate), else by the rates they finished."""
    if step.judged_planned_rps and best.judged_planned_rps:
        return step.judged_planned_rps > best.judged_planned_rps
    return verdicts[step.name].rate_rps > verdicts[best.name].rate_rps


def _hold_s(step: StepResult | None) -> float:
    return step.windows[-1].end_s if step is not None and step.settle_s is not None and step.windows else 0.0


def _how(best: StepResult, holds: list[StepResult], verdicts: dict[str, Verdict]) -> str:
    """The knee's provenance in words: the step or hold it is, and the nearest hold above it."""
    v = verdicts[best.name]
    if best.settle_s is not None:
        text = (f"confirmed by a {_hold_s(best):.0f}-s hold ({best.name}), steady from "
                f"{best.settle_s:.0f} s: {v.why}")
    elif holds:
        text = f"not confirmed: every hold broke the SLO; staircase step {best.name}: {v.why}"
    else:
        text = f"not confirmed (no hold ran): staircase step {best.name}: {v.why}"
    above = [s for s in holds if not verdicts[s.name].meets and _above(s, best, verdicts)]
    nearest = min(above, key=lambda s: _load(s, verdicts), default=None)
    if nearest is not None:
        text += f"; above it {nearest.name} broke it: {verdicts[nearest.name].why}"
    return text
