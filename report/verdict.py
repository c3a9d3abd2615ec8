"""The verdict at the top of a model run's report: a short paragraph built from the figures
(who took part, when the peak is, whether each tier held and with what headroom, what to
provision, what the model is unsure of), and the outcome cards with their denominators and dates.
"""

from __future__ import annotations

import datetime as dt
import math

from report.cascade import below_minimum, headroom
from report.data import ModelResults
from report.headline import Card
from report.i18n import Labels
from report.numbers import amount, big, figure, interval, share

# estimate: provision this much above the busiest minute's need, to cover the sampling error on
# peaks (docs/model.md), behaviour the scenario only estimates, and growth.
PROVISION_MARGIN = 0.25
# The request-level check and the tier model agree when the model's p95 is within this of the
# simulation's (docs/tiers.md states 20% for mixed tiers).
CONFIRM_TOLERANCE = 0.2


def _day(text: str | None) -> str:
    return (text or "")[:10]


def _dates(data: ModelResults) -> tuple[str, str, str]:
    """First day of study, last day of study (the deadline), day certificates are issued."""
    s = data.scenario
    if s is not None:
        last = (s.calendar.end_at - dt.timedelta(seconds=1)).date().isoformat()
        return (s.calendar.start_at.date().isoformat(), last,
                s.calendar.localize(s.rules.certificates_issued).date().isoformat())
    window = data.summary.window
    start = dt.datetime.fromisoformat(window.start)
    end = start + dt.timedelta(minutes=window.minutes) - dt.timedelta(seconds=1)
    return start.date().isoformat(), end.date().isoformat(), ""


def _outcome(data: ModelResults, key: str) -> float | None:
    value = data.summary.outcomes.get(key)
    return float(value) if value is not None and math.isfinite(value) else None


def outcome_cards(data: ModelResults, t: Labels) -> list[Card]:
    """Participants, completions and certificates: each with its denominator and its date."""
    s = data.summary
    start, last, issued = _dates(data)
    participants = float(s.participants)
    of_all = share(participants / s.teachers if s.teachers else None)
    cards = [Card(t("card_participants"), big(participants, t),
                  t("card_participants_detail", share=of_all, teachers=big(s.teachers, t), start=start,
                    last=last))]
    completed = _outcome(data, "completed_all")
    if completed is not None:
        cards.append(Card(t("card_completed"), big(completed, t),
                          t("card_of_participants", share=share(completed / participants), date=last)))
    certified = _outcome(data, "certified")
    if certified is not None:
        detail = t("card_certified_detail", share=share(certified / participants),
                   date=issued or t("after_window"))
        cards.append(Card(t("card_certified"), big(certified, t), detail))
    return cards


def paragraph(data: ModelResults, t: Labels) -> list[str]:
    """The verdict's sentences, in order."""
    sentences = [_who(data, t), _peak(data, t), _what_if(data, t)]
    sentences += _tiers(data, t)
    sentences.append(_consequence(data, t))
    sentences.append(_provision(data, t))
    sentences += _unsure(data, t)
    return [x for x in sentences if x]


def _who(data: ModelResults, t: Labels) -> str:
    s = data.summary
    start, last, issued = _dates(data)
    completed = _outcome(data, "completed_all")
    done = completed / s.participants if completed is not None and s.participants else None
    return t("v_who", participants=big(s.participants, t), teachers=big(s.teachers, t),
             share=share(s.participants / s.teachers if s.teachers else None), start=start, last=last,
             completed=share(done),
             issued=issued or t("after_window"))


def _peak(data: ModelResults, t: Labels) -> str:
    peaks = data.summary.peaks
    rps, sessions, egress = (peaks.get(k) for k in ("rps.total", "sessions", "egress_gbps"))
    if rps is None or rps.value is None:
        return ""
    moment = dt.datetime.fromisoformat(rps.at)
    weekday = t("weekday_" + str(moment.weekday()))
    return t("v_peak", rps=figure(rps.value), at=f"{moment:%Y-%m-%d %H:%M}", weekday=weekday,
             sessions=big(sessions.value if sessions else None, t),
             gbps=figure(egress.value if egress else None))


