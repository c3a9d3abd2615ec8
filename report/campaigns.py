"""The report's section on a platform run (several campaigns on one platform).

From the ``campaigns`` section of the platform's summary.json (sim.outputs.platform): how much
each campaign adds to the shared peak, and which campaign sets each tier's need (the one whose
removal lowers the need most; the capacity it would need alone beside it). Shown by
``yanxiu report`` on a platform run's folder and by ``yanxiu compare`` for each run that has it.
"""

from __future__ import annotations

from report.headline import Table
from report.i18n import Labels
from report.numbers import amount, figure, share

WORDS = {
    "en": {"peak_title": "Campaigns: their part of the shared peak ({at}, {value} requests/s)",
           "tier_title": "Campaigns: which one sets each tier's need",
           "campaign": "campaign", "participants": "participants", "at_peak": "at the shared peak (req/s)",
           "share": "share", "alone": "own peak (req/s)", "lowered": "peak lower without it (req/s)",
           "tier": "tier", "needed": "needed", "without": "without {name}", "set_by": "set by",
           "shared_hours": "study hours also counted in {names}",
           "note": "each campaign's own results and its capacity alone: campaigns/<name>/ in this folder"},
    "zh": {"peak_title": "各专题在共同峰值中的份额（{at}，{value} 次/秒）",
           "tier_title": "各专题：哪个专题决定各层容量",
           "campaign": "专题", "participants": "参加人数", "at_peak": "共同峰值时（次/秒）",
           "share": "份额", "alone": "自身峰值（次/秒）", "lowered": "去掉后峰值降低（次/秒）",
           "tier": "层", "needed": "所需", "without": "去掉{name}", "set_by": "决定者",
           "shared_hours": "同时计入{names}的学习时长（小时）",
           "note": "各专题自身的结果与单独所需容量见本目录 campaigns/<专题>/"},
}


def _words(t: Labels) -> dict[str, str]:
    return WORDS.get(t.lang, WORDS["en"])


def tables(summary, t: Labels, label: str = "") -> list[Table]:
    """The two tables of a platform run (none for a single campaign's run)."""
    section = summary.get("campaigns") if isinstance(summary, dict) else getattr(summary, "campaigns", None)
    if section is not None and hasattr(section, "model_dump"):  # records.model.Campaigns
        section = section.model_dump()
    if not isinstance(section, dict) or not section.get("each"):
        return []
    w = _words(t)
    prefix = f"{label}: " if label else ""
    peak, each = section["peak"], section["each"]
    rows = []
    for name, part in peak["by_campaign"].items():
        hours = each.get(name, {}).get("shared_study_hours", {})
        rows.append([name, figure(each.get(name, {}).get("participants")), figure(part["at_peak"]),
                     share(part["share_at_peak"]), figure(part["peak_alone"]),
                     figure(part["peak_lowered_without"]),
                     ", ".join(f"{other} {figure(h)}" for other, h in hours.items() if h) or "–"])
    header = [w["campaign"], w["participants"], w["at_peak"], w["share"], w["alone"], w["lowered"],
              w["shared_hours"].format(names="…")]
    title = prefix + w["peak_title"].format(at=str(peak.get("at", ""))[:16].replace("T", " "),
                                            value=figure(peak["value"]))
    first = Table(title, header, rows, note=w["note"])
    names = list(each)
    tier_rows = []
    for tier, need in section["tiers"].items():
        unit = need.get("unit", "")
        tier_rows.append([tier, amount(need["needed"], unit, t)]
                         + [amount(need["needed_without"].get(n), unit, t) for n in names]
                         + [need["set_by"]])
    tier_header = [w["tier"], w["needed"]] + [w["without"].format(name=n) for n in names] + [w["set_by"]]
    return [first, Table(prefix + w["tier_title"], tier_header, tier_rows)]
