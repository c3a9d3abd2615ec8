"""The regression gate: thresholds in a small expression language, evaluated on a results
folder's ``summary.json["metrics"]`` and compared against a baseline folder (docs/report-gate.md)."""