def _what_if(data: ModelResults, t: Labels) -> str:
    """The tiers ``yanxiu run --capacity`` resized, and of what need a share was taken."""
    what_if = data.summary.what_if
    if not what_if:
        return ""
    items, shares = [], False
    for tier, w in what_if.items():
        unit = data.summary.capacity[tier].unit if tier in data.summary.capacity else ""
        size, scenario = amount(w.size, unit, t), amount(w.scenario_size, unit, t)
        if w.share_of is None or w.base is None:
            items.append(t("v_what_if_size", tier=tier, size=size, scenario=scenario))
            continue
        shares = True
        percent = w.asked.split("%")[0] + "%"
        of = t("v_of_" + w.share_of, percent=percent, base=amount(w.base, unit, t))
        items.append(t("v_what_if_share", tier=tier, size=size, share=of, scenario=scenario))
    text = t("v_what_if", items=t("list_sep").join(items))
    return text + (" " if t.lang != "zh" else "") + t("v_what_if_own_load") if shares else text


def _tiers(data: ModelResults, t: Labels) -> list[str]:
    s = data.summary
    out = []
    for tier, cap in s.capacity.items():
        slo = s.slo.get(tier)
        needed, provided = cap.needed, cap.provided
        short = needed is None or (provided is not None and needed > provided)
        if short:
            out.append(_short(tier, cap, slo, t))
        elif slo is not None and not slo.compliant:
            out.append(_missed(tier, slo, t, data))
        else:
            headroom = provided / needed if needed and provided is not None else None
            out.append(t("v_tier_held", tier=tier, needed=amount(needed, cap.unit, t),
                         provided=amount(provided, cap.unit, t),
                         headroom=f"{headroom:,.1f}×" if headroom is not None else "∞"))
    return out


def _short(tier: str, cap, slo, t: Labels) -> str:
    """A tier below its plan: below the minimum that keeps its latency targets (teachers are
    hurt), or above it and short only of the plan's headroom (the utilisation cap)."""
    needed, provided, minimum = cap.needed, cap.provided, cap.minimum
    if needed is None or minimum is None or provided is None:  # unbounded, or older results
        return t("v_tier_short", tier=tier, needed=amount(needed, cap.unit, t),
                 provided=amount(provided, cap.unit, t))
    key = "v_tier_below_min" if provided < minimum else "v_tier_no_headroom"
    return t(key, tier=tier, minimum=amount(minimum, cap.unit, t), provided=amount(provided, cap.unit, t),
             needed=amount(needed, cap.unit, t), headroom=headroom(slo))


def _consequence(data: ModelResults, t: Labels) -> str:
    """What a short platform does to teachers, in a manager's words: sessions given up (the
    cascade) or, when none was, that the shortfall is the service levels' margin."""
    s = data.summary
    short = [tier for tier, cap in s.capacity.items()
             if cap.needed is None or (cap.provided is not None and cap.needed > cap.provided)]
    if not short:
        return ""
    cascade = s.cascade
    if cascade is not None and cascade.sessions_lost > 0:
        return t("v_short_loss", lost=big(cascade.sessions_lost, t),
                 teachers=big(cascade.teachers_affected, t), hours=figure(cascade.mean_deferral_hours),
                 retries=big(cascade.retried_requests, t))
    busy = []
    for tier in short:
        slo = s.slo.get(tier)
        if slo is not None and slo.max_utilisation is not None:
            busy.append(t("v_short_tier_busy", tier=tier, util=share(slo.max_utilisation, 1),
                          cap=share(slo.target_max_utilisation, 0), worst=figure(slo.worst_minute_p95_ms)))
    patience = data.scenario.behaviour.overload.abandon_after_s if data.scenario is not None else None
    key = "v_short_slow_no_loss" if below_minimum(data) else "v_short_no_loss"
    return t(key, tiers=("，" if t.lang == "zh" else ", ").join(busy) or "–", patience=figure(patience))


