"""Teachers in two campaigns of one platform run (a platform scenario's ``overlaps:``).

A ``share`` of campaign A's participants also take part in campaign B. Such a teacher is one
person with two journeys: A's (his row in A's population, A's sessions and progress) and B's
(a *persona*: B's sessions and progress for the same person). The personas form a *guest*
world of B: B's calendar, rules and behaviour, A's rows (weight, sub-platform, province,
device, school), their own first session, waves and drop-out drawn from B's behaviour. B's
own population is reduced by as many participants, so B's participants are unchanged; the
personas count as returning (the person has one account: his registration is counted in A).

Guest shard k holds the personas of A's shard k and runs in its process, just after it
(``sim.shards.Fleet.hosts``); the two shards' journeys are linked (``Link.bind``): study on a
resource both campaigns have credits the person's progress in both, as far as each
campaign's rules record it (``domain.campaign.SharedCredit.shared_courses``, the routes of
``sim.campaigns``). Requests and video are each journey's own, counted once in its campaign.

Not modelled: the two journeys' sessions are drawn apart, so they may overlap in time (the
rules' one study clock would credit such a person once); a persona's credit may show up to
one session early when his other journey's whole session is planned at its start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domain.platform import Overlap
from sim.population.teachers import Population, journey_draws
from sim.sessions.shared import Partner


@dataclass
class Link:
    """Persona rows of B paired with their rows in A, shard by shard."""

    host: int  # campaign index of A
    guest: int  # campaign index of B
    tids: list[dict[int, int]]  # per shard: A's shard-local row -> the persona's shard-local row
    shift_s: float  # A's clock -> B's clock

    def bind(self, shard: int, host, guest) -> None:
        """Link shard ``shard`` of A (``host``, a ``sim.shards._Shard``) and of the personas."""
        forward = self.tids[shard]
        host.journeys.partners[self.guest] = Partner(guest.journeys, guest, forward, self.shift_s)
        guest.journeys.partners[self.host] = Partner(host.journeys, host, {v: k for k, v in forward.items()},
                                                     -self.shift_s)


def dual_rows(weight: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Rows (sorted) of the teachers also in the other campaign: a random order of the rows,
    cut where the weight taken is nearest ``share`` of the whole weight."""
    order = rng.permutation(weight.size)
    taken = np.concatenate(([0.0], np.cumsum(weight[order])))
    count = int(np.argmin(np.abs(taken - share * taken[-1])))
    return np.sort(order[:count])


def personas(rows: Population, host_provinces: list[str], world, rng: np.random.Generator) -> Population:
    """B's journeys of A's teachers ``rows``: who they are from A, when they start in B from
    B's behaviour (``world``: B's world)."""
    names = [p.name for p in world.scenario.population.provinces]
    province = np.array([names.index(host_provinces[p]) for p in rows.province.tolist()], dtype=np.int16)
    first_u, wave_u, quit_share = journey_draws(world.scenario, world.profile, province, rng)
    participants = int(round(float(rows.weight.sum())))
    return Population(participants, participants, rows.sub, province, rows.device,
                      np.ones(rows.size, dtype=bool), rows.school, rows.weight, first_u, wave_u,
                      quit_share)


def split(host_rows: list[np.ndarray], dual: np.ndarray) -> tuple[list[np.ndarray], list[dict[int, int]]]:
    """The personas (indexes into ``dual``) of each host shard, and per shard the host's
    shard-local row -> the persona's shard-local row."""
    where = {int(row): (k, j) for k, rows in enumerate(host_rows) for j, row in enumerate(rows.tolist())}
    shards: list[list[int]] = [[] for _ in host_rows]
    tids: list[dict[int, int]] = [{} for _ in host_rows]
    for g, row in enumerate(dual.tolist()):
        k, j = where[row]
        tids[k][j] = len(shards[k])
        shards[k].append(g)
    return [np.array(s, dtype=np.int64) for s in shards], tids


STREAMS = ("in_both", "personas")  # an overlap's streams: who is in both; the personas' draws


def overlap_seed(seed: int, index: int, stream: str) -> int:
    """The seed of the ``index``-th overlap's ``stream`` (``STREAMS``) in a run seeded ``seed``."""
    return int(np.random.SeedSequence([seed, 0x17, 0xD0, index, STREAMS.index(stream)]).generate_state(1)[0])


def stated(overlaps: tuple[Overlap, ...], names: list[str]) -> list[tuple[int, int, float]]:
    """(A's index, B's index, share) of each overlap."""
    return [(names.index(o.campaign), names.index(o.also_in), o.share) for o in overlaps]
