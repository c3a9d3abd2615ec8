"""The CSV column sets of a results folder (docs/results.md).

A column set names the columns every file of its kind has (``required``, in this order for the
leading ones the writer puts first) and the families of further columns, written as templates
(``rps.<endpoint>``): the scenario decides how many there are. Writers check their header
against it before writing; readers check the header they read, so a file of another shape is
refused with one line instead of a KeyError in a chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from records.errors import RecordsError


@dataclass(frozen=True)
class Columns:
    file: str
    required: tuple[str, ...]
    templates: tuple[str, ...] = ()  # name patterns: "<...>" stands for a scenario's name
    optional: tuple[str, ...] = ()  # written by this version's writer, not required to read

    def check(self, header: Sequence[str], path: str | Path | None = None) -> None:
        """Raise RecordsError naming the file and the first required column it lacks."""
        missing = [name for name in self.required if name not in header]
        if missing:
            where = path if path is not None else self.file
            raise RecordsError(f"{where}: missing column(s) {', '.join(missing)} "
                               f"(not a {self.file} of this version)")

    @property
    def documented_names(self) -> tuple[str, ...]:
        return self.required + self.optional + self.templates


TIER_METRICS = ("utilisation", "wait_ms", "p50_ms", "p95_ms", "p99_ms", "in_system")

TIMESERIES = Columns(
    "timeseries.csv",
    required=("minute", "offset_min", "rps.total", "sessions", "viewers", "egress_gbps", "sms_per_s",
              "arrivals.sessions", "arrivals.registrations"),
    optional=("errors_per_s", "retries_per_s", "sessions_lost_per_min", "waiting_room"),
    templates=("rps.<endpoint>", *(f"tier.<tier>.{metric}" for metric in TIER_METRICS),
               "viewers.<sub_platform>", "arrivals.sessions.<sub_platform>", "arrivals.enrolled.<stage>"),
)
OUTCOMES_DAILY = Columns(
    "outcomes_daily.csv",
    required=("day", "registered", "active", "sessions", "sessions_lost", "completed_all", "certified"),
    optional=("studied",),
    templates=("credit_hours.<course>", "completed.<course>"),
)
ATTEMPTS = Columns("attempts.csv", required=("course", "attempts", "teachers"))
# one row per replication and pool tier (sim.tiers.requestsim.TierStats's fields after these two)
REPLICATIONS = Columns(
    "replications.csv",
    required=("replication", "tier", "requests", "arrival_rate", "utilisation", "mean_wait_s",
              "mean_response_s", "mean_in_system", "p50_s", "p95_s", "p99_s", "arrival_control",
              "service_control"),
)
LOADTEST_ARRIVALS = Columns("arrivals.csv", required=("bin", "planned", "achieved"),
                            optional=("start_s", "end_s", "error"))
# Locust's own history file: the columns the report draws from its "Aggregated" rows
LOCUST_HISTORY = Columns("stats_history.csv",
                         required=("Timestamp", "Name", "Requests/s"))

MODEL_TABLES = (TIMESERIES, OUTCOMES_DAILY, ATTEMPTS)
WORKLOAD_TABLES = (REPLICATIONS,)
LOADTEST_TABLES = (LOADTEST_ARRIVALS, LOCUST_HISTORY)
