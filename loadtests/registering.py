"""Registrations the model has in progress when the replayed stretch starts.

The model (``sim.sessions.client._register``) sends a registration's SMS code in the minute it
starts, waits for the code and the teacher's code entry (``code_entry_s``), searches for the
school at once, fills in the form (``form_s``) and only then sends ``register``: ``register``
falls ``D = code entry + form`` after the start (about two model minutes in smoke), in a
later minute than its ``sms_send``. A replay that only starts the stretch's own registrations
therefore misses the ``register`` requests of those begun in the minutes before it. This
module gives the replay those in-progress registrations, as the model has them:

- their number: a registration started in minute ``-k`` (k = 1, 2, ... before the stretch's
  first), at a uniform instant ``U`` inside it, is still in progress at the start when
  ``D > k - U`` (in minutes), so the expected number is ``Σ_k r_-k P(D > k - U)`` with
  ``r_-k`` the model's registrations of that minute (renewal theory / Little's law);
  ``P(D > k - U) = E[clip(D - k + 1, 0, 1)]`` over ``U``, estimated on a pool of journey
  lengths drawn from the scenario's distributions;
- each one's state: (minute, instant, journey) drawn conditioned on being in progress, so its
  elapsed time says whether it is still entering its code or already in the form, and how
  long that pause has left.

The SMS delay (the sms_send response time, well under a second in the model) is left out of
``D``; the school searches take no model time. Pure numpy: unit-tested on its own.
"""

from __future__ import annotations

import math

import numpy as np

from loadtests.plan import REGISTRATION, Arrival, Plan, PlanError

POOL = 20_000  # journey lengths drawn per plan: the in-progress probability's Monte Carlo sample
RESUMED_REGISTRATION_BASE = 2_000_000_000  # their sequence numbers (above the resumed sessions')
CODE, FORM = "code", "form"  # the phase a resumed registration is in
# What teachers type into the school box, by sub-platform (seeded names end in these).
SCHOOL_KEYWORDS = {
    "basic": ("小学", "中学", "幼儿园", "学校"),
    "higher": ("大学", "学院"),
    "vocational": ("职业", "学院", "学校"),
}


def journey_pool(registration, rng: np.random.Generator, size: int = POOL) -> tuple[np.ndarray, np.ndarray]:
    """Code-entry and form times (model seconds) of ``size`` journeys of the scenario."""
    code = np.asarray(registration.code_entry_s.sample(rng, size), float)
    form = np.asarray(registration.form_s.sample(rng, size), float)
    return np.maximum(code, 0.0), np.maximum(form, 0.0)


def expected_in_progress(before: np.ndarray, length_minutes: np.ndarray) -> float:
    """``Σ_k before[k-1] P(D > k - U)``: registrations in progress at the start, with
    ``before[k-1]`` those started ``k`` minutes before it and ``length_minutes`` a pool of D."""
    k = np.arange(1, len(before) + 1)[:, None]
    alive = np.clip(np.asarray(length_minutes)[None, :] - k + 1.0, 0.0, 1.0).mean(axis=1)
    return float(np.asarray(before, float) @ alive)


def resumed_registrations(plan: Plan, registration, rng: np.random.Generator,
                          set_up_s: float) -> list[Arrival]:
    """The registrations in progress at the stretch's first minute, at test scale, spread over
    the set-up window before the origin; each carries its phase and the model seconds that
    phase's pause has left (``Arrival.registration_left``)."""
    code, form = journey_pool(registration, rng)
    length = (code + form) / 60.0
    horizon = min(plan.start, int(math.ceil(length.max())) + 1)  # no older one can be running
    if horizon == 0:
        return []
    before = plan.series.registrations[plan.start - horizon:plan.start][::-1] * plan.scale
    count = int(math.floor(expected_in_progress(before, length) + 0.5))
    if count == 0:
        return []
    states = _states(before, code, form, count, rng)
    at = ((np.arange(count) + 0.5) / count - 1.0) * set_up_s
    return [Arrival(float(t), REGISTRATION, RESUMED_REGISTRATION_BASE + i, registration_left=s)
            for i, (t, s) in enumerate(zip(at, states, strict=True))]


def _states(before: np.ndarray, code: np.ndarray, form: np.ndarray, count: int,
            rng: np.random.Generator) -> list[tuple[str, float]]:
    """``count`` in-progress states by rejection: a start minute in proportion to its
    registrations, a uniform instant in it and a journey of the pool, kept when the journey
    is still running at the start (its elapsed time below its length)."""
    weights = before / before.sum()
    states: list[tuple[str, float]] = []
    for _ in range(1000):  # acceptance is P(D > k - U) weighted: well above 1/1000 when count > 0
        n = 4 * count + 100
        k = rng.choice(len(before), size=n, p=weights) + 1
        elapsed = (k - rng.random(n)) * 60.0
        j = rng.integers(len(code), size=n)
        for e, c, f in zip(elapsed, code[j], form[j], strict=True):
            if e < c + f:
                states.append((CODE, c - e) if e < c else (FORM, c + f - e))
                if len(states) == count:
                    return states
    raise PlanError("in-progress registrations: the journey lengths never outlast a minute")


def pick_school(api, rng: np.random.Generator, sub: str, searches: int) -> dict | None:
    """Search for the school ``searches`` times as the teacher would; the last hit's pick."""
    school = None
    keywords = SCHOOL_KEYWORDS.get(sub, SCHOOL_KEYWORDS["basic"])
    for _ in range(searches):
        schools = api.find_schools(keywords[int(rng.integers(len(keywords)))], sub) or []
        if schools:
            school = schools[int(rng.integers(len(schools)))]
    return school
