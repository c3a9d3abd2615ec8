"""Load that needs no teacher process: administrators' progress views and certificate fetches.

Both are drawn vectorised as counts per minute. Administrators' views go into the
recorder's ``extra`` load before the run, so the clock folds them into the rates the
feedback loop sees; certificate fetches come after the window (no teacher reacts to them),
so they are added to the counts after the run, before the tiers are evaluated.

- Administrators: schools x ``administrators.per_school`` (full scale; schools scale with
  ``--teachers``), each viewing progress ``progress_views_per_day`` times a day during the
  window, spread over the day like teachers' activity (the intensity profile).
- Certificates: one batch at ``rules.certificates_issued`` for completers only (the rules'
  ``certificate_available``); each completer fetches it at their next visit, a gap drawn
  like the gaps between sessions (``behaviour.sessions.gap_hours``) in operational time.
  Fetches that would fall after the end of the horizon are not counted.
"""

from __future__ import annotations

import numpy as np

from domain.campaign import CourseProgress
from domain.rules import RuleTables
from domain.scenario import Scenario
from sim.population.arrivals import Profile
from sim.sessions.recorder import Recorder


def add_admin_views(scenario: Scenario, profile: Profile, recorder: Recorder, teachers: int,
                    rng: np.random.Generator) -> float:
    """Fill administrators' progress views; return the number of administrators."""
    if "admin_progress" not in recorder.index:
        return 0.0
    pop, admins_cfg = scenario.population, scenario.behaviour.administrators
    schools = pop.schools * teachers / pop.teachers
    admins = schools * admins_cfg.per_school
    minutes = profile.window_minutes
    intensity = profile.intensity[:minutes]
    per_day = admins * admins_cfg.progress_views_per_day
    # intensity has mean 1 over the window, i.e. 1440 per average day
    expected = per_day * intensity / 1440.0
    recorder.extra[recorder.index["admin_progress"], :minutes] += rng.poisson(expected)
    return admins


def add_certificate_fetches(scenario: Scenario, tables: RuleTables, profile: Profile,
                            recorder: Recorder, completed_at: np.ndarray, weight: np.ndarray,
                            rng: np.random.Generator) -> np.ndarray:
    """Fetch instants (offsets, inf if beyond the horizon) of the completers' certificates."""
    campaign = tables.campaign
    issued = campaign.offset(campaign.certificates_at)
    # every completer holds all the credit the rules ask for; check the rule itself once
    full = {cid: CourseProgress(studied_s=s, test_passed=True)
            for cid, s in zip(tables.course_ids, tables.min_study_s, strict=True)}
    if not campaign.certificate_available(full, campaign.certificates_at):
        return np.full(completed_at.shape, np.inf)
    done = np.isfinite(completed_at)
    gaps = np.asarray(scenario.behaviour.sessions.gap_hours.sample(rng, int(done.sum())))
    at = np.full(completed_at.shape, np.inf)
    at[done] = profile.real_s(profile.op_hours(issued) + gaps)
    inside = np.isfinite(at)
    if "certificate" in recorder.index:
        minutes = (at[inside] // 60).astype(np.int64)
        counts = np.bincount(minutes, weights=weight[inside], minlength=recorder.minutes)
        recorder.counts[recorder.index["certificate"]] += counts[: recorder.minutes]
    return at
