"""Overload feedback: what teachers experience in the next minute, from the tiers' state.

Once per simulated minute the model hands the full-scale rates of the minute just finished
to ``sim.tiers.Platform.state`` (a one-minute lag, the documented approximation) and keeps
the few numbers the teacher processes read: for every endpoint the probability that a
request takes longer than ``behaviour.overload.abandon_after_s``, the SMS code's delay and
the share of viewers served at full bitrate.

Asking the tiers model costs about a millisecond, too much for every one of the ~128,000
minutes of a winter window. A minute is therefore declared *healthy* without asking when a
cheap bound shows nothing could reach the patience threshold t: for every pool tier
(c servers, utilisation rho < 1, longest mean demand s) both the M/M/c waiting tail bound
exp(-c (1 - rho) t / s) and the service tail exp(-t / s) are below ``HEALTHY_TAIL``, no
backlog is carried over, and video egress is within every bandwidth tier's capacity. In a
healthy minute no request is slow, the SMS code arrives after its service time, and every
viewer gets full bitrate. The tiers model is asked for every other minute.
"""

from __future__ import annotations

import math

HEALTHY_TAIL = 1e-6


class Feedback:
    """The platform as teachers see it during the current minute (read by the processes)."""

    def __init__(self, platform, endpoints: list[str], patience_s: float) -> None:
        self.platform = platform
        self.endpoints = endpoints
        self.patience_s = patience_s
        self.p_slow = [0.0] * (len(endpoints) + 1)  # last slot: the recorder's sink
        self.sms_service_s = _service_s(platform, "sms_send")
        self.sms_delay = self.sms_service_s
        self.video_ok = 1.0
        self.healthy = True  # no request can fail: sessions may be planned whole
        self.previous = None
        self.calls = 0
        self._pools, self._links = _capacities(platform)

    def observe(self, rps: dict[str, float], egress_gbps: float) -> None:
        """Update from the full-scale rates of the minute just finished."""
        if self.previous is None and self._healthy(rps, egress_gbps):
            if not self.healthy or self.sms_delay != self.sms_service_s:
                self._reset()
            return
        state = self.platform.state(rps, egress_gbps, self.previous)
        self.calls += 1
        self.p_slow = [state.p_slower_than(name, self.patience_s) for name in self.endpoints]
        self.p_slow.append(0.0)
        self.sms_delay = state.sms_delay_s() if "sms_send" in self.endpoints else 0.0
        self.video_ok = state.video_ok()
        self.healthy = self.video_ok >= 1.0 and not any(self.p_slow)
        carried = any(state.backlog_s(name) > 0 for name, *_ in self._pools)
        self.previous = state if carried else None

    def _reset(self) -> None:
        self.p_slow = [0.0] * (len(self.endpoints) + 1)
        self.sms_delay = self.sms_service_s
        self.video_ok = 1.0
        self.healthy = True

    def _healthy(self, rps: dict[str, float], egress_gbps: float) -> bool:
        rates = list(rps.values())
        t = self.patience_s
        for _name, servers, demand_s, longest in self._pools:
            rho = sum(r * d for r, d in zip(rates, demand_s, strict=True)) / servers
            if rho >= 1.0:
                return False
            if math.exp(-servers * (1.0 - rho) * t / longest) + math.exp(-t / longest) \
                    >= HEALTHY_TAIL:
                return False
        return all(egress_gbps <= capacity for capacity in self._links)


def _capacities(platform) -> tuple[list, list[float]]:
    pools, links = [], []
    for tier in platform.tiers:
        if tier.kind == "pool":
            longest = float(tier.demand_s.max()) if tier.demand_s.size else 0.0
            if longest > 0:
                pools.append((tier.name, tier.servers, tier.demand_s.tolist(), longest))
        else:
            links.append(tier.capacity_gbps)
    return pools, links


def _service_s(platform, endpoint: str) -> float:
    if endpoint not in platform.endpoints:
        return 0.0
    i = platform.endpoints.index(endpoint)
    return float(sum(t.demand_s[i] for t in platform.tiers if t.kind == "pool"))
