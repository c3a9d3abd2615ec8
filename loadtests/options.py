"""The harness's own Locust options, and the per-process context built from them.

Options layer as Locust's do: ``locust.conf`` (repo root or ``--config``), then
``LOCUST_<NAME>`` environment variables, then flags. Nothing is read at import time: the
context (scenario, plan, routes, fixtures) is built once per process when a test starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: a plain `locust -f` start stays light
    from domain.campaign import Campaign
    from domain.rules import RuleTables
    from domain.scenario import Scenario
    from loadtests.plan import Plan
    from loadtests.stretch import Stretch

AUTO_SCALE_TEACHERS = 20_000
DEFAULTS = {
    "scenario": "scenarios/smoke.yaml",
    "stretch": "peak-hour",
    "compress": 60.0,
    "scale": "auto",
    "sms_code": "246810",
    "arrival_process": "deterministic",
    "bin_seconds": 10.0,
    "max_sessions": 10000,
}


def add_arguments(parser) -> None:
    """Register the options with Locust's parser (``events.init_command_line_parser``)."""
    group = parser.add_argument_group("yanxiu replay", "replay the model's arrivals (loadtests/)")

    def option(name: str, **kwargs) -> None:
        env = "LOCUST_" + name.lstrip("-").upper().replace("-", "_")
        group.add_argument(name, env_var=env, **kwargs)

    option("--scenario", default=DEFAULTS["scenario"], help="scenario file (rules and behaviour)")
    option("--model-results", default="", help="model results folder with timeseries.csv "
           "(default results/<scenario name>)")
    option("--stretch", default=DEFAULTS["stretch"],
           help="peak-day, peak-hour, window, a date or a range A..B (default %(default)s)")
    option("--compress", type=float, default=DEFAULTS["compress"],
           help="time compression: one model minute lasts 60/compress s (default %(default)s)")
    option("--scale", default=DEFAULTS["scale"],
           help="share of the model's full-scale arrivals to start, or auto: a "
           f"{AUTO_SCALE_TEACHERS:,}-teacher campaign's worth (default %(default)s)")
    option("--accounts", default="", help="accounts.csv of pre-registered teachers and admins")
    option("--answers", default="", help="answers.json {question_id: choice} (full marks)")
    option("--registrations", default="", help="CSV with a mobile column: numbers new teachers register "
           "with, each once (default: made-up 166 numbers)")
    option("--route-map", default="", help="YAML/JSON endpoint name -> {method, path}")
    option("--api", default="", help="adapter for the target's API, module:Class (default: the reference "
           "platform's, loadtests.adapters.reference:ReferenceAdapter; see docs/loadtests.md)")
    option("--sms-code", default=DEFAULTS["sms_code"],
           help="the fixed SMS code the target gives test mobiles (default %(default)s)")
    option("--arrival-process", choices=["deterministic", "poisson"],
           default=DEFAULTS["arrival_process"], help="arrival times (default %(default)s)")
    option("--bin-seconds", type=float, default=DEFAULTS["bin_seconds"],
           help="test seconds per bin of the achieved-vs-planned check (default %(default)s)")
    option("--max-sessions", type=int, default=DEFAULTS["max_sessions"],
           help="concurrent sessions per process before arrivals are dropped (and counted)")
    option("--max-duration", type=float, default=None,
           help="replay at most this many test seconds of the stretch (its first minutes)")
    option("--results-dir", default="", help="write arrivals.csv and summary.json here")
    option("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    option("--resume-sessions", type=int, default=0, choices=(0, 1),
           help="1: start with the sessions the model has in progress at the first minute (their "
           "remaining time drawn as the model has it) instead of an empty system (default 0)")
    option("--mobile-base", type=int, default=None,
           help="first new-teacher mobile number (default: from the clock, unique per run)")


