"""Queueing formulas for the platform tiers: pure functions, vectorised over NumPy arrays.

Notation: ``c`` servers, ``a`` offered load in Erlangs (arrival rate × mean service time),
``rho = a / c`` utilisation. Times are in seconds.

- Erlang B and C are computed from the Poisson distribution, ``B = pmf(c; a) / cdf(c; a)``,
  in log space through the regularised incomplete gamma function, so they stay accurate for
  c up to millions (no factorials, no O(c) recursion per minute).
- Unstable load (``rho >= 1``) has no stationary state: waits are ``inf``.
- Non-exponential service uses the Allen-Cunneen correction: the waiting probability is
  Erlang C, the conditional wait is exponential with mean ``(1 + scv) / 2 / (c·mu - lambda)``
  (scv = squared coefficient of variation of the service time). Exact for M/M/c (scv = 1).
- The fluid functions describe a minute in which a backlog of work exists (overload or the
  drain after one): every arrival waits ``backlog / c`` and the backlog moves linearly.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaincc, gammaln


def utilisation(arrival_rate: ArrayLike, mean_service_s: ArrayLike,
                servers: ArrayLike) -> np.ndarray:
    """Offered utilisation rho = lambda·E[S]/c (may exceed 1: then the tier is overloaded)."""
    lam = np.asarray(arrival_rate, float)
    return lam * np.asarray(mean_service_s, float) / np.asarray(servers, float)


def erlang_b(servers: ArrayLike, load: ArrayLike) -> np.ndarray:
    """Blocking probability of M/M/c/c with offered load ``load`` Erlangs."""
    c = np.asarray(servers, float)
    a = np.asarray(load, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pmf = c * np.log(a) - a - gammaln(c + 1)
        log_cdf = np.log(gammaincc(c + 1, a))  # P(Poisson(a) <= c)
        b = np.exp(log_pmf - log_cdf)
    return np.where(a > 0, np.clip(np.nan_to_num(b, nan=1.0), 0.0, 1.0), 0.0)


def erlang_c(servers: ArrayLike, load: ArrayLike) -> np.ndarray:
    """Probability that an arrival waits in M/M/c (1 when the load is unstable)."""
    c = np.asarray(servers, float)
    a = np.asarray(load, float)
    rho = a / c
    b = erlang_b(c, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        pw = b / (1.0 - rho * (1.0 - b))
    return np.where(rho >= 1.0, 1.0, np.clip(pw, 0.0, 1.0))


def _decay_rate(arrival_rate: ArrayLike, mean_service_s: ArrayLike, servers: ArrayLike,
                scv: ArrayLike) -> np.ndarray:
    """Rate of the exponential conditional wait: (c·mu - lambda) / ((1 + scv) / 2)."""
    lam = np.asarray(arrival_rate, float)
    mu = 1.0 / np.asarray(mean_service_s, float)
    return (np.asarray(servers, float) * mu - lam) / ((1.0 + np.asarray(scv, float)) / 2.0)


def mean_wait(arrival_rate: ArrayLike, mean_service_s: ArrayLike, servers: ArrayLike,
              scv: ArrayLike = 1.0) -> np.ndarray:
    """Mean time in queue (s): exact for M/M/c, Allen-Cunneen for M/G/c; inf if rho >= 1."""
    lam = np.asarray(arrival_rate, float)
    s = np.asarray(mean_service_s, float)
    c = np.asarray(servers, float)
    pw = erlang_c(c, lam * s)
    theta = _decay_rate(lam, s, c, scv)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = pw / theta
    return np.where(theta > 0, np.where(pw > 0, w, 0.0), np.inf)


def wait_tail(t: ArrayLike, arrival_rate: ArrayLike, mean_service_s: ArrayLike,
              servers: ArrayLike, scv: ArrayLike = 1.0) -> np.ndarray:
    """P(W > t): Erlang C times an exponential tail (exact for M/M/c); 1 if rho >= 1."""
    lam = np.asarray(arrival_rate, float)
    s = np.asarray(mean_service_s, float)
    pw = erlang_c(servers, lam * s)
    theta = _decay_rate(lam, s, servers, scv)
    with np.errstate(over="ignore", invalid="ignore"):
        tail = pw * np.exp(-np.maximum(theta, 0.0) * np.asarray(t, float))
    return np.where(theta > 0, tail, 1.0)


def exp_plus_exp_tail(t: ArrayLike, rate_a: ArrayLike, rate_b: ArrayLike) -> np.ndarray:
    """P(X + Y > t) for independent X ~ Exp(rate_a), Y ~ Exp(rate_b), stable when rates meet."""
    t = np.asarray(t, float)
    a = np.asarray(rate_a, float)
    b = np.asarray(rate_b, float)
    d = b - a
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # (b e^{-a t} - a e^{-b t}) / (b - a) = e^{-a t} (1 - a·expm1(-d t)/d)
        ratio = np.where(np.abs(d * t) < 1e-8, -t, np.expm1(-d * t) / d)
        near = np.exp(-a * t) * (1.0 - a * ratio)
        far = (b * np.exp(-a * t) - a * np.exp(-b * t)) / d
        out = np.where(d * t > -30.0, near, far)
    return np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0)


def response_tail(t: ArrayLike, arrival_rate: ArrayLike, mean_service_s: ArrayLike,
                  servers: ArrayLike, service: str = "exponential") -> np.ndarray:
    """P(W + S > t) for one request class: exact for M/M/c, Allen-Cunneen wait for M/D/c."""
    lam = np.asarray(arrival_rate, float)
    s = np.asarray(mean_service_s, float)
    t = np.asarray(t, float)
    scv = 1.0 if service == "exponential" else 0.0
    pw = erlang_c(servers, lam * s)
    theta = _decay_rate(lam, s, servers, scv)
    if service == "exponential":
        mu = 1.0 / s
        tail = (1.0 - pw) * np.exp(-mu * t) + pw * exp_plus_exp_tail(t, mu, np.maximum(theta, 0))
    else:
        shifted = t - s
        tail = np.where(shifted < 0, 1.0, pw * np.exp(-np.maximum(theta, 0) * shifted))
    return np.where(theta > 0, tail, 1.0)


def quantile(tail, probability: float, upper: ArrayLike, lower: ArrayLike | None = None,
             precision: float = 1e-5, relative_floor: float = 1e-7) -> np.ndarray:
    """Smallest t with tail(t) <= 1 - probability, by vectorised bisection on log(t).

    ``tail`` maps an array of times (shape of ``upper``) to survival probabilities and must be
    non-increasing. The bracket is [lower, upper] when a true lower bound is given, else
    [upper·relative_floor, upper] with answers below the floor returned as 0; the number of
    steps is the fewest that bring every bracket to ``precision`` (relative).
    ``inf`` in ``upper`` gives an ``inf`` quantile.
    """
    top = np.array(upper, float, copy=True)
    finite = np.isfinite(top) & (top > 0)
    top = np.where(finite, top, 1.0)
    floor = top * relative_floor
    bottom = floor if lower is None else np.clip(np.asarray(lower, float), floor, top)
    lo = np.log(bottom)
    hi = np.log(top)
    target = 1.0 - probability
    width = float(np.max(hi - lo, initial=0.0))
    steps = int(np.ceil(np.log2(max(width, precision) / precision)))
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        above = tail(np.exp(mid)) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    out = np.exp(hi)
    if lower is None:
        out = np.where(tail(floor) > target, out, 0.0)
    return np.where(finite, out, np.where(np.isfinite(np.asarray(upper, float)), 0.0, np.inf))


def response_percentile(probability: float, arrival_rate: ArrayLike, mean_service_s: ArrayLike,
                        servers: ArrayLike, service: str = "exponential") -> np.ndarray:
    """The ``probability`` quantile of the response time W + S (s); inf if rho >= 1."""
    lam, s, c = np.broadcast_arrays(*(np.asarray(x, float) for x in
                                      (arrival_rate, mean_service_s, servers)))
    scv = 1.0 if service == "exponential" else 0.0
    theta = _decay_rate(lam, s, c, scv)
    pw = erlang_c(c, lam * s)
    slack = (1.0 - probability) / 2.0
    # P(S > x) <= slack and P(W > y) <= slack give P(S + W > x + y) <= 1 - probability.
    with np.errstate(divide="ignore", invalid="ignore"):
        service_part = s * (-np.log(slack) if service == "exponential" else 1.0)
        wait_part = np.where(pw > slack, np.log(pw / slack) / theta, 0.0)
    upper = np.where(theta > 0, service_part + wait_part, np.inf)
    return quantile(lambda x: response_tail(x, lam, s, c, service), probability, upper)


def fluid_backlog(load: ArrayLike, servers: float, step_s: float = 60.0, initial: float = 0.0,
                  cap: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Work backlog (server-seconds) at the START of each step of a fluid queue, and the work
    lost in each step because the backlog would exceed ``cap`` (requests that give up).

    Lindley's recursion V[t+1] = min(cap, max(0, V[t] + (a[t] - c)·step)). Without a cap it
    is solved without a Python loop, V = S - min(0, running min of S) with S the cumulative
    net inflow; the loop runs only when the cap is reached.
    """
    net = (np.asarray(load, float) - servers) * step_s
    cumulative = initial + np.concatenate(([0.0], np.cumsum(net)))
    running_min = np.minimum.accumulate(np.minimum(cumulative, 0.0))
    backlog = cumulative - running_min
    if backlog.max(initial=0.0) <= cap:
        return backlog[:-1], np.zeros_like(net)
    start = np.empty_like(net)
    lost = np.zeros_like(net)
    level = min(initial, cap)
    for i, inflow in enumerate(net.tolist()):
        start[i] = level
        level = max(0.0, level + inflow)
        if level > cap:
            lost[i] = level - cap
            level = cap
    return start, lost


def fluid_wait_range(backlog: ArrayLike, load: ArrayLike, servers: float, step_s: float = 60.0,
                     cap_s: float = np.inf) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fluid part of a step: (share of the step with a backlog, wait at its start, at its end).

    The wait of an arrival at time tau is max(0, backlog/c + (rho - 1)·tau), at most ``cap_s``;
    while it is positive every arrival meets it, and it moves linearly, so waits in the fluid
    part are taken as uniform between the two ends (exact unless the cap is hit mid-step).
    """
    w0 = np.asarray(backlog, float) / servers
    slope = np.asarray(load, float) / servers - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        drain_s = np.where(slope < 0, w0 / -slope, np.inf)
    # At rho >= 1 there is no stationary state: the whole step is fluid (waits may start at 0).
    busy_s = np.where(slope >= 0, step_s, np.minimum(drain_s, step_s))
    w1 = np.minimum(np.maximum(w0 + slope * busy_s, 0.0), cap_s)
    return busy_s / step_s, w0, w1
