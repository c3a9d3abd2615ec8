"""Errors that the command line turns into one line on stderr and exit code 2."""


class CommandError(Exception):
    """Bad input to a command (a missing file, a bad option value); str() is the message."""
