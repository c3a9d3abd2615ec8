"""The model's side of every target metric (``domain.targets.METRICS``), from one run.

A run here is ``sim.model.simulate``: the teachers' load and outcomes without the tiers, which
no target needs (the tiers cost a third of a small run). Page views are the page requests of
the run (every endpoint but the player's heartbeats and SMS sends), by local day over the
window. ``MOVERS`` says which free parameters can move each metric: a fitted target whose
metric no fitted parameter moves is refused before any simulation.
"""

from __future__ import annotations

import numpy as np

from domain.scenario import SUB_PLATFORMS
from domain.targets import METRICS
from sim.model import Simulated
from sim.population.teachers import DEVICES

NOT_PAGES = ("heartbeat", "sms_send")
TIMING = ("start_delay_median_days", "start_delay_sigma", "gap_hours_mean", "session_minutes_mean",
          "opening_boost", "opening_decay_days", "wave_scale", "dropout", "deadline_rush_factor")
VOLUME = ("start_delay_median_days", "start_delay_sigma", "wave_scale", "gap_hours_mean",
          "session_minutes_mean", "dropout", "returning_share")
MOVERS: dict[str, tuple[str, ...]] = {
    "participants": ("start_delay_median_days", "start_delay_sigma", "wave_scale"),
    "completion_share": ("start_delay_median_days", "start_delay_sigma", "gap_hours_mean",
                         "session_minutes_mean", "dropout", "deadline_rush_factor"),
    "page_views": VOLUME,
    "mean_daily_page_views": VOLUME,
    "peak_day_page_views": VOLUME + TIMING,
    "peak_day_ratio": TIMING,
    "sessions_per_participant": ("gap_hours_mean", "session_minutes_mean", "dropout",
                                 "start_delay_median_days", "start_delay_sigma"),
    "mean_session_minutes": ("session_minutes_mean",),
    "app_share": (),
    "teachers": (),
    "teachers.basic": (),
    "teachers.higher": (),
    "teachers.vocational": (),
}
assert set(MOVERS) == set(METRICS), "fit.metrics.MOVERS and domain.targets.METRICS must agree"


def daily_page_views(sim: Simulated) -> np.ndarray:
    """Page views per local day of the window (full scale)."""
    rec, profile = sim.recorder, sim.world.profile
    pages = [i for i, name in enumerate(rec.endpoints) if name not in NOT_PAGES]
    per_minute = rec.counts[pages].sum(axis=0)[: profile.window_minutes]
    day = ((np.arange(per_minute.size) * 60.0 + rec.day0_s) // 86400.0).astype(np.int64)
    return np.bincount(day, weights=per_minute)


def metrics(sim: Simulated) -> dict[str, float]:
    """Every metric of ``METRICS`` for one run."""
    pop, scenario, rec = sim.world.population, sim.world.scenario, sim.recorder
    w = pop.weight
    studied = float(w[np.isfinite(sim.progress.first_study_at)].sum())
    completed = float(w[np.isfinite(sim.completed_at)].sum())
    days = daily_page_views(sim)
    sessions = float(rec.daily["sessions"].sum())
    out = {
        "participants": studied,
        "completion_share": completed / studied if studied else 0.0,
        "page_views": float(days.sum()),
        "mean_daily_page_views": float(days.mean()),
        "peak_day_page_views": float(days.max()),
        "peak_day_ratio": float(days.max() / days.mean()) if days.mean() > 0 else 0.0,
        "sessions_per_participant": sessions / studied if studied else 0.0,
        "mean_session_minutes": rec.session_seconds / sessions / 60.0 if sessions else 0.0,
        "app_share": float(w[pop.device == DEVICES.index("app")].sum() / w.sum()),
        "teachers": float(pop.teachers),
    }
    shares: dict[str, float] = {str(k): v for k, v in scenario.population.sub_platforms.items()}
    for sub in SUB_PLATFORMS:
        out[f"teachers.{sub}"] = float(pop.teachers * shares.get(sub, 0.0))
    return out
