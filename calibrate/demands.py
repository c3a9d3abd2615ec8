"""The demand a calibration writes for each endpoint at each tier, from the tier's fit.

What the utilisation law cannot identify is answered by one rule (``fit.tied_groups``): the
regressors of a tier, endpoints and the tier's batches (group commits, event-loop wake-ups)
alike, whose counts per bin came in a fixed ratio (correlation >= ``fit.TIED``) form a group, and
only the group's joint cost is measured, however NNLS happened to share it out. The joint cost is
kept whole: the batch term keeps its fitted cost (it is the tier's ``commit_ms``/``wakeup_ms``,
not an endpoint's), and the endpoints of the group share the rest in the ratio of the
scenario's estimates. An endpoint left with 0 in a group whose batches cost something still
visits the tier at 0 of its own (its cost is in the batches', and it forms them). A group that
was measured at 0 in all while some member's interval reaches above 0 is not identified: each
member keeps the scenario's estimate, as does any endpoint fitted at 0 with such an interval.

Why one rule: on 2026-11-30 the reference's sign-in and campaign page came one each per
session (correlation 1.00): NNLS put 19.7 ms on the page and 0 on the login, and the
scenario's 55 ms written for the login beside it doubled the predicted api utilisation (0.39
against 0.19 measured); keeping the fit's own shares then put 14 ms on the page and 7 on the
login (page mean +270%). Heartbeats came 1.0-1.15 a commit: the fit put the writer's lock time
on the batches and 0 on the heartbeat, and the scenario's 2 ms on top counted it twice
(database predicted 0.30 busy against 0.105 measured).
"""

from __future__ import annotations

from typing import Any

from calibrate import fit as fitting
from domain.scenario import Scenario

MIN_SEEN = 30  # requests of an endpoint below which its fitted demand is not used
PER_BATCH = (fitting.BATCHES, fitting.WAKEUPS)  # a tier's regressors that are not endpoints


def lines(scenario: Scenario, fits: dict[str, fitting.TierFit],
          absent: dict[str, str]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per endpoint and tier: ``ms``, its interval (``lo``, ``hi``), ``requests``, whether it
    was ``measured`` (else the scenario's estimate), whether the endpoint ``visits`` the tier
    (a demand of 0 can be a visit), and ``why``. A tier in ``absent`` (one the target does not
    have, with why) is not visited."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    grouped = {tier: _groups(scenario, tier, fit) for tier, fit in fits.items()}
    for endpoint in scenario.platform.endpoints:
        out[endpoint.name] = {}
        for tier in endpoint.demand_ms:
            if tier in absent:
                out[endpoint.name][tier] = {"ms": 0.0, "measured": False, "absent": True, "visits": False,
                                            "why": absent[tier]}
            elif tier in fits and endpoint.name not in fits[tier].demands:  # not one of its writers
                out[endpoint.name][tier] = {"ms": 0.0, "lo": 0.0, "hi": 0.0, "requests": 0, "measured": True,
                                            "visits": False, "why": "none of the group commits' jobs are its "
                                            "requests (yanxiu_commit_jobs_sum)"}
            elif tier in fits:
                line = grouped[tier].get(endpoint.name) or _alone(fits[tier].demands[endpoint.name])
                out[endpoint.name][tier] = line
    return out


def _alone(d: fitting.Demand) -> dict[str, Any]:
    """An endpoint in no group: its own fit. A 0 whose interval reaches above it is not "free":
    the steps could not tell it from the others (it came rarely), so the scenario's estimate
    stands; a 0 that is 0 throughout costs nothing here and is written as not visiting."""
    unidentified = d.ms == 0.0 and d.hi_ms > 0.0
    measured = d.requests >= MIN_SEEN and not unidentified
    why = (f"{d.requests} requests seen" if d.requests < MIN_SEEN else
           f"not identified: 0 with interval [0, {d.hi_ms:.3g}] ms" if unidentified else "")
    return {"ms": d.ms, "lo": d.lo_ms, "hi": d.hi_ms, "requests": d.requests, "measured": measured,
            "visits": d.ms > 0 or not measured, "why": why}


def _groups(scenario: Scenario, tier: str, fit: fitting.TierFit) -> dict[str, dict[str, Any]]:
    """The demand lines of the endpoints in ``fit.tied`` groups (the module's rule)."""
    out: dict[str, dict[str, Any]] = {}
    estimate = {e.name: e.demand_ms.get(tier, 0.0) for e in scenario.platform.endpoints}
    for group in fit.tied:
        names = [e for e in group if e not in PER_BATCH]
        batch = [fit.demands[k] for k in group if k in PER_BATCH]
        members = [fit.demands[e] for e in names]
        weight = sum(d.requests * estimate.get(e, 0.0) for e, d in zip(names, members, strict=True))
        joint = [sum(d.requests * getattr(d, k) for d in members) for k in ("ms", "lo_ms", "hi_ms")]
        batch_ms = sum(b.requests * b.ms for b in batch)
        if not names or weight <= 0 or (joint[0] + batch_ms == 0 and max(joint[2], 0.0) > 0):
            continue  # nothing to share, or not identified: each member on its own (``_alone``)
        together = ", ".join(group)
        for e, d in zip(names, members, strict=True):
            ms, lo, hi = (estimate.get(e, 0.0) * j / weight for j in joint)
            in_batches = batch_ms > 0 and ms == 0.0
            why = (f"in the per-batch cost (its requests and the batches came in a fixed ratio: {together})"
                   if in_batches else f"measured jointly with {together} (their counts came in a fixed "
                   "ratio), " + ("the batches keeping their fitted cost" if len(names) == 1 else
                                 "split in the ratio of the scenario's estimates"))
            out[e] = {"ms": ms, "lo": lo, "hi": hi, "requests": d.requests,
                      "measured": d.requests >= MIN_SEEN, "visits": ms > 0 or in_batches, "why": why}
    return out
