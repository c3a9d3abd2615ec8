"""``yanxiu validate FILE``: load a scenario, report the first problem or summarise it."""

from __future__ import annotations

import argparse
import datetime as dt


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML file")


def run(args: argparse.Namespace) -> int:
    from domain.platform import PlatformScenario, load_any

    scenario = load_any(args.scenario)
    print(describe_platform(scenario) if isinstance(scenario, PlatformScenario) else describe(scenario))
    return 0


def describe_platform(plan) -> str:
    """A platform scenario: its campaigns one after the other, then what they share."""
    credit = plan.shared_credit()
    names = ", ".join(f"{s.name} ({f})" for s, f in zip(plan.campaigns, plan.files, strict=True))
    lines = [f"platform scenario {plan.name}: {plan.description}".rstrip(": "), f"campaigns   {names}"]
    for scenario in plan.campaigns:
        lines.append("")
        lines.extend(describe(scenario).splitlines())
    shared = {rid: holders for rid, holders in credit.holders.items() if len(holders) > 1}
    lines.append("")
    lines.append(f"shared      {len(shared)} resources count in several campaigns" + "".join(
        f"\n  {rid}: " + ", ".join(f"{name} course {cid}" for name, cid in holders)
        for rid, holders in sorted(shared.items())))
    from domain.platform import participants

    for overlap in plan.overlaps:
        both = overlap.share * participants(plan.campaign(overlap.campaign))
        lines.append(f"in both     {overlap.share:.0%} of {overlap.campaign}'s participants ({both:,.0f}) "
                     f"also take part in {overlap.also_in}: their shared study counts in both")
    if shared and not plan.overlaps:
        lines.append("in both     no overlaps stated: no teacher is in two campaigns, so no credit is shared")
    return "\n".join(lines)


def describe(scenario) -> str:
    cal, pop = scenario.calendar, scenario.population
    days = cal.window_seconds / 86400
    lines = [
        f"scenario {scenario.name}: {scenario.description}".rstrip(": "),
        f"window      {cal.start_at:%Y-%m-%d %H:%M} .. {cal.end_at:%Y-%m-%d %H:%M} "
        f"{cal.timezone} ({days:g} days)",
        f"population  {pop.teachers:,} teachers, " + (
            f"{pop.participation:.1%} take part = {pop.participants:,}"
            if pop.participation is not None else "participation an outcome of behaviour (fitted)")
        + f"; {pop.returning_share:.0%} returning (skip registration)",
        "            " + ", ".join(f"{k} {v:.1%}" for k, v in pop.sub_platforms.items())
        + "; devices " + ", ".join(f"{k} {v:.1%}" for k, v in pop.devices.items())
        + f"; {len(pop.provinces)} provinces, {pop.schools:,} schools",
        "courses",
    ]
    for course in scenario.courses:
        total = sum(r.duration_s for r in course.resources)
        lines.append(
            f"  {course.id}. {course.name} ({course.name_zh}) opens {course.opens}; "
            f"{len(course.resources)} resources, {total / 60:.0f} min; "
            f"{course.credit.hours:g} h after {course.credit.min_study_minutes:g} min + full-marks test"
        )
    rules = scenario.rules
    lines.append(
        f"rules       cap {rules.credit_cap_hours:g} h; completion {rules.completion_hours:g} h "
        f"and courses {rules.completion_courses}; certificates {rules.certificates_issued:%Y-%m-%d}"
    )
    lines.append("peak-relevant dates")
    lines.extend(f"  {day}  {what}" for day, what in _key_dates(scenario))
    tiers = ", ".join(_tier_text(t) for t in scenario.platform.tiers)
    lines.append(f"platform    {tiers}")
    return "\n".join(lines)


def _tier_text(tier) -> str:
    if tier.kind == "bandwidth":
        return f"{tier.name} {tier.capacity_gbps:g} Gbps"
    return f"{tier.name} {tier.servers} {'server' if tier.servers == 1 else 'servers'}"


def _key_dates(scenario) -> list[tuple[dt.date, str]]:
    cal, beh = scenario.calendar, scenario.behaviour
    dates = [(c.opens, f"course {c.id} opens") for c in scenario.courses]
    dates += [(w.start, f"wave '{w.name}': {w.share:.0%} over {w.days:g} days") for w in beh.waves]
    dates.append((cal.winter_break.start, f"winter break until {cal.winter_break.end}"))
    dates += [(h.start, f"{h.name} holiday until {h.end}") for h in cal.holidays]
    rush = cal.end_at - dt.timedelta(days=beh.deadline_rush.days)
    dates.append((rush.date(), f"deadline rush x{beh.deadline_rush.factor:g} begins"))
    dates.append(((cal.end_at - dt.timedelta(seconds=1)).date(), "last day of study"))
    dates.append((scenario.rules.certificates_issued.date(), "certificates issued"))
    return sorted(dates)
