"""The calibrated model's prediction beside the measurement of one load test (written by
``calibrate.compare``; ``summary.json`` ``prediction`` and a bench level's ``level.json``).

Each figure is compared with the measurement of the same load test: predicted, measured, and
the error of the prediction against the measurement (relative for a figure, in percentage
points for a tier's utilisation). The on-disk layout is the one written before these models
(2026-12-01): a figure row ``{predicted, measured, relative_error[, why_no_error]}``, a tier row
``{predicted, measured, error_pp}``, the prediction at the achieved load ``{endpoints, tiers[,
host]}``; an absent part was written as ``{}`` and reads as ``None``.
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from records.base import Number, Part

# the figures of an endpoint row, in the order they are shown
FIGURES = ("rps", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "error_rate")


class FigureRow(Part):
    """One endpoint's figure: the model's prediction and the load test's measurement."""

    predicted: Number | None
    measured: Number | None
    relative_error: Number | None = None  # predicted / measured - 1; None when not compared
    why_no_error: str | None = None  # e.g. "812 requests (< 1000)", "not measured"


class TierRow(Part):
    """One tier's utilisation (busy share of its servers), predicted and measured."""

    predicted: Number
    measured: Number | None
    error_pp: Number | None = None  # 100 x (predicted - measured)


EndpointRows = dict[str, dict[str, FigureRow]]  # endpoint -> figure (FIGURES) -> row


class WallRow(Part):
    """A wall-time demand's calibration (``sim.tiers.host_stretch.WallStretch``)."""

    reference_cores: Number
    share: Number = 1.0


class HostRow(Part):
    """The api tier's host during the test, as the prediction served it (``HostShare``)."""

    tier: str
    cores: Number
    runs: list[str] = []
    wall: WallRow | None = None
    background_cores: list[Number] = []  # other work per 10-s bin of test time


class AtLoad(Part):
    """The prediction at one load: per endpoint and figure, per tier, and the host it served."""

    endpoints: EndpointRows = {}
    tiers: dict[str, TierRow] = {}
    host: HostRow | None = None


class RequestsRow(Part):
    """One endpoint's requests over the test: the model's plan against what the target got."""

    planned: Number
    achieved: int
    ratio: Number | None


class BinRow(Part):
    """Planned and achieved requests per 10-s bin of test time, and the largest relative error."""

    planned: list[Number]
    achieved: list[Number]
    max_error: Number


class InAppRow(Part):
    """The server's own mean time (its middleware) beside the load test's mean, in ms."""

    in_app_ms: Number
    mean_ms: Number
    outside_ms: Number  # the worker's queue before the app, the network, the client


class Background(Part):
    """The host's other work during the test against what the calibration ran beside."""

    test_other_cores: Number
    calibration_other_cores: Number | None = None
    busier: bool | None = None
    note: str = ""


def _none_if_empty(value: Any) -> Any:
    return None if value == {} else value


class Prediction(Part):
    """The model's prediction for this load beside the measurement (calibrate.compare): at the
    planned load (``endpoints``, ``tiers``) and at the load the target really got
    (``at_achieved``, which the gate metrics come from); not ``comparable`` (and no errors) when
    the generator saturated or the target is not the calibrated one."""

    comparable: bool
    reason: str = ""
    calibrated_target: str
    tested_target: str
    platform_file: str | None = None
    endpoints: EndpointRows = {}
    tiers: dict[str, TierRow] = {}
    planned_vs_achieved: dict[str, RequestsRow] = {}
    per_bin: dict[str, BinRow] = {}  # endpoints planning at least 20 requests in every bin
    at_achieved: AtLoad | None = None
    in_app: dict[str, InAppRow] = {}
    background: Background | None = None
    coverage: dict[str, str] = {}  # tier -> what its measured figure covers, where not the whole replay
    writer: dict[str, Number] = {}  # the PostgreSQL writer thread's figures (calibrate.meter)
    metrics: dict[str, Number] = {}

    _empty_is_none = field_validator("at_achieved", "background", mode="before")(_none_if_empty)

    def planned(self) -> AtLoad:
        """The prediction at the planned load (the model's requests, compressed and scaled)."""
        return AtLoad(endpoints=self.endpoints, tiers=self.tiers)

    def compared(self) -> AtLoad:
        """The rows the errors are read from: at the achieved load where that part was
        predicted, else at the planned load."""
        achieved = self.at_achieved or AtLoad()
        return AtLoad(endpoints=achieved.endpoints or self.endpoints, tiers=achieved.tiers or self.tiers,
                      host=achieved.host)
