"""How far a replay's requests per 10-s bin may stray from the model's by sampling alone.

A bin's count is a sum over sessions, ``N_b = sum_i c_ib`` (``c_ib``: requests session ``i``
sent in bin ``b``), and each session draws its marks at random: its sub-platform (a 20-s or a
600-s heartbeat), its length, its plays. The default schedule starts sessions at the times the
model's arrivals give (deterministic), so the replay copies the model's arrival counts and only
the marks differ: ``Var N_b = sum_i Var c_ib``. Sessions of one kind arriving close together
are alike in expectation, so half the sum of squared differences between successive sessions
of a kind, ``1/2 sum_i (c_ib - c_(i+1)b)^2``, estimates it (von Neumann's successive
differences; a slow drift of the mean adds a little, so it errs wide). With Poisson arrivals the
replay's arrival count is its own sample too, and Campbell's theorem gives ``Var N_b =
E sum_i c_ib^2``. The plan is a sample as well: the model simulated teachers each standing for
``weight`` teachers and the replay carries ``scale`` of the full-scale load, so the plan's bin
sums ``1 / (scale * weight)`` times as many sessions of ``scale * weight`` times the weight: its
marks' variance is ``scale * weight`` times the replay's (the *plan factor*). A bin is outside
sampling noise when achieved - planned exceeds ``Z`` standard deviations of the two together.

``BinTally`` keeps each session's requests per endpoint and bin in a load-generating process;
the master puts every process's sessions together (``merge``) and derives the sums
(``as_record``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

BIN_S = 10.0  # the "from the first 10-second bin on"
Z = 2.0  # a bin further than Z standard deviations from the plan is outside sampling noise

# one session: [group (its kind), arrival time, [[endpoint, bin, requests], ...]]
SessionRow = list
Sessions = list[SessionRow]


class BinTally:
    """Each session's requests per endpoint and bin of test time, in one process."""

    def __init__(self, t0: float, bin_s: float = BIN_S, clock: Callable[[], float] = time.time) -> None:
        self.t0, self.bin_s, self.clock = t0, bin_s, clock
        self.sessions: list[tuple[str, float, dict[tuple[str, int], float]]] = []

    def counter(self, group: str = "", at: float = 0.0) -> Callable[..., None]:
        """A new session's counter (``group``: its kind; ``at``: its planned start): call it
        with the request's name when a request finishes. Requests before the origin (a resumed
        session's set-up) are not counted."""
        mine: dict[tuple[str, int], float] = {}
        self.sessions.append((group, at, mine))

        def count(name: str, weight: float = 1.0) -> None:
            b = math.floor((self.clock() - self.t0) / self.bin_s)
            if b >= 0:
                mine[(name, b)] = mine.get((name, b), 0.0) + weight

        return count

    def take(self) -> Sessions:
        """Every session's counts so far, as message-friendly rows, once (the final report)."""
        out = [[g, at, [[n, b, c] for (n, b), c in sorted(mine.items())]] for g, at, mine in self.sessions]
        self.sessions = []
        return out


def merge(into: Sessions, data: Sessions) -> None:
    """Add one process's sessions (``BinTally.take``) to the master's."""
    into.extend(data)


