"""docs/results.md documents every field of every record and every CSV column set: a field added
to a model without a line in the docs fails here."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from records import LoadtestSummary, ModelSummary, WorkloadSummary, tables

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results.md"
# the docs' section of each kind: from its heading to the next one of the same level
SECTIONS = {ModelSummary: "## Model run", WorkloadSummary: "## Open-workload run",
            LoadtestSummary: "## Load-test run"}
TABLES = {tables.TIMESERIES: "## Model run", tables.OUTCOMES_DAILY: "## Model run",
          tables.ATTEMPTS: "## Model run", tables.REPLICATIONS: "## Open-workload run",
          tables.LOADTEST_ARRIVALS: "## Load-test run"}


def section(heading: str) -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:] if end < 0 else text[start:end]


def _models(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation (``dict[str, Slo] | None`` -> [Slo])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def field_names(model: type[BaseModel], seen: set[type] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    if model in seen:
        return set()
    seen.add(model)
    names = set()
    for name, info in model.model_fields.items():
        names.add(name)
        for inner in _models(info.annotation):
            names |= field_names(inner, seen)
    return names


def documented(name: str, text: str) -> bool:
    return re.search(rf'["`]{re.escape(name)}["`]', text) is not None


@pytest.mark.parametrize("model", list(SECTIONS), ids=lambda m: m.__name__)
def test_every_field_of_a_record_is_documented(model):
    text = section(SECTIONS[model])
    missing = sorted(n for n in field_names(model) if not documented(n, text))
    assert missing == [], f"docs/results.md {SECTIONS[model]!r} does not name: {', '.join(missing)}"


@pytest.mark.parametrize("columns", list(TABLES), ids=lambda c: c.file)
def test_every_csv_column_is_documented(columns):
    text = section(TABLES[columns])
    missing = [n for n in columns.documented_names if not documented(n, text)]
    assert missing == [], f"docs/results.md: {columns.file} columns not named: {', '.join(missing)}"


def test_the_checker_sees_nested_fields():
    assert {"p95_s", "model_in_ci95", "horizon_minutes", "targets_ms"} <= field_names(ModelSummary)
