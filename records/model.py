"""``summary.json`` of a model run (``yanxiu run`` on a campaign scenario): docs/results.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import field_validator

from records.base import Number, Part, Record


class Window(Part):
    start: str  # local ISO time of the first minute
    minutes: int  # the campaign window
    horizon_minutes: int  # the simulated horizon (window + certificate tail)


class Peak(Part):
    value: Number | None  # None when the series never had a finite value
    at: str


class Slo(Part):
    p95_ms: Number | None
    target_p95_ms: Number | None = None
    worst_minute_p95_ms: Number | None = None
    targets_ms: dict[str, Number] = {}
    max_utilisation: Number | None = None
    target_max_utilisation: Number | None = None
    compliant_minutes_share: Number
    compliant_requests_share: Number | None = None
    judged_minutes: int | None = None
    # a minute is judged when the tier serves at least this many requests/s (sim.tiers.sizing)
    judged_rps: Number | None = None
    compliant: bool
    # the endpoint with the largest share of the tier's busy time over its missed minutes, and its
    # share of the tier's requests in them (sim.tiers.sizing.missed_mostly); absent when none missed
    missed_minutes_endpoint: str | None = None
    missed_minutes_endpoint_share: Number | None = None


class Capacity(Part):
    unit: str
    needed: Number | None
    provided: Number | None
    margin: Number | None = None
    at: str | int
    binding: str | None = None
    throughput_per_s: Number | None = None
    # the fewest servers (Gbps) meeting the latency targets with no headroom: below it teachers
    # wait past the targets (sim.tiers.sizing); None when unbounded or from an older writer
    minimum: Number | None = None


class WhatIf(Part):
    """A tier resized by ``yanxiu run --capacity`` (sim.capacity)."""

    asked: str  # as given: "45", "80%" (of the plan), "80%min" (of the minimum)
    size: Number  # servers (Gbps) the run had
    scenario_size: Number  # what the scenario provides
    share_of: Literal["need", "min"] | None = None  # a relative size: of the plan or the minimum
    base: Number | None = None  # that need, measured by a first run at the scenario's capacity
    # the tier's size in the run that measured ``base`` when the scenario's was short (an
    # overloaded run's load carries retries and come-backs, so its need is not the campaign's)
    base_measured_at: Number | None = None


class Replications(Part):
    count: int
    mean: dict[str, Number] = {}
    ci95: dict[str, list[Number | None]]
    seeds: list[int] = []


class Range(Part):
    """A figure over draws from a fitted posterior (fit.ranges): median and 90% interval, and
    the parameter whose rank correlation with the figure is largest (its driver)."""

    central: Number
    p05: Number
    p95: Number
    driver: str | None = None
    sensitivity: dict[str, Number] = {}  # parameter -> Spearman rank correlation


class Ranges(Part):
    draws: int
    posterior: str  # the behaviour file the draws came from
    parameters: list[str]
    seeds: list[int] = []
    figures: dict[str, Range]


class ModelStats(Part):
    sessions_simulated: Number
    feedback_calls: int
    shards: int


class Comparison(Part):
    """The tier model's figure beside the request-level simulation's mean and 95% interval."""

    model: Number
    simulated: Number
    ci95: list[Number]
    relative_error: Number | None
    model_in_ci95: bool

    def model_simulated(self, shown: Callable[[float], str] | None = None, scale: float = 1000.0) -> str:
        """"model / simulated [lo, hi]", each figure times ``scale`` (seconds to ms by default):
        how the CLI and the report show a confirmed figure. Every compared figure (utilisation,
        waits, response times) is non-negative, so the interval's lower end is shown from 0."""
        show = plain_figure if shown is None else shown
        lo, hi = (show(max(0.0, x * scale)) for x in self.ci95)
        return f"{show(self.model * scale)} / {show(self.simulated * scale)} [{lo}, {hi}]"


def plain_figure(value: float) -> str:
    """Four significant digits as a person writes them: no exponent (2.8e-72 ms is 0)."""
    if abs(value) < 5e-5:
        return "0"
    text = f"{value:.4g}"
    return f"{value:,.0f}" if "e" in text else text


class ConfirmedTier(Part):
    requests: Number
    utilisation: Comparison
    mean_wait_s: Comparison
    mean_response_s: Comparison
    mean_in_system: Comparison
    p50_s: Comparison
    p95_s: Comparison
    p99_s: Comparison


class ConfirmedMinute(Part):
    minute: int
    at: str
    why: list[str]
    seed: int
    rps_total: Number
    backlog_carried: bool
    seconds: Number
    replications: int
    tiers: dict[str, ConfirmedTier]
    skipped: str | None = None  # why an overloaded minute was not simulated


class Confirmation(Part):
    minutes: list[ConfirmedMinute]


class CampaignFigures(Part):
    """One campaign of a platform run (sim.outputs.platform)."""

    file: str
    folder: str  # its own results folder, relative to the platform's
    starts: str  # local ISO time of its first minute on the platform clock
    participants: int
    simulated: int
    peak_rps: Number
    peak_sessions: Number
    peak_egress_gbps: Number
    share_completed: Number
    capacity_alone: dict[str, Number | None]  # what it would need by itself
    shared_study_hours: dict[str, Number]  # its teachers' study also credited to them in another campaign
    in_both: dict[str, Number] = {}  # its participants who also take part in another campaign (overlaps:)


