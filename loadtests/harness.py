"""Our state for one Locust environment, kept in an object of ours instead of attributes hung on
Locust's ``Environment``.

Locust hands the environment to every event hook (``init``, ``test_start``, ``quitting``, ...)
and to every user and shape; ``harness(environment)`` gives back the same ``Harness`` for it,
so the hooks, the shape and the users share the replay's context, the arrival tally and the
running replay without patching Locust's object. Keyed weakly: an environment that is dropped
(tests make several) takes its harness with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

if TYPE_CHECKING:
    from loadtests.arrivals import Replay, Tally
    from loadtests.options import Context


@dataclass
class Harness:
    context: Context | None = None  # None: the replay could not be set up (its error was logged)
    tally: Tally | None = None  # arrivals and CPU samples reported by the generating processes
    replay: Replay | None = None  # this process's arrival scheduler, once the test started
    finish_asked_at: float | None = None  # when the master asked the workers to finish


_HARNESSES: WeakKeyDictionary[Any, Harness] = WeakKeyDictionary()


def harness(environment: Any) -> Harness:
    """The harness of this Locust environment (made on first use)."""
    found = _HARNESSES.get(environment)
    if found is None:
        found = _HARNESSES[environment] = Harness()
    return found
