"""The report's own error: a results folder it cannot draw (a file missing or malformed)."""


class ReportError(ValueError):
    """str() is one line naming the file and what is wrong with it."""
