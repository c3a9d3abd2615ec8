"""The overload cascade of a run, for summary.json's ``cascade`` (``records.model.Cascade``).

Built from the recorder's per-minute retries and lost sessions and its run totals
(``sim.sessions.recorder.TALLY``, weighted to full scale): sessions lost and deferred, the
teachers they belonged to, the study done after coming back, the extra requests retries and
SMS resends caused, and the lag from study to credit (a histogram of study seconds by lag).
With a waiting room, its queue: the teachers in it minute by minute (``room_queue``, also
timeseries.csv's ``waiting_room``) and each teacher's position on joining (``room_positions``),
both from the recorder's stays, so they hold over every shard's teachers.
A run in which nothing was lost, queued, cut, retried, resent, refused or dropped, and credit
shows without a processing delay, has no cascade (None): the section is written only when
there is one to explain.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.sessions.recorder import LAG_EDGES, TALLY

HOUR = 3600.0
TRIGGERS = ("sessions_deferred", "room_waited", "maintenance_deferred", "maintenance_cut",
            "sms_resends", "sms_refused", "heartbeats_lost", "unattended_s", "scripted_claimed_s")


def lag_quantile(lag: list[float], q: float) -> float | None:
    """The lag (s) below which a share ``q`` of the study's credit showed, interpolated in
    its histogram bin; None when it falls in the open last bin or nothing was studied."""
    total = sum(lag)
    if total <= 0:
        return None
    cum = np.cumsum(lag)
    i = int(np.searchsorted(cum, q * total))
    if i >= len(LAG_EDGES):
        return None
    lo = LAG_EDGES[i - 1] if i > 0 else 0.0
    before = cum[i - 1] if i > 0 else 0.0
    inside = lag[i]
    return float(lo + (LAG_EDGES[i] - lo) * ((q * total - before) / inside if inside > 0 else 1.0))


def cascade(run, labels: list[str]) -> dict | None:
    rec = run.recorder
    t = dict(zip(TALLY, rec.tally, strict=True))
    lost = float(rec.daily["sessions_lost"].sum())
    retried = float(rec.retries.sum())
    delayed = run.scenario.failures.heartbeats.credit_delay_minutes is not None
    if lost <= 0 and retried <= 0 and not delayed and not any(t[k] > 0 for k in TRIGGERS):
        return None
    requests = float(rec.counts.sum())
    gave_up = lost + t["room_left"]
    out: dict = {
        "sessions": float(rec.daily["sessions"].sum()), "sessions_lost": lost,
        "sessions_deferred": t["sessions_deferred"],
        "sessions_not_resumed": max(gave_up - t["sessions_deferred"], 0.0),
        "teachers_affected": t["teachers_affected"],
        "mean_deferral_hours": (t["deferral_s"] / t["sessions_resumed"] / HOUR
                                if t["sessions_resumed"] > 0 else None),
        "deferred_study_hours": t["deferred_study_s"] / HOUR, "study_hours": t["study_s"] / HOUR,
        "requests": requests, "retried_requests": retried,
        "retry_share": retried / requests if requests else 0.0,
        "failed_requests": float(rec.errors.sum()),
        "sms_codes": t["sms_codes"], "sms_resends": t["sms_resends"], "sms_refused": t["sms_refused"],
        "credit_delay_mean_minutes": t["lag_s"] / t["study_s"] / 60.0 if t["study_s"] > 0 else 0.0,
        "credit_delay_p95_minutes": _minutes(lag_quantile(rec.lag, 0.95)),
        "heartbeats": t["heartbeats"], "heartbeats_lost": t["heartbeats_lost"],
        "study_lost_hours": t["study_lost_s"] / HOUR,
    }
    per_minute = rec.lost
    if per_minute.max(initial=0.0) > 0:
        out["first_lost_at"] = labels[int(np.flatnonzero(per_minute > 0)[0])]
        worst = int(np.argmax(per_minute))
        out["worst_minute"], out["worst_minute_lost"] = labels[worst], float(per_minute[worst])
    if t["room_waited"] > 0:
        queue = room_queue(rec.room, rec.minutes)
        peak = int(np.argmax(queue))
        ahead, weight = room_positions(rec.room)
        out["waiting_room"] = {
            "waited": t["room_waited"], "mean_wait_minutes": t["room_wait_s"] / t["room_waited"] / 60.0,
            "longest_wait_minutes": t["room_wait_max_s"] / 60.0, "left": t["room_left"],
            "mean_queue": float(queue.mean()), "peak_queue": float(queue[peak]),
            "peak_queue_at": labels[peak],
            "mean_position": float(np.average(ahead, weights=weight)),
            "p95_position": weighted_quantile(ahead, weight, 0.95)}
    out |= {"maintenance_deferred": t["maintenance_deferred"], "maintenance_cut": t["maintenance_cut"],
            "unattended_hours": t["unattended_s"] / HOUR,
            "scripted_claimed_hours": t["scripted_claimed_s"] / HOUR,
            "scripted_heartbeats": t["scripted_beats"]}
    return out


def room_queue(room: Sequence[float], minutes: int) -> np.ndarray:
    """Teachers in the waiting room, each minute's time average at full scale, from the
    recorder's stays (joined at, left at, weight; flat): a stay counts in a minute for the
    share of the minute it covers, as the recorder's spans do."""
    joined, left, weight = _stays(room)
    diff = np.zeros(minutes + 2)
    for at, sign in ((joined, 1.0), (left, -1.0)):
        m = at / 60.0
        inside = m < minutes
        i, frac, w = m[inside].astype(np.int64), m[inside] % 1.0, sign * weight[inside]
        np.add.at(diff, i, (1.0 - frac) * w)
        np.add.at(diff, i + 1, frac * w)
    return np.maximum(np.cumsum(diff)[:minutes], 0.0)


def room_positions(room: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Each stay's position at joining (full scale: the weight of the teachers who joined
    before it and had not yet left) and its weight. Exact over all shards: every shard's stays
    are in the recorder, so a teacher is also behind the other shards' teachers."""
    joined, left, weight = _stays(room)
    order_j, order_l = np.argsort(joined, kind="stable"), np.argsort(left, kind="stable")
    before = np.concatenate(([0.0], np.cumsum(weight[order_j])))
    gone = np.concatenate(([0.0], np.cumsum(weight[order_l])))
    came = before[np.searchsorted(joined[order_j], joined, side="left")]
    went = gone[np.searchsorted(left[order_l], joined, side="right")]
    return np.maximum(came - went, 0.0), weight


def weighted_quantile(values: np.ndarray, weight: np.ndarray, q: float) -> float:
    """The smallest value below or at which a share ``q`` of the weight lies."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weight[order])
    return float(values[order][min(int(np.searchsorted(cum, q * cum[-1])), cum.size - 1)])


def _stays(room: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    stays = np.asarray(room, dtype=np.float64).reshape(-1, 3)
    return stays[:, 0], stays[:, 1], stays[:, 2]


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60.0
