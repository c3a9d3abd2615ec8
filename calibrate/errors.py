"""The calibration's one error type: the CLI turns it into one line and exit code 2."""


class CalibrationError(ValueError):
    """A calibration that cannot run or cannot fit; str() is the one-line reason."""
