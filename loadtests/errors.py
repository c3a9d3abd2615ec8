"""The load tests' own error: a target that cannot be set up (the reference platform failed
to seed, exited, or never answered); str() is one line."""


class TargetError(RuntimeError):
    pass
