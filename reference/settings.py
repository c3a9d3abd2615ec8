"""The server's settings: one validated object, read from ``YANXIU_*`` environment variables.

Environment variables rather than arguments because ``yanxiu serve --workers N`` starts
worker processes that each build the app afresh; the parent exports its settings, the
workers read them back. Plain pydantic (no pydantic-settings dependency): ``from_env`` maps
``YANXIU_<FIELD>`` onto the fields and validation names the variable that is wrong.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.sms import CODE_TTL_S

ENV_PREFIX = "YANXIU_"
DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "winter-2023.yaml"


class SettingsError(ValueError):
    """A setting that cannot be used; str() names the variable."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = "sqlite:///results/reference/yanxiu.sqlite"
    secret: str = Field(default_factory=lambda: secrets.token_hex(32), min_length=16)
    scenario: Path = DEFAULT_SCENARIO
    # The campaign instant that the server's start maps to (None = real time) and the
    # wall-clock second (Unix time) that is "the server's start"; see reference.clock.
    # (naive = campaign-local time)
    clock_start: dt.datetime | None = None
    clock_origin: float = Field(default_factory=time.time)
    # Campaign seconds per real second once clock_start is set: a load test that replays a
    # stretch compressed N times runs the campaign clock N times faster, so study time,
    # test unlocks and SMS limits stay consistent with the replay (yanxiu loadtest sets it).
    clock_rate: float = Field(default=1.0, gt=0, le=100_000)
    token_ttl_s: int = Field(default=7 * 86400, gt=0)
    # OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): ~20-30 ms per hash on one core
    # here, close to the platform's assumed login cost; the library default (64 MiB, 3 passes,
    # 4 lanes) would make login the bottleneck of any load test.
    argon2_time_cost: int = Field(default=2, ge=1, le=10)
    argon2_memory_kib: int = Field(default=19456, ge=1024, le=1 << 20)
    argon2_parallelism: int = Field(default=1, ge=1, le=8)
    sms_interval_s: float = Field(default=60, gt=0)  # one code per phone per minute
    sms_daily_cap: int = Field(default=10, ge=1)  # Aliyun default: 10 a day per phone
    sms_ttl_s: float = Field(default=CODE_TTL_S, gt=0)  # domain.sms: 5 minutes
    sms_max_attempts: int = Field(default=5, ge=1)  # wrong entries allowed per code
    # Load tests only: every code sent to a mobile starting with sms_test_prefix is this one.
    sms_test_code: str | None = Field(default=None, pattern=r"^\d{4,8}$")
    sms_test_prefix: str = Field(default="", pattern=r"^\d{0,11}$")
    workers: int = Field(default=1, ge=1, le=64)
    # Admission control (reference.admission): requests in flight per worker before new ones
    # are shed with 503 + Retry-After; 0 = no limit. estimate: ~4x the worker's concurrency at its knee.
    max_in_flight: int = Field(default=0, ge=0, le=100_000)
    # Login waiting room (reference.waiting_room): logins admitted per second per worker, the
    # rest queued with a ticket (429, position, Retry-After); 0 = no room. estimate: about the
    # argon2 hashes a worker's core does per second (~30 at the default cost, measured here).
    waiting_room: float = Field(default=0, ge=0, le=100_000)
    waiting_room_max_wait_s: float = Field(default=600, gt=0, le=86_400)  # longer: 503 room full
    # Who runs the group commits (reference.committer): "auto" = the event loop on a SQLite
    # file, a writer thread on PostgreSQL; "thread" keeps a slow disk's fsync off the loop.
    committer: Literal["auto", "loop", "thread"] = "auto"
    # Each request's CPU by endpoint (reference.route_cpu: yanxiu_route_cpu_seconds_total), what
    # `yanxiu calibrate` reads for the api's demand per endpoint; off, a production server
    # skips its cost (docs/reference-ops.md: the counter's cost, measured) and calibrate falls
    # back to the utilisation law alone.
    route_cpu: bool = True
    # reference.loop_lag: a timer on each worker's loop every loop_lag_interval_s records how late
    # it ran (yanxiu_loop_lag_seconds; 0 = off); switch_interval_s sets the interpreter's GIL
    # switch interval (None: CPython's 5 ms; docs/reference-ops.md, the loop's lag, measured).
    loop_lag_interval_s: float = Field(default=0.05, ge=0, le=60)
    switch_interval_s: float | None = Field(default=None, gt=0, le=0.1)
    # reference.gc_policy, applied once in each worker when it starts serving: "python" leaves
    # CPython's collector as it is (at the knee a full collection every 5.7 s per worker, 153 ms,
    # up to 320 ms, measured); "freeze" freezes what start-up left; "freeze-young" also raises the
    # first threshold to 10,000: no full collection in a 100-s replay at the knee, pauses <= 68 ms
    # (docs/reference-ops.md, "The garbage collector's pauses").
    gc_policy: Literal["python", "freeze", "freeze-young"] = "freeze-young"
    # Create tables and start-up rows when the app is built; `yanxiu serve` does it once in
    # the parent and turns it off for the workers, which would otherwise race.
    init_db: bool = True

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        env: Mapping[str, str] = os.environ if environ is None else environ
        values = {
            name: env[ENV_PREFIX + name.upper()]
            for name in cls.model_fields
            if ENV_PREFIX + name.upper() in env
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error["loc"] else "?"
            raise SettingsError(
                f"{ENV_PREFIX}{field.upper()}: {error['msg']} (got {error.get('input')!r})"
            ) from None

    def to_env(self) -> dict[str, str]:
        """The ``YANXIU_*`` variables that rebuild these settings in a worker process."""
        env = {}
        for name, value in self.model_dump(mode="json").items():
            if value is not None:
                env[ENV_PREFIX + name.upper()] = str(value)
        return env
