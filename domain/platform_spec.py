"""The platform a scenario runs on: its tiers (pools of servers, bandwidth), endpoints with their
service demands, video bitrates, service levels, and an open-workload experiment (docs/tiers.md).
Part of the scenario schema (domain.scenario re-exports every name)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    PlainValidator,
    PositiveFloat,
    PositiveInt,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.distributions import ServiceShape
from domain.fields import Seconds, Share, Strict, SubPlatform, check_shares

_SHAPES: TypeAdapter = TypeAdapter(ServiceShape)


def _service(value: object) -> object:
    """``service:`` as one clear message: a name, or a shape mapping checked on its own."""
    if isinstance(value, str):
        if value not in ("exponential", "deterministic"):
            raise ValueError(f"expected exponential, deterministic or a shape mapping "
                             f"{{kind: lognormal|gamma|hyperexponential|empirical, ...}} (got {value!r})")
        return value
    if not isinstance(value, dict):
        raise ValueError(f"expected a name or a mapping (got {type(value).__name__})")
    try:
        return _SHAPES.validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:])
        message = first["msg"].removeprefix("Value error, ")
        raise ValueError(f"{where}: {message}" if where else message) from None


class SyncWork(Strict):
    """How one sync endpoint's demand at a worker tier is spent: ``loop_ms`` on the worker's
    event loop (its hops to and from the thread pool), ``free_ms`` on a pool thread without the
    GIL (argon2); the rest of the demand on a pool thread holding the GIL."""

    loop_ms: NonNegativeFloat = 0.0
    free_ms: NonNegativeFloat = 0.0


class ThreadWriter(Strict):
    """Each worker's writer thread (the reference's ThreadCommitter, on PostgreSQL): the requests
    of ``endpoints``, after their loop work, are jobs of their worker's writer, which takes the
    jobs waiting, lingers ``linger_ms`` for more, then runs them in one transaction lasting
    ``commit_ms`` + ``write_ms`` a job of wall time (statements, the database's work, the commit's
    flush) and answers them at its end (sim/tiers/writer.py). ``covers``: the tier whose busy time
    is inside that wall time (the database's CPU), so its service is not waited for again."""

    endpoints: list[str]
    linger_ms: NonNegativeFloat
    commit_ms: NonNegativeFloat
    write_ms: NonNegativeFloat
    covers: str | None = None
    # a transaction's wall time around its mean: fixed, or exponential (the flush, the GIL)
    service: Literal["exponential", "deterministic"] = "deterministic"
    note: str = ""


class WorkerThreads(Strict):
    """Each server of the tier is a worker process whose event loop serves the async endpoints
    itself and runs the ``sync`` ones on its thread pool behind a gate of ``slots`` (waited for
    FCFS on the loop): sim/tiers/workers.py, docs/tiers.md. Endpoints not named are async.
    ``writer``: each worker's writer thread, where it has one (a lingering group commit)."""

    slots: PositiveInt
    sync: dict[str, SyncWork]
    note: str = ""  # provenance of the figures (measured by a probe, or an estimate)
    writer: ThreadWriter | None = None


class RouteHolds(Strict):
    """Write transactions outside a group-commit writer's batches (the SQLite reference's
    routes' own, on pool threads): per endpoint, how long one holds the writer's lock. They take
    it only when no batch waits, trying at SQLite's busy-handler intervals
    (sim/tiers/write_lock.py, docs/tiers.md)."""

    hold_ms: dict[str, PositiveFloat]
    # per endpoint, the share of its requests that run such a transaction (a sign-in only by SMS
    # code writes): its transactions over its requests; 1 where not named
    share: dict[str, Share] = Field(default_factory=dict)
    note: str = ""  # provenance (measured by the server's timer, or an estimate)
    # a loop whose batch found the lock taken tries again after retry_ms on average, never
    # sooner than retry_min_ms (the reference's RETRY_S as its busy loop runs it: the server's
    # yanxiu_commit_retry_seconds), each loop its own batches (sim/tiers/write_lock.Polling);
    # 0: the moment the lock frees, every loop's waiting writes in one batch
    retry_ms: NonNegativeFloat = 0.0
    retry_min_ms: NonNegativeFloat = 0.0
    # per endpoint, the squared coefficient of variation of its hold, drawn lognormal around
    # hold_ms (measured: the holds' histogram; their Python between statements waits for the GIL,
    # so a few hold the lock 10-100x the mean); not named: every hold is hold_ms
    hold_scv: dict[str, PositiveFloat] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _shares_of_holds(self) -> RouteHolds:
        extra = sorted(set(self.share) - set(self.hold_ms))
        if extra:
            raise ValueError(f"share: endpoints without a hold {extra}")
        spread = sorted(set(self.hold_scv) - set(self.hold_ms))
        if spread:
            raise ValueError(f"hold_scv: endpoints without a hold {spread}")
        if self.retry_min_ms > self.retry_ms:
            raise ValueError(f"retry_min_ms: {self.retry_min_ms} over retry_ms {self.retry_ms}")
        return self


class DemandGrowth(Strict):
    """The tier's CPU demands move with the host's busy cores x (its processes and all others):
    each is ``demand_ms · (1 + per_core · (x - reference_cores))`` in the load-test prediction
    (sim/tiers/host_stretch.CpuGrowth), fitted by `yanxiu calibrate` (calibrate/cpu_growth.py) with
    its 95% interval [lo, hi]; unset: constant demands."""

    per_core: float  # per busy core of the host; may be negative (a cost that falls with load)
    reference_cores: NonNegativeFloat  # the host's busy cores the demands were measured at
    lo: float | None = None
    hi: float | None = None
    note: str = ""  # provenance


class CommitCpu(Strict):
    """The CPU a group commit costs the tier's processes (the loop's flush on SQLite, the writer
    thread on PostgreSQL): ``per_batch_ms`` a commit plus ``per_job_ms`` a job, so a job's share
    falls as batches grow. The calibrated demands of ``endpoints`` (each request one job) hold
    ``calibrated_ms`` of it, the calibration's mean; the prediction serves each such request
    ``per_job_ms + per_batch_ms / n`` instead, ``n`` its 10-s bin's jobs a batch as the model
    batches them (sim/tiers/replay.py; fitted by calibrate/commit_cpu.py); unset: the constant."""

    per_batch_ms: NonNegativeFloat
    per_job_ms: NonNegativeFloat
    calibrated_ms: NonNegativeFloat
    endpoints: list[str]
    note: str = ""  # provenance: the fit, its intervals


class PoolTier(Strict):
    """Servers (cores, connections, gateway channels) that each serve one request at a time."""

    name: str
    kind: Literal["pool"] = "pool"
    servers: PositiveInt
    # Service-time distribution of a request around its endpoint's demand_ms (the mean):
    # exponential, deterministic, or a mean-1 shape scaled to each endpoint's demand,
    # e.g. {kind: lognormal, scv: 4}, {kind: gamma, scv: 0.5}, {kind: hyperexponential, scv: 4},
    # {kind: empirical, samples: [measured times]} (domain.distributions).
    service: Annotated[Literal["exponential", "deterministic"] | ServiceShape,
                       PlainValidator(_service)] = "exponential"
    # fcfs: each server holds one request at a time; processor-sharing: the servers are cores
    # split evenly among all requests present (an async worker's event loop; sim/tiers/sharing.py);
    # group-commit: each server is a writer that takes every waiting write as one batch and pays
    # commit_ms once per batch (a database's group commit; sim/tiers/batching.py)
    discipline: Literal["fcfs", "processor-sharing", "group-commit"] = "fcfs"
    commit_ms: NonNegativeFloat = 0.0
    # each server an event loop (an async worker): a wake-up costs wakeup_ms once, shared by
    # every request ready at it, so the cost per request falls as load grows (fitted by
    # `yanxiu calibrate`; sim/tiers/batching.py, docs/tiers.md). 0: no such cost
    wakeup_ms: NonNegativeFloat = 0.0
    # group-commit: the commits are the event loops' of this (other) pool tier, each committing
    # the writes of one turn (the reference's LoopCommitter on SQLite), so the batches are as big
    # as the loops' turns make them (sim/tiers/turns.py); unset: the writer's own busy time does
    batched_by: str | None = None
    # each server a worker process with an event loop and a thread pool behind a session gate
    # (the reference's uvicorn workers; sim/tiers/workers.py); unset: one request at a time
    threads: WorkerThreads | None = None
    # group-commit, one writer: the routes' own write transactions on the same lock (SQLite)
    route_holds: RouteHolds | None = None
    # the CPU demands of the tier's requests move with the host's busy cores (unset: constant)
    cpu_growth: DemandGrowth | None = None
    # the group commits' CPU on the tier, a commit's and a job's (unset: in the demands as constant)
    commit_cpu: CommitCpu | None = None

    @model_validator(mode="after")
    def _commit_needs_batches(self) -> PoolTier:
        if self.route_holds is not None and (self.discipline != "group-commit" or self.servers != 1):
            raise ValueError("route_holds: only for one group-commit writer (discipline group-commit, "
                             f"servers 1; got {self.discipline}, servers {self.servers})")
        if self.threads is not None and self.discipline != "fcfs":
            raise ValueError(f"threads: only for discipline fcfs (got {self.discipline})")
        if self.commit_ms and self.discipline != "group-commit":
            raise ValueError(f"commit_ms: only for discipline group-commit (got {self.discipline})")
        if self.batched_by is not None and self.discipline != "group-commit":
            raise ValueError(f"batched_by: only for discipline group-commit (got {self.discipline})")
        if self.wakeup_ms and self.discipline == "group-commit":
            raise ValueError("wakeup_ms: not with discipline group-commit (a writer's batch cost is "
                             "commit_ms)")
        return self


class BandwidthTier(Strict):
    name: str
    kind: Literal["bandwidth"] = "bandwidth"
    capacity_gbps: PositiveFloat


Tier = Annotated[PoolTier | BandwidthTier, Field(discriminator="kind")]


class Endpoint(Strict):
    name: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    # The tiers the endpoint's requests visit, each with its mean demand there. A tier not
    # named is not visited; 0 means visited at no cost of its own: e.g. a write whose whole
    # cost is its group commit's per-batch cost (commit_ms), which it still forms batches for.
    demand_ms: dict[str, NonNegativeFloat]

    def visits(self, tier: str) -> bool:
        return tier in self.demand_ms
    # Bytes each request carries (e.g. a photo upload), counted on the bandwidth tiers.
    request_kb: NonNegativeFloat = 0


class Bitrate(Strict):
    name: str
    kbps: PositiveFloat
    share: Share


class Platform(Strict):
    heartbeat_interval_s: dict[SubPlatform, Seconds]
    video_bitrates: list[Bitrate] = Field(min_length=1)
    audio_kbps: NonNegativeFloat = 0
    tiers: list[Tier] = Field(min_length=1)
    endpoints: list[Endpoint] = Field(min_length=1)

    @field_validator("video_bitrates")
    @classmethod
    def _bitrate_shares(cls, rates: list[Bitrate]) -> list[Bitrate]:
        check_shares({r.name: r.share for r in rates})
        return rates

    @model_validator(mode="after")
    def _loops_are_pools(self) -> Platform:
        pools = {t.name for t in self.tiers if t.kind == "pool"}
        for tier in self.tiers:
            by = getattr(tier, "batched_by", None)
            if by is not None and (by not in pools or by == tier.name):
                raise ValueError(f"tiers.{tier.name}.batched_by: {by!r} is not another pool tier")
        names = {e.name for e in self.endpoints}
        for tier in self.tiers:
            threads = getattr(tier, "threads", None)
            unknown = sorted(set(threads.sync) - names) if threads is not None else []
            if unknown:
                raise ValueError(f"tiers.{tier.name}.threads.sync: unknown endpoints {unknown}")
            _check_writer(tier.name, getattr(threads, "writer", None), names, {t.name for t in self.tiers})
            holds = getattr(tier, "route_holds", None)
            unknown = sorted(set(holds.hold_ms) - names) if holds is not None else []
            if unknown:
                raise ValueError(f"tiers.{tier.name}.route_holds.hold_ms: unknown endpoints {unknown}")
        return self

    def tier(self, name: str) -> PoolTier | BandwidthTier:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise KeyError(name)

    def endpoint(self, name: str) -> Endpoint:
        for endpoint in self.endpoints:
            if endpoint.name == name:
                return endpoint
        raise KeyError(name)


class TierSlo(Strict):
    p50_ms: PositiveFloat | None = None
    p95_ms: PositiveFloat | None = None
    p99_ms: PositiveFloat | None = None
    max_utilisation: Annotated[float, Field(gt=0, le=1)] = 0.8


class ServiceLevels(Strict):
    tiers: dict[str, TierSlo]
    error_rate: Share


class Workload(Strict):
    """Open workload for queueing experiments: Poisson arrivals at one endpoint (``endpoint``
    and ``rate_per_s``) or at several (``rates_per_s: {endpoint: rate}``), served by the tiers
    at request level (``sim.tiers.requestsim``) instead of simulating the teacher population."""

    kind: Literal["poisson"] = "poisson"
    rate_per_s: PositiveFloat | None = None
    endpoint: str | None = None
    rates_per_s: dict[str, PositiveFloat] | None = None
    duration_s: Seconds = Field(gt=0)
    warmup_s: Seconds = 0
    replications: PositiveInt = 10

    @model_validator(mode="after")
    def _one_form(self) -> Workload:
        single = self.endpoint is not None or self.rate_per_s is not None
        if single and self.rates_per_s is not None:
            raise ValueError("give either endpoint + rate_per_s or rates_per_s, not both")
        if self.rates_per_s is None and (self.endpoint is None or self.rate_per_s is None):
            raise ValueError("needs endpoint and rate_per_s (or rates_per_s for several endpoints)")
        if self.rates_per_s is not None and not self.rates_per_s:
            raise ValueError("rates_per_s: names no endpoint")
        return self

    @property
    def rates(self) -> dict[str, float]:
        """Arrival rate per endpoint (requests/s)."""
        if self.rates_per_s is not None:
            return dict(self.rates_per_s)
        return {str(self.endpoint): float(self.rate_per_s or 0.0)}


def _check_writer(tier: str, writer: ThreadWriter | None, endpoints: set[str], tiers: set[str]) -> None:
    """A writer thread's endpoints are the platform's and what it covers is one of its tiers:
    an unknown name would otherwise be skipped by the prediction without a word."""
    if writer is None:
        return
    unknown = sorted(set(writer.endpoints) - endpoints)
    if unknown:
        raise ValueError(f"tiers.{tier}.threads.writer.endpoints: unknown endpoints {unknown}")
    if writer.covers is not None and writer.covers not in tiers:
        raise ValueError(f"tiers.{tier}.threads.writer.covers: {writer.covers!r} is not a tier")
