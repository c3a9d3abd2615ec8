"""The report of an open-workload queueing experiment (a ``workload:`` scenario run by
``yanxiu run``): per tier, every measured figure's mean over replications with its 95%
confidence interval beside the queueing-theory value (Erlang C for one exponential class,
Allen-Cunneen otherwise: ``sim.tiers.platform``), and the replications drawn against it."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from report.data import WorkloadResults
from report.headline import Card, Table, number
from report.i18n import Labels

# (summary key, label key, scale to the shown unit, unit)
FIGURES = (("utilisation", "utilisation_axis", 100.0, "%"), ("mean_wait_s", "mean_wait", 1000.0, "ms"),
           ("mean_response_s", "mean_response", 1000.0, "ms"), ("mean_in_system", "in_system", 1.0, ""),
           ("p50_s", "p50", 1000.0, "ms"), ("p95_s", "p95", 1000.0, "ms"), ("p99_s", "p99", 1000.0, "ms"))
CHARTED = ("mean_wait_s", "p95_s")


def _shown(value: object, scale: float, unit: str) -> str:
    if not isinstance(value, int | float):
        return "–"
    return f"{number(value * scale, 4)}{' ' + unit if unit and unit != '%' else unit}"


def title_meta(data: WorkloadResults, t: Labels) -> tuple[str, str]:
    s = data.summary
    meta = (f"{data.folder} · seed {s.seed} · Poisson {number(s.rate_per_s)}/s "
            f"→ {s.endpoint} · {s.replications} {t('replications')}")
    return t("title_workload", name=s.scenario), meta


def cards(data: WorkloadResults, t: Labels) -> list[Card]:
    out = []
    for tier, figures in data.summary.tiers.items():
        for key, label, scale, unit in FIGURES[:2]:
            f = figures.get(key)
            if f is None:
                continue
            detail = f"{t('theory')} {_shown(f.theory, scale, unit)}"
            out.append(Card(f"{tier}: {t(label)}", _shown(f.mean, scale, unit), detail,
                            bad=f.theory_in_ci95 is False))
    return out


def tables(data: WorkloadResults, t: Labels) -> list[Table]:
    header = [t("metric"), t("measured"), t("ci95"), t("theory"), t("relative_error"), t("theory_in_ci")]
    out = []
    for tier, figures in data.summary.tiers.items():
        rows: list[list[str]] = []
        bad: set[int] = set()  # rows to mark
        for key, label, scale, unit in FIGURES:
            f = figures.get(key)
            if f is None:
                continue
            lo, hi = f.ci95
            error, covered = f.relative_error, f.theory_in_ci95
            if covered is False:
                bad.add(len(rows))
            rows.append([t(label), _shown(f.mean, scale, unit),
                         f"[{_shown(lo, scale, unit)}, {_shown(hi, scale, unit)}]",
                         _shown(f.theory, scale, unit),
                         f"{error:+.2%}" if isinstance(error, int | float) else "–",
                         "–" if covered is None else (t("yes") if covered else t("no"))])
        out.append(Table(t("workload_tier", name=tier), header, rows, bad))
    return out


def replications(data: WorkloadResults, t: Labels) -> Figure | None:
    """Each replication's mean wait and p95 per tier, the 95% interval and the theory."""
    tiers = [tier for tier in data.summary.tiers if data.runs.get(tier)]
    if not tiers:
        return None
    fig = Figure(figsize=(11, 2.4 * len(tiers) + 0.8), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(tiers), len(CHARTED), squeeze=False))
    for row, tier in zip(axes, tiers, strict=True):
        for ax, key in zip(row, CHARTED, strict=True):
            values = data.runs[tier].get(key)
            f = data.summary.tiers[tier].get(key)
            if values is None or not values.size or f is None:
                ax.set_axis_off()
                continue
            ax.plot(np.arange(values.size), values * 1000.0, "o", ms=4, color="#1f77b4",
                    label=t("replication_values"))
            lo, hi = f.ci95
            ax.axhspan(lo * 1000.0, hi * 1000.0, color="#1f77b4", alpha=0.15, label=t("ci95"))
            if f.theory is not None:
                ax.axhline(f.theory * 1000.0, color="#d62728", lw=1.2, label=t("theory"))
            label = dict((k, lab) for k, lab, _, _ in FIGURES)[key]
            ax.set_title(f"{tier}: {t(label)}", fontsize=9, loc="left")
            ax.set(xlabel=t("replication"), ylabel="ms")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(fontsize=7, loc="upper right")
    return fig


CHARTS = {"workload_replications": replications}
