"""Outcomes of a run by day and in total: registered, active, credit hours, completions,
certificates, test attempts, sessions lost; all weighted to full scale.

Credit and completion are read through the rules' pattern tables (``sim.sessions.progress``), so a
teacher counts as completed only when ``Campaign.is_complete`` says so for the courses the
teacher had credited at that instant.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

COMMENT = ("# cumulative: registered, studied, credit_hours.*, completed.* (tests passed), "
           "completed_all, certified; per day: active, sessions, sessions_lost")


def day_edges(run) -> np.ndarray:
    """Offsets (s) of the end of each local day of the horizon."""
    days = run.recorder.daily["sessions"].size
    return np.arange(1, days + 1) * 86400.0 - run.recorder.day0_s


def _cumulative(times: np.ndarray, weight: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Weighted count of finite ``times`` at or before each edge."""
    finite = np.isfinite(times)
    order = np.argsort(times[finite], kind="stable")
    sorted_times = times[finite][order]
    cum = np.concatenate(([0.0], np.cumsum(weight[finite][order])))
    return cum[np.searchsorted(sorted_times, edges, side="right")]


def daily(run) -> dict[str, np.ndarray | list[str]]:
    """Columns of outcomes_daily.csv."""
    pop, prog, tables, rec = run.population, run.progress, run.tables, run.recorder
    edges = day_edges(run)
    first_day = (run.campaign.start_at - dt.timedelta(seconds=rec.day0_s)).date()
    w = pop.weight
    cols: dict[str, np.ndarray | list[str]] = {
        "day": [(first_day + dt.timedelta(days=i)).isoformat() for i in range(edges.size)]}
    returning = float(w[pop.returning].sum())
    cols["registered"] = returning + np.cumsum(rec.daily["registered"])
    cols["active"] = rec.daily["active"]
    cols["sessions"] = rec.daily["sessions"]
    cols["sessions_lost"] = rec.daily["sessions_lost"]
    cols["studied"] = _cumulative(prog.first_study_at, w, edges)
    credit_times = prog.credit_times()
    bits = 1 << np.arange(credit_times.shape[1])
    hours = np.zeros((edges.size, len(tables.course_ids)))
    for i, edge in enumerate(edges):
        patterns = ((credit_times <= edge) * bits).sum(axis=1)
        hours[i] = w @ tables.credit[patterns]
    for slot, cid in enumerate(tables.course_ids):
        cols[f"credit_hours.{cid}"] = hours[:, slot]
    for slot, cid in enumerate(tables.course_ids):
        cols[f"completed.{cid}"] = _cumulative(prog.passed_at[:, slot], w, edges)
    cols["completed_all"] = _cumulative(run.completed_at, w, edges)
    issued = run.campaign.offset(run.campaign.certificates_at)
    certified = np.where(np.isfinite(run.completed_at), issued, np.inf)
    cols["certified"] = _cumulative(certified, w, edges)
    return cols


def attempts(run) -> list[tuple[int, int, float]]:
    """(course, attempts until full marks, teachers) for teachers who passed."""
    prog, w = run.progress, run.population.weight
    rows = []
    for slot, cid in enumerate(run.tables.course_ids):
        passed = np.isfinite(prog.passed_at[:, slot])
        counts = np.bincount(prog.attempts[passed, slot], weights=w[passed])
        rows += [(cid, k, float(n)) for k, n in enumerate(counts) if k > 0 and n > 0]
    return rows


def totals(run) -> dict[str, float]:
    pop, prog, rec = run.population, run.progress, run.recorder
    w = pop.weight
    participants = float(w.sum())
    needing = float(w[~pop.returning].sum())
    registered = float(rec.daily["registered"].sum())
    completed = float(w[np.isfinite(run.completed_at)].sum())
    sessions = float(rec.daily["sessions"].sum())
    lost = float(rec.daily["sessions_lost"].sum())
    requests = float(rec.counts.sum())
    errors = float(rec.errors.sum())
    out = {
        "teachers": float(pop.teachers), "participants": participants,
        "new_registrations_needed": needing, "registered_new": registered,
        "studied": float(w[np.isfinite(prog.first_study_at)].sum()),
        "completed_all": completed, "certified": completed,
        "certificates_fetched": float(w[np.isfinite(run.certificate_at)].sum()),
        "sessions": sessions, "sessions_lost": lost, "requests": requests, "errors": errors,
        "administrators": run.admins,
    }
    for slot, cid in enumerate(run.tables.course_ids):
        passed = np.isfinite(prog.passed_at[:, slot])
        out[f"completed.{cid}"] = float(w[passed].sum())
        if passed.any():
            out[f"mean_attempts.{cid}"] = float(np.average(prog.attempts[passed, slot],
                                                           weights=w[passed]))
    out["share_registered"] = registered / needing if needing else 1.0
    out["share_completed"] = completed / participants if participants else 0.0
    out["share_certified"] = out["share_completed"]
    out["rate_errors"] = errors / requests if requests else 0.0
    out["rate_sessions_lost"] = lost / sessions if sessions else 0.0
    return out