class CampaignAtPeak(Part):
    at_peak: Number
    share_at_peak: Number
    peak_alone: Number
    peak_lowered_without: Number


class SharedPeak(Part):
    value: Number
    at: str
    by_campaign: dict[str, CampaignAtPeak]


class TierNeed(Part):
    needed: Number | None
    unit: str
    at: str
    needed_without: dict[str, Number | None]
    busiest_at_hardest_minute: str
    set_by: str  # the campaign whose removal lowers the need most


class Campaigns(Part):
    """A platform run's campaigns: each one's figures, its part of the shared peak, and which
    campaign sets each tier's need (sim.campaigns.contributions)."""

    each: dict[str, CampaignFigures]
    peak: SharedPeak
    tiers: dict[str, TierNeed]


class WaitingRoomFigures(Part):
    """Admission control (failures.waiting_room): who queued, for how long, who gave up."""

    waited: Number  # sessions that queued before their first request
    mean_wait_minutes: Number | None
    longest_wait_minutes: Number
    left: Number  # gave up waiting and came back later (or never, past the window)
    # the queue: teachers in the room (time average of a minute, as timeseries.csv's
    # waiting_room), over the window and at its busiest minute; a teacher's position on joining
    # (the teachers already in the room, full scale), its mean and 95th percentile
    mean_queue: Number = 0
    peak_queue: Number = 0
    peak_queue_at: str | None = None
    mean_position: Number | None = None
    p95_position: Number | None = None


class Cascade(Part):
    """What an overloaded or failing platform did to teachers (sim.outputs.cascade): written
    only when a session was lost, deferred, queued or cut, a request retried, an SMS code
    resent or refused, or a heartbeat lost. Counts are full scale; hours are study hours."""

    sessions: Number  # study sessions started
    sessions_lost: Number  # given up after failed requests or a stalled video
    sessions_deferred: Number  # lost or left the waiting room; the teacher came back later
    sessions_not_resumed: Number  # lost or left, and the window closed before a come-back
    teachers_affected: Number  # teachers who lost a session or left the waiting room
    mean_deferral_hours: Number | None  # from giving up to coming back
    deferred_study_hours: Number  # study done in the sessions of teachers who came back
    study_hours: Number  # all study credited in the run
    requests: Number
    retried_requests: Number  # sent again: retries after a failure, SMS codes resent
    retry_share: Number  # retried_requests / requests: the extra load the cascade caused
    failed_requests: Number  # slower than the teacher's patience, or a stalled video
    sms_codes: Number
    sms_resends: Number
    sms_refused: Number  # refused by the vendor's per-phone limits
    credit_delay_mean_minutes: Number  # from study to its credit showing
    credit_delay_p95_minutes: Number | None
    heartbeats: Number
    heartbeats_lost: Number
    study_lost_hours: Number  # lost beats' study never credited (heartbeats.lost_study: lost)
    first_lost_at: str | None = None  # local time of the first minute a session was lost
    worst_minute: str | None = None  # the minute with the most sessions lost
    worst_minute_lost: Number | None = None
    waiting_room: WaitingRoomFigures | None = None
    maintenance_deferred: Number = 0  # sessions that found the platform shut
    maintenance_cut: Number = 0  # sessions cut short when the platform shut
    unattended_hours: Number = 0  # study credited to plays left running unattended
    scripted_claimed_hours: Number = 0  # study claimed by scripted clients
    scripted_heartbeats: Number = 0  # heartbeats scripted clients sent


# outcome totals every reader may rely on; the map also holds completed.<course> and
# mean_attempts.<course>
OUTCOME_KEYS = ("participants", "certified", "share_registered", "share_completed", "share_certified",
                "rate_errors", "rate_sessions_lost")


class ModelSummary(Record):
    kind: Literal["model"] = "model"
    scenario: str
    scenario_path: str | None = None
    seed: int
    seeds: dict[str, int]
    teachers: int
    participants: int
    simulated: int
    weight: Number
    sampled: bool
    window: Window
    peaks: dict[str, Peak]
    slo: dict[str, Slo]
    capacity: dict[str, Capacity]
    outcomes: dict[str, Number]
    replications: Replications | None = None
    metrics: dict[str, Number | None]
    model: ModelStats
    confirmation: Confirmation | None = None
    ranges: Ranges | None = None  # yanxiu run --ranges: behaviour uncertainty + seed noise
    campaigns: Campaigns | None = None  # a platform run (several campaigns on one platform)
    cascade: Cascade | None = None  # an overloaded or failing platform (issue 14)
    what_if: dict[str, WhatIf] | None = None  # tiers resized by yanxiu run --capacity

    @field_validator("outcomes")
    @classmethod
    def _outcomes_complete(cls, value: dict[str, Number]) -> dict[str, Number]:
        missing = [key for key in OUTCOME_KEYS if key not in value]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        return value

    def peak(self, series: str) -> Peak | None:
        return self.peaks.get(series)
