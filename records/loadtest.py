"""``summary.json`` of a load-test run (``yanxiu loadtest``, built in ``loadtests.summary``); its
``prediction`` is ``records.prediction.Prediction``."""

from __future__ import annotations

from typing import ClassVar, Literal

from records.base import Number, Part, Record
from records.prediction import Prediction as Prediction  # re-exported: its readers import it from here


class EndpointFigures(Part):
    requests: int
    failures: int
    rps: Number
    error_rate: Number
    p50_ms: Number | None
    p95_ms: Number | None
    p99_ms: Number | None


class Arrivals(Part):
    planned: Number
    achieved: int
    dropped: int
    by_process: dict[str, int] = {}
    cut: int = 0  # sessions still running when the replay ended
    idle: int = 0  # sessions that ended without a request
    resumed: int = 0  # sessions the model had in progress at the first minute, started first
    no_account: dict[str, int] = {}  # arrival kind -> arrivals with no account of it
    untasked: dict[str, int] = {}  # arrival kind -> arrivals whose class had no task left
    late_s_max: Number = 0.0
    bin_s: Number
    max_bin_error: Number
    within_10pct: bool


class GeneratorCpu(Part):
    max: Number | None
    mean: Number | None
    saturated: bool
    processes: int = 0
    threshold_pct: Number | None = None


class Exceptions(Part):
    count: int
    top: str = ""  # the most frequent one's message, cut short


class RequestsVsPlan(Part):
    """One endpoint's requests over the replay: the model's plan for the replayed minutes
    (scaled and compressed) against what the target got (loadtests.requests)."""

    planned: Number
    achieved: int
    ratio: Number | None  # achieved / planned
    planned_per_bin: list[Number] = []  # per 10-s bin of test time
    achieved_per_bin: list[Number] = []
    bins_judged: int = 0  # bins planning at least 20 requests
    first_bin_error: Number | None = None  # |achieved / planned - 1| of the first judged bin
    max_bin_error: Number | None = None
    within_10pct: bool | None = None  # every judged bin within 10%
    # the sampling band (loadtests.noise): per bin, Z standard deviations of achieved - planned
    # that two independent samples of sessions (the replay's, the model's) give by chance
    band_per_bin: list[Number] = []
    sessions_per_bin: list[Number] = []  # effective sessions carrying each bin, (sum c)^2 / sum c^2
    bins_outside_band: list[int] = []  # judged bins further from the plan than the band
    plan_factor: Number | None = None  # the plan's variance over the replay's: scale x model weight
    band_typical: Number | None = None  # median of band / planned over the judged bins
    judgement: str | None = None  # within 10% / within sampling noise / a shortfall beyond it
    # the whole replayed stretch (loadtests.requests, 2026-12-01): the sessions' own requests from
    # the origin to the stretch's end (Locust's ``achieved`` also counts the drain after it), and
    # the sampling band of achieved - planned over it (Z sd of each session's total, the plan's too)
    in_stretch: Number | None = None
    stretch_ratio: Number | None = None  # in_stretch / planned
    stretch_band: Number | None = None  # requests
    stretch_z: Number | None = None  # (in_stretch - planned) / its standard deviation
    first_bin_band: Number | None = None  # the first judged bin's band, requests
    on_plan: bool | None = None  # stretch and first bin within 10% or their band, bins not beyond chance


class LoadtestSummary(Record):
    json_indent: ClassVar[int] = 1
    json_ascii: ClassVar[bool] = False

    kind: Literal["loadtest"] = "loadtest"
    scenario: str
    scenario_path: str | None = None  # the scenario file as the load test was given it
    model_results: str | None = None  # the model run's results folder the test replayed
    stretch: str
    stretch_first_minute: str | None = None
    compress: Number
    scale: Number
    host: str | None = None
    duration_s: Number
    set_up_s: Number = 0.0  # --resume-sessions: the window before the origin for their set-up
    # the master's head start: the origin comes lead_s + set_up_s after Locust's first history row
    lead_s: Number = 0.0
    arrival_process: str | None = None
    endpoints: dict[str, EndpointFigures]
    total: EndpointFigures
    arrivals: Arrivals
    generator_cpu: GeneratorCpu
    exceptions: Exceptions | None = None
    trustworthy: bool
    verdict: list[str] = []  # why the run is not trustworthy (loadtests.verdict)
    metrics: dict[str, Number | None]
    prediction: Prediction | None = None  # with --platform (yanxiu calibrate's platform file)
    # the model's requests per endpoint against the target's, when the model run is at hand
    requests_vs_plan: dict[str, RequestsVsPlan] = {}
    # endpoints whose requests are off the model's beyond sampling noise, one line each (the
    # replay did not put the model's load on the target there; loadtests.requests.off_plan)
    requests_off_plan: list[str] = []
    # per endpoint and 10-s bin from the origin, from each session's own counts (loadtests.noise):
    # {endpoint: {"requests": [...], "sum_sq": [sum c^2], "var": [successive differences]}}
    session_bins: dict[str, dict[str, list[Number]]] = {}
