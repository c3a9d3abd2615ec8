"""Timing constants shared by the Locust side and the command that starts it (no imports,
so that ``yanxiu loadtest`` never loads gevent or Locust into its own process)."""

LEAD_S = 1.5  # the master's head start, so every worker has the origin before arrival 0
DRAIN_S = 1.5  # last per-second reports from the workers reach the master
GUARD_S = 60.0  # a shape ends this long after the plan even if the origin never came
FINISH_WAIT_S = 15.0  # longest wait for the workers' last reports after the plan ends
# --resume-sessions: the sessions the model has in progress at the first minute sign in and load
# their page during this window before the origin (the model's did so before the stretch), so
# that their set-up does not land on the first measured seconds as a burst
RESUMED_SET_UP_S = 10.0
# ... or longer, so that at most this many resumed sessions set up a second (each loads its page):
# a replay many times smoke's size would otherwise load thousands of pages in those 10 s
SET_UP_PER_S = 50.0


def set_up_s(resumed: int) -> float:
    """The set-up window before the origin for ``resumed`` sessions."""
    return max(RESUMED_SET_UP_S, resumed / SET_UP_PER_S)
