"""The spread of a SQLite lock's holds from the server's histograms (issue 12): a blocked write
waits the rest of the hold it finds, which it finds in proportion to its length, so its wait is
E[H²] / 2E[H] = E[H] (1 + scv) / 2 and the holds' squared coefficient of variation matters as much
as their mean. The reference's holds are heavy-tailed (a route's Python between its statements,
a commit's fsync, both waiting for the GIL): scv 1-9 measured at 30-110% of the knee.

The server keeps cumulative buckets (``yanxiu_write_lock_held_seconds_bucket{endpoint, le}``, a
route's transaction; ``yanxiu_commit_seconds_bucket{le}``, a group commit) and their exact sums
and counts. ``scv`` takes each bucket's holds as uniform between its bounds (the last, unbounded
one as uniform up to twice its lower bound) for E[H²], and the exact mean."""

from __future__ import annotations

import math
from collections import defaultdict

from calibrate import fit as fitting

_KEY = "(bucket {} {})"  # a row's pseudo-count: holds of ``what`` within bound ``le`` in the bin
MIN_HOLDS = 30  # holds a spread needs to be written


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
