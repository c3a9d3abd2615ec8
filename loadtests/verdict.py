"""Whether a load-test run measured the target, and if not, why: the run's verdict.

A run is *trustworthy* only when the generator replayed the plan as asked and the sessions
really exercised the target. Each of these makes it not trustworthy, with a one-line reason:

- achieved arrivals off the plan by more than 10% in some bin, or arrivals dropped at
  ``--max-sessions`` (the generator fell behind);
- the generator's CPU above 90% for three seconds running (it measured itself);
- Locust exceptions: a journey step that raised (a placeholder no request can fill, an
  answer of the wrong shape) did not do what the model's teacher does;
- sessions that ended without sending a single request (they count as arrivals but put no
  load on the target);
- arrivals that found no account of their kind (no administrator or teacher to sign in as);
- arrivals not started because ``--tags``/``--exclude-tags`` left their user class no task;
- an error rate above the scenario's ``rate(errors)`` threshold (or ``DEFAULT_MAX_ERROR_RATE``
  when it states none): a run whose requests fail measures error handling, not the load the
  model predicts.

Pure Python: the figures come from Locust's runner and the harness's tally, gathered by the
caller, so the rules are unit-tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_MAX_ERROR_RATE = 0.01  # the shipped scenarios' "rate(errors) < 1%" (scenarios/*.yaml)
ERROR_METRIC = "rate(errors)"


@dataclass(frozen=True)
class SessionHealth:
    """What the sessions did wrong, summed over every load-generating process."""

    exceptions: int = 0
    top_exception: str = ""  # the most frequent one's message, cut short
    idle_sessions: int = 0  # ended without a request
    no_account: dict[str, int] = field(default_factory=dict)  # arrival kind -> count
    untasked: dict[str, int] = field(default_factory=dict)  # kind -> arrivals not started


@dataclass(frozen=True)
class Verdict:
    trustworthy: bool
    reasons: list[str]

    @property
    def line(self) -> str:
        """One line for a terminal or a log."""
        return "trustworthy" if self.trustworthy else "NOT trustworthy: " + "; ".join(self.reasons)


def exception_health(exceptions: dict) -> tuple[int, str]:
    """Total and the most frequent message of Locust's ``runner.exceptions`` rows
    (``{key: {"count", "msg", ...}}``, the master's merge of every worker's)."""
    rows = list(exceptions.values())
    total = sum(int(row.get("count", 0)) for row in rows)
    if not rows:
        return 0, ""
    top = max(rows, key=lambda row: int(row.get("count", 0)))
    return total, str(top.get("msg", ""))[:120]


def error_limit(thresholds: list[str]) -> tuple[float, str]:
    """The tightest ``rate(errors) < x`` among the scenario's thresholds, and its text."""
    from domain.thresholds import parse_threshold

    limits = []
    for text in thresholds:
        threshold = parse_threshold(text)
        if threshold.metric == ERROR_METRIC and threshold.op in ("<", "<="):
            limits.append((threshold.value, threshold.text))
    if not limits:
        return DEFAULT_MAX_ERROR_RATE, f"{ERROR_METRIC} < {DEFAULT_MAX_ERROR_RATE:.0%} (default)"
    return min(limits)


def judge(*, within: bool, max_bin_error: float, dropped: int, saturated: bool, health: SessionHealth,
          error_rate: float, requests: int, thresholds: list[str]) -> Verdict:
    reasons: list[str] = []
    if not within:
        reasons.append(f"achieved arrivals off the plan by {max_bin_error:.0%} in a bin (limit 10%)")
    if dropped:
        reasons.append(f"{dropped} arrivals dropped at --max-sessions")
    if saturated:
        reasons.append("generator CPU above 90% for 3 s running")
    if health.exceptions:
        reasons.append(f"{health.exceptions} Locust exceptions (most: {health.top_exception})")
    for kind, count in sorted(health.untasked.items()):
        reasons.append(f"{count} {kind} arrivals not started: --tags/--exclude-tags left them no task")
    for kind, count in sorted(health.no_account.items()):
        reasons.append(f"{count} {kind} arrivals found no account of their kind in --accounts")
    if health.idle_sessions:
        reasons.append(f"{health.idle_sessions} sessions ended without a request")
    limit, text = error_limit(thresholds)
    if requests and not error_rate < limit:
        reasons.append(f"error rate {error_rate:.2%} breaches {text}")
    return Verdict(not reasons, reasons)
