"""The record of ``yanxiu fit --cross-validate``: fit on one campaign, predict the other's public
figures, and the other way round (docs/fit.md). Written as one JSON file beside the two fitted
behaviour files; it is not a results folder's summary.json (``read_summary`` does not take it).
"""

from __future__ import annotations

from typing import Literal

from records.base import Number, Part, Record


class Predicted(Part):
    """One target of the predicted campaign beside the model's value for it."""

    name: str
    metric: str
    relation: str  # match, upper or lower (domain.targets)
    figure: Number
    model: Number
    error: Number | None  # model / figure - 1; None for a figure of 0
    agrees: bool  # inside the target's band or bound


class Direction(Part):
    """One direction: the fit on ``fitted_on`` and its prediction of ``predicted``."""

    fitted_on: str  # the campaign whose targets were fitted
    predicted: str  # the campaign predicted with the fitted behaviour
    scenario: str  # the fitted scenario file
    targets: str  # its targets file
    predicted_scenario: str
    predicted_targets: str
    converged: bool
    message: str = ""  # why not, when the fit did not converge
    behaviour_file: str | None = None  # the fit's output (only when it converged)
    parameters: dict[str, Number] = {}  # the central values carried to the other campaign
    simulations: int = 0
    wall_s: Number = 0.0
    in_sample: list[Predicted] = []  # the fitted campaign's own targets (the confirmation run)
    out_of_sample: list[Predicted] = []  # the other campaign's targets


class CrossValidation(Record):
    kind: Literal["cross-validation"] = "cross-validation"
    seed: int
    particles: int
    budget: int
    generations: int
    max_simulated: int  # teachers simulated per fit run
    predict_simulated: int  # teachers simulated in each prediction run
    carried: list[str]  # the parameters fitted and carried across (campaign-specific ones stay)
    directions: list[Direction]
