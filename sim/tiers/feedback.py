"""Overload feedback: what teachers experience in the next minute, from the tiers' state.

Once per simulated minute the model hands the full-scale rates of the minute just finished
to ``sim.tiers.platform.Platform.state`` (a one-minute lag, the documented approximation) and keeps
the few numbers the teacher processes read: for every endpoint the probability that a
request takes longer than ``behaviour.overload.abandon_after_s``, the SMS code's delay and
the share of viewers served at full bitrate.

Asking the tiers model costs about a millisecond, too much for every one of the ~128,000
minutes of a winter window. A minute is therefore treated as *idle* without asking when a
cheap bound shows no request can wait in a queue long enough to matter: for every pool tier
(c servers, utilisation rho < 1, longest mean demand s) the M/M/c waiting tail bound
C(c, a) exp(-c (1 - rho) t / s) at the patience t (C: Erlang C) is below ``HEALTHY_TAIL``
(one request in 10,000 slower than the patience because of queueing), no backlog is carried
over, and video egress is within every bandwidth tier's capacity. An idle minute gets the
figures of the idle platform (service times only, computed once by the tiers model); the
tiers model is asked for every other minute.

With a waiting room (``failures.waiting_room``, admission control) the feedback also keeps the
room's current wait: each minute the busiest tier's offered utilisation rho is compared
with the room's ``admit_utilisation`` u, and the wait grows by ``ROOM_GAIN_S`` x (rho / u - 1)
(shrinking, down to none, while rho < u). Teachers starting a session wait that long before
their first request, so the load they bring is held back until the platform is under u again;
an integral controller, estimate: it lags the load by a minute, like the rest of the feedback.
"""

from __future__ import annotations

import math

from sim.tiers.queueing import erlang_c

HEALTHY_TAIL = 1e-4
NEVER = 1e-9
ROOM_GAIN_S = 60.0  # waiting-room wait added per minute at twice the admitted utilisation
ROOM_MAX_S = 86400.0  # a room that would hold teachers for over a day has failed anyway


class Feedback:
    """The platform as teachers see it during the current minute (read by the processes)."""

    def __init__(self, platform, endpoints: list[str], patience_s: float, room=None) -> None:
        self.platform = platform
        self.room_admit = room.admit_utilisation if room is not None else 0.0  # 0: no room
        self.room_wait_s = 0.0  # how long a session starting now waits in the room
        self.endpoints = endpoints
        self.patience_s = patience_s
        self.previous = None
        self.calls = 0
        self._pools, self._links = _capacities(platform)
        # an idle platform: only service times count (a slow endpoint can be slow unloaded)
        self._idle = self._read(platform.state(dict.fromkeys(endpoints, 0.0), 0.0))
        self._set(self._idle)

    def observe(self, rates: list[float], egress_gbps: float) -> None:
        """Update from the full-scale rates of the minute just finished (requests/s per
        endpoint, in ``endpoints`` order)."""
        if self.room_admit:
            self._room(rates, egress_gbps)
        if self.previous is None and self._no_queueing(rates, egress_gbps):
            if self._current is not self._idle:
                self._set(self._idle)
            return
        rps = dict(zip(self.endpoints, rates, strict=True))
        state = self.platform.state(rps, egress_gbps, self.previous)
        self.calls += 1
        self._set(self._read(state))
        carried = any(state.backlog_s(name) > 0 for name, *_ in self._pools)
        self.previous = state if carried else None

    def stays_idle(self, rates: list[float], egress_gbps: float) -> bool:
        """Whether observing these rates would leave the platform idle (no state to ask for);
        monotone: lower rates on every endpoint stay idle too."""
        if self.room_admit and (self.room_wait_s > 0 or self._busiest(rates, egress_gbps) > self.room_admit):
            return False
        return self.previous is None and self._no_queueing(rates, egress_gbps)

    def _room(self, rates: list[float], egress_gbps: float) -> None:
        wait = self.room_wait_s + ROOM_GAIN_S * (self._busiest(rates, egress_gbps) / self.room_admit - 1.0)
        self.room_wait_s = min(max(wait, 0.0), ROOM_MAX_S)
        self.healthy = self.video_ok >= 1.0 and not any(self.p_slow) and self.room_wait_s == 0.0

    def _busiest(self, rates: list[float], egress_gbps: float) -> float:
        """The highest offered utilisation of a tier at these rates (pools) and egress (links)."""
        busiest = max((egress_gbps / capacity for capacity in self._links), default=0.0)
        for _name, servers, demand_s, _longest in self._pools:
            load = 0.0
            for i, d in demand_s:
                load += rates[i] * d
            busiest = max(busiest, load / servers)
        return busiest

    def _read(self, state) -> tuple:
        p_slow = [state.p_slower_than(name, self.patience_s) for name in self.endpoints]
        # below one request in 10^9 a failure never happens in any run we make
        p_slow = [p if p >= NEVER else 0.0 for p in p_slow]
        sms = state.sms_delay_s() if "sms_send" in self.endpoints else 0.0
        return (p_slow + [0.0], sms, state.video_ok())

    def _set(self, values: tuple) -> None:
        self._current = values
        self.p_slow, self.sms_delay, self.video_ok = values
        # no request can fail and no one waits: a session may be planned whole at its start
        self.healthy = self.video_ok >= 1.0 and not any(self.p_slow) and self.room_wait_s == 0.0

    def _no_queueing(self, rates: list[float], egress_gbps: float) -> bool:
        t = self.patience_s
        for _name, servers, demand_s, longest in self._pools:
            load = 0.0
            for i, d in demand_s:
                load += rates[i] * d
            rho = load / servers
            if rho >= 1.0:
                return False
            tail = math.exp(-servers * (1.0 - rho) * t / longest)
            if tail >= HEALTHY_TAIL and tail * float(erlang_c(servers, load)) >= HEALTHY_TAIL:
                return False
        return all(egress_gbps <= capacity for capacity in self._links)


def _capacities(platform) -> tuple[list, list[float]]:
    pools, links = [], []
    for tier in platform.tiers:
        if tier.kind == "pool":
            longest = float(tier.demand_s.max()) if tier.demand_s.size else 0.0
            if longest > 0:
                demand = [(i, d) for i, d in enumerate(tier.demand_s.tolist()) if d > 0]
                pools.append((tier.name, tier.servers, demand, longest))
        else:
            links.append(tier.capacity_gbps)
    return pools, links


