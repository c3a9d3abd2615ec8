"""The one error a results folder raises when it cannot be read as this version's records."""


class RecordsError(ValueError):
    """A results file that is missing, unreadable, of another kind or another schema version,
    or not shaped as its model says; str() is one line naming the file and the field path."""
