"""Write and read a results folder's ``summary.json`` through the records.

``write_summary`` is the only way a summary reaches a file; ``read_summary`` the only way one
comes back. A folder from another kind or another schema version, or a summary that does not
fit its model, raises ``RecordsError`` with one line naming the file and the field path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, TypeVar, overload

from pydantic import Field, ValidationError

from records.base import VERSION, Record
from records.errors import RecordsError
from records.loadtest import LoadtestSummary
from records.model import ModelSummary
from records.workload import WorkloadSummary

SUMMARY = "summary.json"

AnySummary = ModelSummary | LoadtestSummary | WorkloadSummary
Summary = Annotated[AnySummary, Field(discriminator="kind")]
KINDS: dict[str, type[Record]] = {"model": ModelSummary, "loadtest": LoadtestSummary,
                                  "workload": WorkloadSummary}

R = TypeVar("R", bound=Record)


def write_summary(folder: str | Path, record: Record) -> Path:
    """Write ``folder/summary.json`` (the folder is made if needed); return its path."""
    path = Path(folder) / SUMMARY
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(record.to_text(), encoding="utf-8")
    return path


def raw_summary(folder: str | Path) -> dict[str, Any]:
    """The JSON object of ``folder/summary.json``, checked to be one of this version."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RecordsError(f"{folder}: no such results folder")
    path = folder / SUMMARY
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordsError(f"{path}: missing (is {folder} a results folder?)") from None
    except (OSError, ValueError) as exc:
        raise RecordsError(f"{path}: not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RecordsError(f"{path}: expected a JSON object")
    kind = data.get("kind")
    if kind not in KINDS:
        raise RecordsError(f"{path}: kind: expected one of {', '.join(KINDS)} (got {kind!r})")
    version = data.get("version")
    if version != VERSION:
        written = "no version (written before versioned records)" if version is None \
            else f"version {version!r}"
        raise RecordsError(f"{path}: {written}; this yanxiu reads version {VERSION}: "
                           "run it again with this version")
    return data


@overload
def read_summary(folder: str | Path) -> AnySummary: ...
@overload
def read_summary(folder: str | Path, expected: type[R]) -> R: ...
def read_summary(folder: str | Path, expected: type[Record] | None = None) -> Record:
    """The summary of a results folder as its record; with ``expected``, only that kind."""
    data = raw_summary(folder)
    path = Path(folder) / SUMMARY
    if expected is not None:
        wanted = expected.model_fields["kind"].default
        if data["kind"] != wanted:
            raise RecordsError(f"{path}: kind: a {data['kind']} folder, expected a {wanted} folder")
    try:
        return (expected or KINDS[data["kind"]]).model_validate(data)
    except ValidationError as exc:
        raise RecordsError(f"{path}: {first_error(exc)}") from None


def scenario_file(summary: AnySummary, folder: str | Path, given: str | Path | None = None) -> Path:
    """The scenario file a run came from: the one given, else the one the record names
    (``scenario_path``: the file as ``yanxiu run`` or ``yanxiu loadtest`` was given it). Nothing
    is guessed from the scenario's name: a moved file is named by the caller (``--scenario``)."""
    if given:
        return Path(given)
    recorded = summary.scenario_path
    if recorded and Path(recorded).is_file():
        return Path(recorded)
    where = Path(folder) / SUMMARY
    if not recorded:
        raise RecordsError(f"{where}: scenario_path: not recorded; pass --scenario FILE")
    raise RecordsError(f"{where}: scenario_path: {recorded} not found (moved, or another working "
                       "folder?); pass --scenario FILE")


def build(record_type: type[R], data: dict[str, Any]) -> R:
    """A writer's record from the figures it computed: a mistake in the writer is a bug, so it
    surfaces as RecordsError naming the field path rather than a written file that readers
    refuse later."""
    try:
        return record_type.model_validate(data)
    except ValidationError as exc:
        raise RecordsError(f"{record_type.__name__}: {first_error(exc)}") from None


def first_error(exc: ValidationError) -> str:
    """The first error's field path in the data (pydantic's location also names union members,
    which are not part of the path) and its message."""
    error = exc.errors()[0]
    where = ".".join(_data_path(error["loc"])) or "(top level)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {error['msg']}{more}"


def _data_path(loc: tuple[int | str, ...]) -> list[str]:
    tags = {"int", "float", "str", "bool", "none", "list", "dict", "literal"}
    return [str(part) for part in loc
            if not (isinstance(part, str) and (part.split("[", 1)[0] in tags or "[" in part))]
