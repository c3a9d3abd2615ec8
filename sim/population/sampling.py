"""The stated error bound of a sampled run's peaks (docs/model.md, level 1).

A sampled run simulates n teachers of weight w = N/n instead of all N. Its count in a minute,
X_s, and the full run's, X_f, are independent draws, so Var(X_s - X_f) = Var(X_s) + Var(X_f).
When every counted event is its own independent unit (a session, a request) Var(X_f) ~ X and
Var(X_s) ~ w X, giving the relative bound k * sqrt((1 + w) / X).

Heartbeats are not independent events: one viewer sends c = 60 / interval of them a minute
(three at 20 s), so the independent units are viewers, X / c of them, and each carries c
events. The variance grows by the design effect c (the cluster size), and the bound by
sqrt(c): k * sqrt((1 + w) * c / X). With several sub-platforms c is the heartbeat-weighted mean
cluster size sum(c_s^2 V_s) / sum(c_s V_s) over the viewers V_s of each. Below one beat a minute
per viewer (the basic client's 600 s) c < 1 and the bound is tighter than the naive one.
"""

from __future__ import annotations

import math

SIGMAS = 4.0  # the bound is this many standard deviations


def sampling_bound(weight: float, count: float, cluster: float = 1.0, sigmas: float = SIGMAS) -> float:
    """Relative error bound |peak_sampled / peak_full - 1| for a peak of ``count`` events
    per minute made of independent units of ``cluster`` events each."""
    if count <= 0:
        return math.inf
    return sigmas * math.sqrt((1.0 + weight) * cluster / count)


def heartbeat_cluster(viewers: dict[str, float], interval_s: dict[str, float],
                      others: float = 0.0) -> float:
    """The design effect of a minute's count: heartbeats per viewer per minute, weighted by
    heartbeats; ``others`` independent events (requests other than heartbeats) count as
    clusters of one, for a count such as all requests."""
    beats = {sub: 60.0 / interval_s[sub] for sub in viewers}
    total = sum(beats[sub] * v for sub, v in viewers.items()) + others
    if total <= 0:
        return 1.0
    return (sum(beats[sub] ** 2 * v for sub, v in viewers.items()) + others) / total
