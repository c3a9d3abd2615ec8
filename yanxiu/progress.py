"""Progress of long work, for any command: a tqdm bar when stderr is a terminal, and otherwise
(CI logs, pipes) one line per stage and a line at each fifth of a counted stage, never the
bar's carriage-return noise.

    with Progress("yanxiu run") as progress:
        progress.stage("simulating", total=90, unit="day")
        for day in ...: progress.advance(day + 1)
        progress.stage("writing results")

``Progress.callback()`` gives a ``(done, total)`` function for library code that reports
progress without knowing about terminals (``sim.model.run_model(on_day=...)``,
``report.build.build_report(on_stage=...)``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

LOG_STEPS = 5  # lines per counted stage when not on a terminal: 20%, 40%, ... 100%


class Progress:
    def __init__(self, command: str, stream: TextIO | None = None, bar: bool | None = None) -> None:
        self.command = command
        self.stream = stream or sys.stderr
        self.bar_enabled = self.stream.isatty() if bar is None else bar
        self._bar = None
        self._name = ""
        self._total: int | None = None
        self._logged = 0
        self._started = time.monotonic()
        self._pending = ""  # a quiet stage's first line, printed when it first advances
        self._announced = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if kind is not None:  # failed: the error says what happened, not a 'done' line
            self._announced = False
        self._finish()

    def stage(self, name: str, total: int | None = None, unit: str = "step", quiet: bool = False) -> None:
        """Start a stage (ending the one before); ``total`` counts its steps when known. A
        ``quiet`` stage says nothing until it first advances (so input refused before any work
        leaves its one error line alone)."""
        self._finish()
        self._name, self._total, self._logged = name, total, 0
        self._started = time.monotonic()
        if self.bar_enabled:
            from tqdm import tqdm

            self._bar = tqdm(desc=name, total=total, unit=unit, file=self.stream, leave=False)
            return
        self._pending = f"{name}" + (f" ({total:,} {unit}s)" if total else "") + " ..."
        if not quiet:
            self._announce()

    def _announce(self) -> None:
        if self._pending:
            self._line(self._pending)
            self._pending, self._announced = "", True

    def advance(self, done: int, total: int | None = None) -> None:
        """``done`` steps of the stage are complete (absolute, not an increment)."""
        if total is not None:
            self._total = total
        if self._bar is not None:
            if total is not None:
                self._bar.total = total
            self._bar.update(done - self._bar.n)
            return
        self._announce()
        if not self._total:
            return
        step = min(LOG_STEPS, done * LOG_STEPS // self._total)
        if step > self._logged:
            self._logged = step
            self._line(f"{self._name}: {done:,}/{self._total:,} ({done / self._total:.0%})")

    def say(self, text: str) -> None:
        """A result line on stdout that does not break a running bar."""
        if self._bar is not None:
            from tqdm import tqdm

            tqdm.write(text, file=sys.stdout)
        else:
            print(text, flush=True)

    def note(self, text: str) -> None:
        """A line about the work that is not a count (a fit's tolerance, say): above the bar on
        a terminal, a log line otherwise."""
        if self._bar is not None:
            self._bar.write(f"{self.command}: {text}", file=self.stream)
            return
        self._announce()
        self._line(text)

    def callback(self) -> Callable[[int, int], None]:
        return lambda done, total: self.advance(done, total)

    def _finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._name and self._announced:
            self._line(f"{self._name}: done in {time.monotonic() - self._started:.1f} s")
        self._name, self._pending, self._announced = "", "", False

    def _line(self, text: str) -> None:
        print(f"{self.command}: {text}", file=self.stream, flush=True)