def _missed(tier: str, slo, t: Labels, data: ModelResults) -> str:
    judged = slo.judged_minutes
    worst = slo.worst_minute_p95_ms
    latency_missed = slo.compliant_minutes_share < 1.0
    if not latency_missed:  # only the utilisation cap was exceeded
        return t("v_tier_missed_util", tier=tier, peak=share(slo.max_utilisation, 0),
                 cap=share(slo.target_max_utilisation, 0))
    text = t("v_tier_missed", tier=tier, share=share(1.0 - slo.compliant_minutes_share),
             judged=f"{judged:,}" if judged is not None else "?", worst=figure(worst),
             target=figure(slo.target_p95_ms))
    if slo.max_utilisation is not None and slo.max_utilisation < 0.5:
        # at low utilisation the queue is short: the slow minutes are slow requests, not waiting
        text += " " + t("v_not_capacity", peak=share(slo.max_utilisation, 0))
        text += _missed_mostly(tier, slo, t, data)
    return text


def _missed_mostly(tier: str, slo, t: Labels, data: ModelResults) -> str:
    """Which requests the missed minutes are (the run's ``missed_minutes_endpoint``), with the
    demand the scenario gives them: where a planner looks first."""
    endpoint = slo.missed_minutes_endpoint
    if endpoint is None or slo.missed_minutes_endpoint_share is None:
        return ""
    endpoints = data.scenario.platform.endpoints if data.scenario is not None else []
    demands = {e.name: e.demand_ms.get(tier) for e in endpoints}
    return " " + t("v_missed_mostly", endpoint=endpoint, share=share(slo.missed_minutes_endpoint_share, 0),
                   demand=figure(demands.get(endpoint)), requests=share(slo.compliant_requests_share, 1))


def _provision(data: ModelResults, t: Labels) -> str:
    items = []
    for tier, cap in data.summary.capacity.items():
        if cap.needed is None or not cap.needed:
            continue
        with_margin = cap.needed * (1 + PROVISION_MARGIN)
        value = math.ceil(with_margin) if cap.unit == "servers" else with_margin
        items.append(f"{tier} {amount(value, cap.unit, t)}")
    if not items:
        return ""
    return t("v_provision", margin=share(PROVISION_MARGIN, 0), items=t("list_sep").join(items))


def _unsure(data: ModelResults, t: Labels) -> list[str]:
    s = data.summary
    out = []
    if s.sampled:
        out.append(t("v_sample", simulated=big(s.simulated, t), weight=figure(s.weight)))
    reps = s.replications
    ci = reps.ci95.get("peak(rps.total)") if reps is not None else None
    ranges = getattr(s, "ranges", None)
    if reps is not None and ci and None not in ci:
        out.append(t("v_replications", count=reps.count, interval=interval(ci[0], ci[1])))
    elif ranges is None:  # the ranges' runs have their own seeds: they carry the seed noise too
        out.append(t("v_single_run"))
    if ranges is not None:
        out.append(t("v_ranges"))
    out.extend(_confirmed(data, t))
    return out


def _confirmed(data: ModelResults, t: Labels) -> list[str]:
    confirmation = data.summary.confirmation
    if confirmation is None or not confirmation.minutes or not confirmation.minutes[0].tiers:
        return []
    tiers = confirmation.minutes[0].tiers
    errors = [abs(f.p95_s.relative_error) for f in tiers.values() if f.p95_s.relative_error is not None]
    if not errors:
        return []
    worst = max(errors)
    key = "v_confirmed" if worst <= CONFIRM_TOLERANCE else "v_confirm_off"
    return [t(key, error=share(worst, 0))]
