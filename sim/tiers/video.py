"""Performance of a bandwidth tier (video egress) over a run of minutes.

Demand is the minute's egress in Gbps at the viewers' chosen bitrates. Under capacity every
viewer gets the full bitrate and nothing is delayed. Over capacity the link is shared
max-min fairly (what many TCP flows through one bottleneck approximate): a fair-share rate f
solves sum_i share_i·min(rate_i, f) = capacity / viewers, viewers whose rate is at most f
keep full quality, the others download each segment slower than real time and rebuffer.
Latency figures are that rebuffering: extra time to fetch one HLS segment beyond its length.
"""

from __future__ import annotations

import numpy as np

SEGMENT_S = 6.0  # estimate: the usual HLS segment length (Apple's recommendation is 6 s)


class BandwidthPerformance:
    def __init__(self, egress_gbps: np.ndarray, capacity_gbps: float, rates_kbps: np.ndarray,
                 shares: np.ndarray) -> None:
        order = np.argsort(rates_kbps)
        rates = rates_kbps[order].astype(float)
        shares = shares[order].astype(float)
        self.load = np.atleast_1d(np.asarray(egress_gbps, float))
        self.capacity_gbps = capacity_gbps
        self.utilisation = self.load / capacity_gbps
        mean_rate = float((rates * shares).sum())
        # Delivered per-viewer rate as a function of the fair share is piecewise linear with
        # breakpoints at the ladder's rates, so its inverse is an interpolation.
        delivered = np.array([(shares * np.minimum(rates, r)).sum() for r in rates])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self.load > 0, np.minimum(capacity_gbps / self.load, 1.0), 1.0)
        fair = np.interp(ratio * mean_rate, np.concatenate(([0.0], delivered)),
                         np.concatenate(([0.0], rates)))
        full = rates[None, :] <= fair[:, None] * (1 + 1e-12)
        self.served_share = (full * shares).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            slowdown = np.where(full, 1.0, rates[None, :] / fair[:, None])
        self.stall_s = SEGMENT_S * (slowdown - 1.0)  # minutes × ladder, non-decreasing in rate
        self.cumulative = np.cumsum(shares)
        self.shares = shares
        self.backlog_end_s = np.zeros_like(self.load)

    def mean_wait_s(self) -> np.ndarray:
        return (self.stall_s * self.shares).sum(axis=1)

    def percentile_s(self, probability: float) -> np.ndarray:
        level = int(np.searchsorted(self.cumulative, probability - 1e-12))
        return self.stall_s[:, min(level, len(self.shares) - 1)]

    def overall_percentile_s(self, probability: float) -> float:
        """Rebuffering quantile over all viewers of all minutes (viewers ~ egress)."""
        weights = (self.load[:, None] * self.shares[None, :]).ravel()
        if weights.sum() <= 0:
            return 0.0
        values = self.stall_s.ravel()
        order = np.argsort(values, kind="stable")
        cumulative = np.cumsum(weights[order]) / weights.sum()
        return float(values[order][np.searchsorted(cumulative, probability - 1e-12)])