def check_accounts(context: Context) -> None:
    """Returning teachers, administrators and certificate fetchers need accounts to log in."""
    from loadtests.accounts import TEACHER, AccountsError
    from loadtests.plan import ADMIN, CERTIFICATE, REGISTRATION, SESSION

    pm = context.plan.per_minute
    logins = (pm[SESSION] - pm[REGISTRATION] + pm[ADMIN] + pm[CERTIFICATE]).sum()
    if logins > 0 and not context.accounts:
        raise AccountsError(f"--accounts: needed: the stretch has {logins:.0f} sessions of people who "
                            "log in (pre-registered teachers and administrators)")
    if not context.accounts:
        return
    teachers = sum(1 for a in context.accounts if a.role == TEACHER)
    needs = {"teacher": ((pm[SESSION] - pm[REGISTRATION] + pm[CERTIFICATE]).sum(), teachers),
             "administrator": (pm[ADMIN].sum(), len(context.accounts) - teachers)}
    for who, (sessions, accounts) in needs.items():
        if sessions >= 0.5 and accounts == 0:
            raise AccountsError(f"--accounts: no {who} accounts, but the stretch plans {sessions:.0f} "
                                f"{who} sessions")


def resolve_scale(value, teachers: int) -> float:
    """``auto``: the model's campaign shrunk to AUTO_SCALE_TEACHERS teachers (never enlarged)."""
    from loadtests.plan import PlanError

    if value is None or str(value).strip().lower() == "auto":
        return min(1.0, AUTO_SCALE_TEACHERS / max(1, teachers))
    try:
        return float(value)
    except ValueError:
        raise PlanError(f"--scale: expected a number or auto (got {value!r})") from None


@dataclass
class Context:
    """Everything a process needs to replay the plan, built once from the options."""

    options: Any  # Locust's parsed options (argparse.Namespace plus our own)
    scenario: Scenario
    campaign: Campaign
    plan: Plan
    stretch: Stretch
    routes: dict
    accounts: list
    answers: dict
    seed: int
    mobile_base: int
    model_folder: Path | None = None
    tables: RuleTables | None = None  # course slots, openings, targets
    adapter: type | None = None  # loadtests.adapters.Adapter subclass (--api)
    registrations: list[str] | None = None  # --registrations: mobiles new teachers sign up with

    @property
    def compress(self) -> float:
        return self.plan.compress

    def target(self, host: str):
        """What an adapter knows about the run (``loadtests.adapters.Target``)."""
        from loadtests.adapters import Target

        assert self.tables is not None, "build_context always derives the rule tables"
        return Target(self.scenario.name, tuple(self.tables.course_ids), self.options.sms_code,
                      self.routes, host or "")


def build_context(options) -> Context:
    """Load and cross-check everything; raises one of the harness's one-line errors."""
    from domain.campaign import Campaign
    from domain.rules import RuleTables
    from domain.scenario import load_scenario
    from loadtests.accounts import load_accounts, load_answers, load_registrations
    from loadtests.adapters import load_adapter
    from loadtests.plan import Plan, PlanError, read_timeseries
    from loadtests.routes import route_table
    from loadtests.stretch import select

    scenario = load_scenario(options.scenario)
    folder = Path(options.model_results or Path("results") / scenario.name)
    series = read_timeseries(folder / "timeseries.csv")
    stretch = select(series, options.stretch)
    scale = resolve_scale(options.scale, scenario.population.teachers)
    plan = Plan(series, stretch.start, stretch.stop, options.compress, scale)
    limit = getattr(options, "max_duration", None)
    if limit is not None:
        if not limit > 0:
            raise PlanError(f"--max-duration: must be positive (got {limit})")
        if plan.duration_s > limit:
            minutes = max(1, int(limit / plan.minute_s))
            plan = Plan(series, stretch.start, stretch.start + minutes, options.compress, scale)
    if options.bin_seconds <= 0:
        raise PlanError(f"--bin-seconds: must be positive (got {options.bin_seconds})")
    if options.max_sessions < 1:
        raise PlanError(f"--max-sessions: must be at least 1 (got {options.max_sessions})")
    accounts = load_accounts(options.accounts) if options.accounts else []
    seed = scenario.seed if options.seed is None else int(options.seed)
    base = options.mobile_base
    if base is None:
        base = int(time.time() * 10) % 10**8
    campaign = Campaign(scenario)
    adapter = load_adapter(getattr(options, "api", "") or None)
    registrations = getattr(options, "registrations", "")
    return Context(options, scenario, campaign, plan, stretch,
                   route_table(scenario.platform.endpoints, options.route_map or None),
                   accounts, load_answers(options.answers or None), seed, int(base), folder,
                   RuleTables(campaign, scenario), adapter,
                   load_registrations(registrations) if registrations else None)