def as_record(sessions: Sessions) -> dict[str, dict[str, list[float]]]:
    """Per endpoint and bin from 0: ``requests`` (sum c), ``sum_sq`` (sum c^2) and ``var`` (the
    marks' variance by successive differences within each kind, in arrival order), and the same
    two of each session's running total from the origin to the bin's end (``sum_sq_upto``,
    ``var_upto``: the whole stretch's spread), for summary.json."""
    if not sessions:
        return {}
    names = sorted({n for _, _, rows in sessions for n, _, _ in rows})
    bins = 1 + max((int(b) for _, _, rows in sessions for _, b, _ in rows), default=-1)
    order = sorted(range(len(sessions)), key=lambda i: (str(sessions[i][0]), float(sessions[i][1]), i))
    counts = np.zeros((len(names), len(sessions), max(bins, 0)))
    index = {n: k for k, n in enumerate(names)}
    for row, i in enumerate(order):
        for n, b, c in sessions[i][2]:
            counts[index[n], row, int(b)] += c
    groups = [str(sessions[i][0]) for i in order]
    same = np.array([a == b for a, b in zip(groups, groups[1:], strict=False)], dtype=bool)
    out = {}
    for n, k in index.items():
        c = counts[k]
        upto = np.cumsum(c, axis=1)  # each session's requests from the origin to each bin's end
        out[n] = {"requests": c.sum(axis=0).tolist(), "sum_sq": (c ** 2).sum(axis=0).tolist(),
                  "var": _successive(c, same).tolist(),
                  "sum_sq_upto": (upto ** 2).sum(axis=0).tolist(),
                  "var_upto": _successive(upto, same).tolist()}
    return out


def _successive(c: np.ndarray, same: np.ndarray) -> np.ndarray:
    """Half the squared differences of successive sessions (rows) of a kind, per column."""
    diffs = np.diff(c, axis=0)[same] if c.shape[0] > 1 else np.zeros((0, c.shape[1]))
    return 0.5 * (diffs ** 2).sum(axis=0)


def stretch_variance(record: dict[str, list[float]], n: int, poisson: bool,
                     plan_factor: float) -> float | None:
    """Variance of achieved - planned summed over the first ``n`` bins (the whole replayed
    stretch): as ``variance`` but of each session's total over those bins, so that a session's
    requests in neighbouring bins count together (its beats, its attempts until full marks).
    None for a record without the running totals (a run before 2026-12-01)."""
    marks, squares = record.get("var_upto") or [], record.get("sum_sq_upto") or []
    if n < 1 or not marks:
        return None
    last = min(n, len(marks)) - 1
    replay = float(squares[last]) if poisson else float(marks[last])
    return replay + max(0.0, plan_factor) * float(marks[last])


def variance(record: dict[str, list[float]], n: int, poisson: bool, plan_factor: float) -> np.ndarray:
    """Variance of achieved - planned per bin (``n`` bins): the replay's marks (its arrival
    count too with Poisson arrivals) plus the plan's marks, ``plan_factor`` times the replay's."""
    marks = per_bin(record, "var", n)
    return (per_bin(record, "sum_sq", n) if poisson else marks) + max(0.0, plan_factor) * marks


def per_bin(record: dict[str, list[float]], key: str, n: int) -> np.ndarray:
    """One of ``as_record``'s rows, cut or padded with zeros to ``n`` bins."""
    values = np.asarray(record.get(key, []), float)
    out = np.zeros(n)
    out[:min(n, values.size)] = values[:n]
    return out


def chance_of(outside: int, bins: int) -> float:
    """The chance that sampling alone puts at least ``outside`` of ``bins`` bins outside a band of
    ``Z`` standard deviations (each bin outside with the normal tail's two-sided probability,
    taken as independent): a small one says the misses are more than chance gives."""
    p = math.erfc(Z / math.sqrt(2.0))
    below = sum(math.comb(bins, k) * p ** k * (1 - p) ** (bins - k) for k in range(min(outside, bins + 1)))
    return max(0.0, 1.0 - below)


def band(var: np.ndarray) -> np.ndarray:
    """Z standard deviations."""
    return Z * np.sqrt(np.maximum(np.asarray(var, float), 0.0))


def sessions_per_bin(sums: np.ndarray, sum_sq: np.ndarray) -> np.ndarray:
    """The effective number of sessions carrying a bin's requests, ``(sum c)^2 / sum c^2`` (25
    sessions: a bin moves by about a fifth with one session more or less)."""
    sums, sum_sq = np.asarray(sums, float), np.asarray(sum_sq, float)
    return np.divide(sums ** 2, sum_sq, out=np.zeros_like(sums), where=sum_sq > 0)
