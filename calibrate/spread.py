"""The spread of a SQLite lock's holds from the server's histograms (issue 12): a blocked write
waits the rest of the hold it finds, which it finds in proportion to its length, so its wait is
E[H²] / 2E[H] = E[H] (1 + scv) / 2 and the holds' squared coefficient of variation matters as much
as their mean. The reference's holds are heavy-tailed (a route's Python between its statements,
a commit's fsync, both waiting for the GIL): scv 1-9 measured at 30-110% of the knee.

The server keeps cumulative buckets (``yanxiu_write_lock_held_seconds_bucket{endpoint, le}``, a
route's transaction; ``yanxiu_commit_seconds_bucket{le}``, a group commit) and their exact sums
and counts. ``scv`` takes each bucket's holds as uniform between its bounds (the last, unbounded
one as uniform up to twice its lower bound) for E[H²], and the exact mean.

Which steps they are read over (``below_knee``): the long holds come with the load (the GIL's
waits, the workers' full garbage collections), so read over all the calibration's stable steps, its
holds near the knee included, they overshot the lock's wait at the quietest level (2026-12-01 02:44,
60% of the knee on a quiet host: heartbeat +21% / +41%; 04:39 baseline, 30%: the model's wait of a
heartbeat's job 1.53 ms against the server's 1.00); read over the steps below half the knee they
give 0.99 ms there (docs/calibration-log.md, "The holds' spread read below half the knee")."""

from __future__ import annotations

import math
from collections import defaultdict

from calibrate import fit as fitting

_KEY = "(bucket {} {})"  # a row's pseudo-count: holds of ``what`` within bound ``le`` in the bin
MIN_HOLDS = 30  # holds a spread needs to be written
BELOW = 0.5  # the spreads are read over the steps whose rate was at most this share of the knee


def bucket_counts(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """A bin's histogram counts (``Scrape.buckets``: "<what> <le>" -> cumulative count so far, before
    and after the bin), as a ``fit.Row``'s pseudo-counts."""
    return {_KEY.format(*key.rsplit(" ", 1)): value - before.get(key, 0.0) for key, value in after.items()}


def summed(rows: list[fitting.Row], what: str) -> dict[float, float]:
    """``what``'s cumulative counts by upper bound over ``rows`` (inf for the last bucket)."""
    prefix = _KEY.format(what, "")[:-1]
    out: dict[float, float] = defaultdict(float)
    for row in rows:
        for key, value in row.requests.items():
            if key.startswith(prefix):
                out[float(key[len(prefix):-1].replace("+Inf", "inf"))] += value
    return dict(out)


def scv(buckets: dict[float, float], mean_s: float) -> float | None:
    """The squared coefficient of variation of holds whose cumulative counts by upper bound are
    ``buckets`` and whose exact mean is ``mean_s``; None under MIN_HOLDS or without a mean."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if total < MIN_HOLDS or mean_s <= 0:
        return None
    second, lower, below = 0.0, 0.0, 0.0
    for upper in bounds:
        top = 2.0 * lower if math.isinf(upper) else upper
        second += (buckets[upper] - below) / total * (lower * lower + lower * top + top * top) / 3.0
        lower, below = top, buckets[upper]
    return max(second / mean_s**2 - 1.0, 0.0)



def rate_rps(rows: list[fitting.Row]) -> float:
    """Finished requests a second over ``rows`` (their endpoints' counts, not their pseudo-counts)."""
    seconds = sum(row.seconds for row in rows)
    done = sum(v for row in rows for k, v in row.requests.items() if not k.startswith("("))
    return done / seconds if seconds > 0 else 0.0


def below_knee(rows: list[fitting.Row], knee_rps: float | None, share: float = BELOW) -> list[fitting.Row]:
    """The rows of the steps whose rate was at most ``share`` of the knee (``knee_rps``; None: no
    knee found, ``rows`` itself). By step, its whole length: a 5-s bin's rate is noisy at a step's
    edges and a hold's first bins, slow while its load ramps up, come after the step above it."""
    if knee_rps is None or knee_rps <= 0:
        return rows
    steps: dict[int, list[fitting.Row]] = defaultdict(list)
    for row in rows:
        steps[row.step].append(row)
    kept = {step for step, mine in steps.items() if rate_rps(mine) <= share * knee_rps}
    return [row for row in rows if row.step in kept]
