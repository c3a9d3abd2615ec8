"""The results contract: typed records for every file a run writes (docs/results.md).

Layer 2, above ``domain`` and below everything that writes or reads results (``sim``,
``loadtests``, ``report``, ``gate``, ``yanxiu``). ``summary.json`` is a record of one
``kind`` (model, loadtest, workload) carrying the schema ``version``; the CSV files have
column sets (``records.tables``). Writers build a record once and write it once
(``write_summary``); readers load it with ``read_summary`` and get ``RecordsError`` on a folder
of another kind or version.
"""

from records.base import VERSION, Number, Part, Record
from records.errors import RecordsError
from records.files import (
                           KINDS,
                           SUMMARY,
                           AnySummary,
                           Summary,
                           build,
                           raw_summary,
                           read_summary,
                           scenario_file,
                           write_summary,
)
from records.loadtest import LoadtestSummary
from records.model import ModelSummary
from records.workload import WorkloadSummary

__all__ = ["KINDS", "SUMMARY", "VERSION", "AnySummary", "LoadtestSummary", "ModelSummary", "Number", "Part",
           "Record", "RecordsError", "Summary", "WorkloadSummary", "build", "raw_summary", "read_summary",
           "scenario_file", "write_summary"]
