"""Group commit: a writer that takes every write waiting when it comes free and commits them
as one batch (reference.committer), so one commit's fixed cost (the fsync, the lock hand-over)
is shared by the whole batch. A pool tier with ``discipline: group-commit`` and ``commit_ms``.

A batch of n writes holds the writer for ``commit + s_1 + ... + s_n`` and every write in it is
answered when the batch ends. The busier the writer, the bigger the batches and the smaller
the commit's share per write: utilisation grows more slowly than ``λ (d + commit)``, which a
fixed demand per write cannot follow (measured on the reference's SQLite writer: a fixed
demand over-predicted its utilisation by 8-14 points at 60-110% of the knee).

``serve_batches`` simulates it request by request (gated batches; each of ``servers`` writers
has its own queue, as each reference worker has its own committer). ``batch_chain`` gives the
exact long-run figures of one writer under Poisson arrivals, from the Markov chain of batch
sizes: a batch of n lasts ``S(n) = commit + n d`` (means), during which ``Poisson(λ S(n))``
writes arrive and form the next batch; when none arrived, the writer idles for an
exponential ``1/λ`` and the next batch is the one write that ends the idle time. With ``π`` the
stationary law of batch sizes, a batch cycle lasts ``E[S(N)] + P(no arrival) / λ`` and
``utilisation = E[S(N)] / cycle``. Stable while ``λ d < 1``: the commit alone never saturates
the writer, because batches grow to absorb it (at heavy load batches approach
``λ commit / (1 - λ d)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import poisson


def serve_batches(arrivals: list[float], service: list[float], servers: int,
                  commit_s: float, each: bool = False,
                  assign: np.ndarray | None = None) -> tuple[list[float], list[float]]:
    """(start, leave) of each write. Writes go to the writers in turn (each its own queue);
    all writes of a batch leave when it ends, and a write's ``start`` is its leave less its
    own service and its share of the commit, so that the [start, leave) windows add up to
    the writer's busy time (utilisation) as for the other pools.

    ``each``: an event loop instead of a writer (``wakeup_ms`` on an api tier): the batch is
    the requests ready when the loop wakes, the fixed cost (``commit_s``) is the wake-up's,
    paid first, and then each request's callback runs in turn and answers as it ends, so
    request k of a batch leaves at ``begin + commit + s_1 + ... + s_k``. Busy time and
    batches are the group commit's: the same chain (``batch_chain``) describes both.
    ``assign``: the server of each item (default: in turn). Drawn at random, each server's
    arrivals stay Poisson, as the chain has them; in turn, they are more regular (Erlang),
    so batches are smaller (two loops at 0.3-0.4 of a core each: 1-2 points busier)."""
    n = len(arrivals)
    start, leave = [0.0] * n, [0.0] * n
    for writer in range(servers):
        mine = (list(range(writer, n, servers)) if assign is None
                else np.flatnonzero(assign == writer).tolist())
        _one_writer(mine, arrivals, service, commit_s, start, leave, each)
    return start, leave


def _one_writer(mine: list[int], arrivals: list[float], service: list[float], commit_s: float,
                start: list[float], leave: list[float], each: bool = False) -> None:
    free, i = 0.0, 0
    while i < len(mine):
        begin = max(free, arrivals[mine[i]])
        j = i
        while j < len(mine) and arrivals[mine[j]] <= begin:
            j += 1
        batch = mine[i:j]
        share = commit_s / len(batch)
        end = begin + commit_s
        for k in batch:
            end += service[k]
            leave[k] = end
        for k in batch:
            leave[k] = leave[k] if each else end
            start[k] = leave[k] - service[k] - share
        free, i = end, j


@dataclass(frozen=True)
class BatchFigures:
    utilisation: float
    mean_batch: float  # writes per batch (batch-weighted mean)
    batches_per_s: float
    demand_s: float  # busy time per write: d + commit / mean batch (the utilisation law's D)


def batch_chain(rate: float, demand_s: float, commit_s: float, tolerance: float = 1e-12) -> BatchFigures:
    """Exact long-run figures of one group-commit writer at Poisson ``rate`` writes/s with
    mean service ``demand_s`` per write and ``commit_s`` per batch (see the module's text)."""
    if rate < 0 or demand_s < 0 or commit_s < 0:
        raise ValueError(f"rate, demand and commit must be >= 0 (got {rate}, {demand_s}, {commit_s})")
    if rate == 0:
        return BatchFigures(0.0, 1.0, 0.0, demand_s + commit_s)
    if rate * demand_s >= 1:
        raise ValueError(f"unstable: rate × demand = {rate * demand_s:.3g} >= 1")
    heavy = rate * commit_s / (1.0 - rate * demand_s)
    top = int(max(50.0, 4.0 * heavy + 12.0 * math.sqrt(heavy + 1.0) + 20.0))
    sizes = np.arange(1, top + 1)
    means = rate * (commit_s + sizes * demand_s)  # expected arrivals during a batch of each size
    move = poisson.pmf(np.arange(top + 1)[None, :], means[:, None])  # rows: from n; cols: m = 0..top
    move[:, top] += poisson.sf(top, means)  # truncation: larger batches lumped into the last
    chain = move[:, 1:].copy()
    chain[:, 0] += move[:, 0]  # no arrival: idle, then a batch of the one write that ends it
    law = _stationary(chain, tolerance)
    busy = float(law @ (commit_s + sizes * demand_s))
    idle = float(law @ move[:, 0]) / rate
    batches_per_s = 1.0 / (busy + idle)
    mean_batch = float(law @ sizes)
    return BatchFigures(busy / (busy + idle), mean_batch, batches_per_s, demand_s + commit_s / mean_batch)


def _stationary(chain: np.ndarray, tolerance: float) -> np.ndarray:
    """The stationary law of a row-stochastic matrix (solved directly: π (P - I) = 0, Σπ = 1)."""
    size = chain.shape[0]
    system = chain.T - np.eye(size)
    system[-1, :] = 1.0
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    law = np.linalg.solve(system, rhs)
    law = np.clip(law, 0.0, None)
    return law / law.sum()


def effective_demand(rates: np.ndarray, demand_s: float, commit_s: float, writers: int) -> np.ndarray:
    """Busy time per write at each total rate (``writers`` share the rate evenly): what the
    per-minute model charges a write on a group-commit tier (``batching_figures``, exact)."""
    per_writer = np.asarray(rates, float) / max(1, writers)
    return batching_figures(per_writer, np.full(per_writer.shape, demand_s), commit_s).demand_s


@dataclass(frozen=True)
class Batching:
    """Long-run figures of one batching server, one entry per rate (``batching_figures``)."""

    mean_batch: np.ndarray  # items per batch (inf when unstable)
    utilisation: np.ndarray  # busy share: item_rate·item + batches/s·overhead (item_rate·item if unstable)
    demand_s: np.ndarray  # busy time per item: item + overhead / mean batch (the utilisation law's D)
    wait_s: np.ndarray  # mean response beyond a lone item's (overhead + own item): inf if unstable
    stable: np.ndarray  # rate × item < 1
    # that wait for an item that finds the server busy (probability: the utilisation), whose
    # mean is wait_s / utilisation: its standard deviation
    busy_wait_sd_s: np.ndarray | None = None


# The series for P(no arrival during a batch) stops when its terms fall below this share of
# their geometric tail, which is then added in closed form (relative error ~1e-7 · rate·overhead).
_SERIES_STOP = 1e-7
# Closer to 1 the series needs ~ln(1e7/(1 - y))/(1 - y) terms; beyond this y its value is taken
# at this y. That moves the figures by little: P0 enters as x + P0 beside the rate·overhead x,
# and with no overhead the mean wait does not depend on P0 at all (tests/sim/tiers).
_Y_CAP = 0.995


def batching_figures(rate: np.ndarray, item_s: np.ndarray, overhead_s: float,
                     item_scv: np.ndarray | float = 0.0,
                     item_skew: np.ndarray | float = 0.0) -> Batching:
    """Exact long-run figures of one server that serves in gated batches: when it comes free
    it takes every item waiting, and a batch of n items holds it for ``overhead_s + n·item_s``
    (a group commit: the commit's fixed cost and each write's own; an event loop's wake-up
    and each callback's; etc.). ``rate``: Poisson items/s at this one server (a pool of c
    servers each with its own queue: the pool's rate / c), vectorised with ``item_s``, the mean
    demand of an item (the minute's mix). Same chain as ``batch_chain``, solved in closed form.

    In units of 1/rate, x = rate·overhead and y = rate·item; a batch of N is followed by
    A ~ Poisson(x + yN) arrivals, the next batch (1 when A = 0, after an idle time). With
    P0 = P(A = 0) in the long run, taking means and second moments of that step gives, exactly,
    E[N] = (x + P0) / (1 - y) and E[N²] = (x + x² + (y + 2xy) E[N] + P0) / (1 - y²), and a
    cycle (batch and idle time) lasts E[N] / rate, so utilisation = y + x / E[N]. P0 itself
    comes from the Laplace transform L(s) = E[exp(-sN)], which the step maps as
    L(s) = exp(-x φ(s)) L(y φ(s)) - P0 φ(s), φ(s) = 1 - exp(-s); iterating from s = y
    (s_k → 0, L(0) = 1) gives P0 = exp(-x) E / (1 + exp(-x) F) with E = exp(-x Σ φ(s_k)),
    F = Σ φ(s_k) exp(-x Σ_{j<k} φ(s_j)).

    Mean response (PASTA): an item finding the server idle is alone in its batch
    (overhead + item). One finding a batch of length S in progress (chosen in proportion to
    S) waits its remainder (S/2 on average) and then its own batch: itself and the
    Poisson(rate·S) items that arrived meanwhile. So the mean wait beyond a lone item's is
    (1/2 + y) · rate·E[S²] / E[N] with rate·S = x + yN (+ the items' variance: ``item_scv``).
    Exact for a fixed item demand; with variable items the chain uses the batch's mean
    length (within 3 points of utilisation for exponential items, test_batching.py).

    Spread of that wait for an item that finds the server busy (in a batch of length S,
    chosen in proportion to S): W = R + the batch-mates' demands, R uniform on [0, S] and
    Poisson(rate·S) mates, so E[W² | S] = S² (1/3 + y + y²) + y·item (1 + scv) S, which needs
    E[S³]: from E[N³], the third moment of the same step (E[A³ | μ] = μ³ + 3μ² + μ for
    A ~ Poisson(μ)), plus the items' variance and third central moment (``item_skew``, in
    units of item³: 2 for exponential items)."""
    rate = np.asarray(rate, float)
    item = np.broadcast_to(np.asarray(item_s, float), rate.shape)
    scv = np.broadcast_to(np.asarray(item_scv, float), rate.shape)
    x = rate * overhead_s
    y = rate * item
    stable = y < 1.0
    p0 = _idle_after_batch(x, np.minimum(y, _Y_CAP))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(stable, (x + p0) / (1.0 - y), np.inf)
        second = (x + x * x + (y + 2.0 * x * y) * mean + p0) / (1.0 - y * y)
        busy2 = x * x + 2.0 * x * y * mean + y * y * (second + scv * mean)
        wait = np.where(rate > 0, (0.5 + y) * busy2 / (rate * mean), 0.0)
        share = np.where(stable, overhead_s / mean, 0.0)
        spread = _busy_wait_sd(x, y, p0, mean, second, scv, np.asarray(item_skew, float), rate)
    return Batching(mean_batch=np.where(rate > 0, mean, 1.0),
                    utilisation=np.where(stable, y + x / np.where(stable, mean, 1.0), y),
                    demand_s=item + np.where(rate > 0, share, overhead_s),
                    wait_s=np.where(stable, wait, np.inf), stable=stable,
                    busy_wait_sd_s=np.where(stable & (rate > 0), spread, np.inf))


def _busy_wait_sd(x: np.ndarray, y: np.ndarray, p0: np.ndarray, mean: np.ndarray,
                  second: np.ndarray, scv: np.ndarray, skew: np.ndarray,
                  rate: np.ndarray) -> np.ndarray:
    """Standard deviation of the wait of an item that finds the server busy (units: s), from
    the chain's first three moments (``batching_figures``); μ = x + yN is rate × batch length."""
    mu1 = x + y * mean
    mu2 = x * x + 2.0 * x * y * mean + y * y * second  # of the mean-length chain
    third = (x**3 + 3.0 * x * x * y * mean + 3.0 * x * y * y * second + 3.0 * mu2 + mu1 + p0) / (1.0 - y**3)
    mu3 = x**3 + 3.0 * x * x * y * mean + 3.0 * x * y * y * second + y**3 * third
    # the items' own spread lengthens a batch of n by n variances (and skews)
    mu2 = mu2 + y * y * scv * mean
    mu3 = mu3 + 3.0 * y * y * scv * (x * mean + y * second) + y**3 * skew * mean
    busy_mean = (0.5 + y) * mu2 / mu1
    busy_square = ((1.0 / 3.0 + y + y * y) * mu3 + y * y * (1.0 + scv) * mu2) / mu1
    return np.sqrt(np.maximum(busy_square - busy_mean**2, 0.0)) / rate


def _idle_after_batch(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P0 = P(no arrival during a batch) in the long run (``batching_figures``), for y < 1.
    Each entry iterates s_{k+1} = y φ(s_k) until its terms are negligible; those done leave
    the working set, so the cost is the slowest entry's terms on few entries."""
    out = np.ones(x.shape)
    todo = np.flatnonzero(y > 0)
    out[y <= 0] = np.exp(-x[y <= 0])  # no item demand: every batch lasts x, P0 = exp(-x)
    xs, ys = x[todo], y[todo]
    s, total, f = ys.copy(), np.zeros(todo.size), np.zeros(todo.size)
    while todo.size:
        phi = -np.expm1(-s)
        f += phi * np.exp(-xs * total)
        total += phi
        s = ys * phi
        done = s < _SERIES_STOP * (1.0 - ys)
        if done.any():
            # the rest is geometric (s_{k+1} ≈ y s_k): Σ φ ≈ s / (1 - y), at ~constant weight
            tail = s[done] / (1.0 - ys[done])
            f_end = f[done] + tail * np.exp(-xs[done] * total[done])
            e_end = np.exp(-xs[done] * (total[done] + tail))
            q = np.exp(-xs[done])
            out[todo[done]] = q * e_end / (1.0 + q * f_end)
            keep = ~done
            todo, xs, ys, s, total, f = todo[keep], xs[keep], ys[keep], s[keep], total[keep], f[keep]
    return out


def turn_batches(rate: np.ndarray, item_s: np.ndarray, overhead_s: float, share: np.ndarray,
                 item_scv: np.ndarray | float = 1.0) -> np.ndarray:
    """Writes per commit when the commits are an event loop's (``reference.committer``'s
    LoopCommitter): a loop commits, once per turn, the writes its requests handed over during
    that turn, so a batch is the writes among one turn's requests, not what came while the
    writer was busy. The turns are the loop's gated batches (``batching_figures``: ``rate``
    requests/s at this loop, ``item_s`` the mean work of one: its CPU and its write's lock
    time, for the loop waits for its commit; ``overhead_s`` per wake-up), a request is a write
    with probability ``share``, and a turn of N requests commits Binomial(N, share) writes when
    it has any: E[writes | any] = share·E[N] / (1 - E[(1 - share)^N]).

    The turn sizes' law is the chain's with items of variable length (gamma, mean ``item_s``,
    squared coefficient of variation ``item_scv``; 1: exponential, 0: fixed): a turn of N items
    is followed by A arrivals with E[exp(-sA) | N] = exp(-x φ) G(rate·φ)^N, φ = 1 - exp(-s), G
    an item's Laplace transform, so L(s) = E[exp(-sN)] steps as L(s) = exp(-x φ(s)) L(σ(s)) -
    P0 φ(s), σ(s) = -ln G(rate·φ(s)) = ln(1 + scv·y·φ) / scv (y φ for fixed items), iterated to
    s → 0 (L → 1); P0 = exp(-x) L(σ(∞)) and E[N] = (x + P0) / (1 - y) as in
    ``batching_figures`` (whose P0 takes fixed items: longer-tailed work makes bigger turns).
    Light load: 1; a saturated loop (rate·item >= 1): inf (turns without bound). Against a
    simulated loop and the reference: tests/sim/tiers/test_batching.py, docs/tiers.md."""
    rate = np.asarray(rate, float)
    item = np.broadcast_to(np.asarray(item_s, float), rate.shape)
    p = np.broadcast_to(np.clip(np.asarray(share, float), 0.0, 1.0), rate.shape)
    scv = np.broadcast_to(np.asarray(item_scv, float), rate.shape)
    x, y = rate * overhead_s, np.minimum(rate * item, _Y_CAP)
    stable = rate * item < 1.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e1, f1 = _turn_transform(x, y, scv, _sigma(np.ones(rate.shape), y, scv))
        p0 = np.exp(-x) * e1 / (1.0 + np.exp(-x) * f1)
        mean = (x + p0) / (1.0 - y)
        e2, f2 = _turn_transform(x, y, scv, -np.log1p(-np.minimum(p, 1.0 - 1e-15)))
        writes = np.where(p > 0, p * mean / (1.0 - (e2 - p0 * f2)), 1.0)
    return np.where(stable & (rate > 0), np.maximum(writes, 1.0), np.where(stable, 1.0, np.inf))


def _sigma(phi: np.ndarray, y: np.ndarray, scv: np.ndarray) -> np.ndarray:
    """-ln G(rate·φ) for a gamma item (mean ``y``/rate, scv ``scv``); y·φ for a fixed one."""
    safe = np.where(scv > 1e-9, scv, 1.0)
    return np.where(scv > 1e-9, np.log1p(safe * y * phi) / safe, y * phi)


def _turn_transform(x: np.ndarray, y: np.ndarray, scv: np.ndarray,
                    s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E, F) with L(s) = E - P0·F (``turn_batches``): E = Π exp(-x φ(s_k)), F = Σ φ(s_k)
    Π_{j<k} exp(-x φ(s_j)) along s_{k+1} = σ(s_k), until s is negligible (L(s_K) = 1). Entries
    leave the working set as they converge, so the cost is the slowest entry's steps on few
    entries (128,160 minutes at 0-300 requests/s up to 0.99 of the loops: 4.6 s for
    ``loop_batches``' six transforms, shared machine)."""
    todo = np.arange(x.size)
    xs, ys, cs, ss = x.ravel(), y.ravel(), scv.ravel(), s.ravel().copy()
    w, acc = np.ones(x.size), np.zeros(x.size)
    for _ in range(200_000):  # s shrinks by ~y a step: ~ln(1e15) / (1 - y) steps at most
        if not todo.size:
            break
        phi = -np.expm1(-ss[todo])
        acc[todo] += phi * w[todo]
        w[todo] *= np.exp(-xs[todo] * phi)
        ss[todo] = _sigma(phi, ys[todo], cs[todo])
        todo = todo[ss[todo] >= 1e-15]
    return w.reshape(x.shape), acc.reshape(x.shape)


def overhead_shares(arrivals: np.ndarray, service: np.ndarray, servers: int, overhead_s: float,
                    window_s: float = 10.0) -> np.ndarray:
    """Each request's share of its server's fixed cost per batch, ``overhead / E[N]``, from
    ``batching_figures`` at the rate and mean service of the ``window_s`` it arrived in (each
    of ``servers`` taking an even share): the batching in mean value, for a discipline that
    does not form batches request by request (processor sharing with ``wakeup_ms``: each
    request's service is lengthened by its share, so the busy time is the chain's)."""
    times, service = np.asarray(arrivals, float), np.asarray(service, float)
    if times.size == 0 or overhead_s <= 0:
        return np.zeros(times.size)
    window = np.floor(times / window_s).astype(int)
    _, where, counts = np.unique(window, return_inverse=True, return_counts=True)
    rate = counts / window_s / max(1, servers)
    mean_s = np.bincount(where, weights=service) / counts
    figures = batching_figures(rate, np.minimum(mean_s, 0.999 / rate), overhead_s)
    return (overhead_s / figures.mean_batch)[where]
