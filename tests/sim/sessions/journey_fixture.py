"""One shard's journeys on smoke, built as the model builds them, for driving a session's steps
one at a time (tests of sim.sessions.client and sim.sessions.study)."""

from __future__ import annotations

import simpy

from sim import streams
from sim.model import build_world
from sim.sessions.behaviour import Journeys
from sim.sessions.schedule import Schedule
from sim.tiers.feedback import Feedback


def journeys(scenario, teachers: int = 50, seed: int = 3) -> Journeys:
    world = build_world(scenario, teachers, seed, None, 1)
    overload = scenario.behaviour.overload
    feedback = Feedback(world.platform, list(world.platform.endpoints), overload.abandon_after_s,
                        scenario.failures.waiting_room)
    return Journeys(simpy.Environment(), scenario, world.tables, world.population, world.profile,
                    world.new_recorder(), feedback, Schedule(),
                    streams.generators(streams.stream_seeds(seed)))


def drive(step) -> list[float]:
    """Run a step (a generator of busy seconds) to its end; the busy seconds it yielded, and
    its result as the last item."""
    busy = []
    try:
        while True:
            busy.append(next(step))
    except StopIteration as done:
        busy.append(done.value)
    return busy


def minute_row(j: Journeys) -> dict[str, float]:
    """The recorder's current minute: hits per endpoint, errors, retries."""
    row = j.rec.close_minute()  # rates per endpoint (per s), then Gbps
    stored = j.rec._rows[-1]
    sink = j.rec.sink
    out = {name: 60.0 * row[i] for i, name in enumerate(j.rec.endpoints)}
    out["errors"], out["retries"] = stored[sink], stored[sink + 1 + j.rec.width]  # after the arrivals
    return out
