"""The fit's own error types; only the command line turns them into one line and an exit code."""


class FitError(ValueError):
    """Targets or options a fit cannot use (unknown metric, contradictions, a target no free
    parameter moves, ...); str() is the one-line message."""


class NotConverged(FitError):
    """The fit ran but found no parameters that agree with every target; nothing is written."""
