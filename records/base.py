"""What every summary record shares: its ``kind``, the schema ``version``, and how it is written.

Records are permissive on purpose: extra keys are kept (so a writer that adds a figure before
its field is declared still round-trips), and new fields are added as optional ones with a
default. A record is written with exactly the fields its producer set (``exclude_unset``), in
the order the model declares them, so the bytes of a results folder follow from the run alone.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

# Bump when a field changes meaning or a reader could misread an older folder; adding an
# optional field does not need a bump.
VERSION = 1

# A JSON number that keeps its type: an int stays an int, a float a float (``float`` alone
# would turn 3 into 3.0 and change the written bytes).
Number = int | float


class Part(BaseModel):
    """A nested section of a record: extra keys allowed, written as set."""

    model_config = ConfigDict(extra="allow")


class Record(Part):
    """A results folder's ``summary.json``."""

    kind: str
    version: int = VERSION
    # how json.dumps lays out the file (kept per kind: the files written before records)
    json_indent: ClassVar[int] = 2
    json_ascii: ClassVar[bool] = True

    @model_validator(mode="after")
    def _always_written(self) -> Record:
        # kind and version are written even when the producer did not name them
        self.__pydantic_fields_set__.update({"kind", "version"})
        return self

    def as_json(self) -> dict[str, Any]:
        """The record as plain JSON data: the fields its producer set, in declared order."""
        return self.model_dump(mode="python", exclude_unset=True)

    def to_text(self) -> str:
        return json.dumps(self.as_json(), indent=self.json_indent, ensure_ascii=self.json_ascii,
                          allow_nan=False) + "\n"
