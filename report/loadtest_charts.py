"""Charts of a load-test run: Locust's history, arrivals, and the model beside the measurement."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from report.data import LoadtestResults
from report.i18n import Labels

WIDE = (11, 4.2)


def throughput(data: LoadtestResults, t: Labels) -> Figure | None:
    h = data.history
    if len(h.get("Requests/s", [])) == 0:
        return None
    fig = Figure(figsize=WIDE, layout="constrained")
    ax = fig.subplots()
    ax.plot(h["elapsed_s"], h["Requests/s"], lw=1.2, label=t("requests_per_s"))
    ax.plot(h["elapsed_s"], h.get("Failures/s", np.zeros_like(h["elapsed_s"])), lw=1.2, color="#d62728",
            label=t("failures_per_s"))
    if data.prediction is not None and "rps.total" in data.prediction:
        ax.plot(data.prediction["elapsed_s"], data.prediction["rps.total"], drawstyle="steps-post", lw=1.2,
                ls="--", color="#ff7f0e", label=t("model"))
    ax.set(title=t("lt_throughput"), xlabel=t("elapsed"), ylabel=t("requests_per_s"))
    ax.set_ylim(bottom=0)
    handles, labels = ax.get_legend_handles_labels()
    if "User Count" in h and np.nanmax(h["User Count"], initial=0) > 0:  # a custom shape may report 0
        users = ax.twinx()
        line = users.plot(h["elapsed_s"], h["User Count"], lw=0.8, ls="--", color="#7f7f7f", label=t("users"))
        users.set_ylabel(t("users"))
        users.set_ylim(bottom=0)
        handles, labels = [*handles, *line], [*labels, t("users")]
    ax.legend(handles, labels, fontsize=8, loc="upper left")
    return fig


def latency(data: LoadtestResults, t: Labels) -> Figure | None:
    h = data.history
    columns = [(c, p) for c, p in (("50%", "p50"), ("95%", "p95"), ("99%", "p99")) if c in h]
    if not columns or all(np.all(np.isnan(h[c])) for c, _ in columns):
        return None
    fig = Figure(figsize=WIDE, layout="constrained")
    ax = fig.subplots()
    for (column, label), color in zip(columns, ("#2ca02c", "#ff7f0e", "#d62728"), strict=False):
        ax.plot(h["elapsed_s"], h[column], lw=1.2, color=color, label=label)
    ax.set(title=t("lt_latency"), xlabel=t("elapsed"), ylabel=t("latency_ms"))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return fig


def arrivals(data: LoadtestResults, t: Labels) -> Figure | None:
    a = data.arrivals
    if len(a.get("planned", [])) == 0:
        return None
    bins = a.get("bin", np.arange(len(a["planned"])))
    fig = Figure(figsize=WIDE, layout="constrained")
    ax = fig.subplots()
    ax.bar(bins, a["planned"], width=0.8, color="#c7dcef", label=t("planned"))
    if "achieved" in a:
        ax.plot(bins, a["achieved"], marker="o", ms=3, lw=1.2, color="#08519c", label=t("achieved"))
    ax.set(title=t("lt_arrivals"), xlabel=t("bin"), ylabel=t("arrivals_axis"))
    ax.legend(fontsize=8)
    return fig


def shared_metrics(data: LoadtestResults) -> list[tuple[str, float, float]]:
    """(metric, model, measured) for numeric metrics both summaries have, except request
    rates: the model's are full-scale over the whole run (see predicted_rates instead)."""
    if not data.model:
        return []
    model, measured = data.model.metrics, data.summary.metrics
    rows = []
    for key in sorted(set(model) & set(measured)):
        a, b = model[key], measured[key]
        if key.startswith(("mean(rps.", "peak(rps.")):
            continue
        if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool) \
                and not isinstance(b, bool):
            rows.append((key, float(a), float(b)))
    return rows


def predicted_rates(data: LoadtestResults) -> list[tuple[str, float, float]]:
    """(endpoint, model's mean requests/s over the stretch at test scale, measured)."""
    if data.prediction is None:
        return []
    rows = []
    for name, figures in data.summary.endpoints.items():
        predicted = data.prediction.get(f"rps.{name}")
        if predicted is not None and len(predicted):
            rows.append((name, float(np.mean(predicted)), float(figures.rps)))
    return rows


def model_vs_measured(data: LoadtestResults, t: Labels) -> Figure | None:
    """Requests/s per endpoint, the model's prediction beside the measurement."""
    rows = predicted_rates(data)
    if not rows:
        return None
    fig = Figure(figsize=(9, 0.45 * len(rows) + 1.6), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))
    ax.barh(y - 0.2, [r[1] for r in rows], 0.4, color="#f5b971", label=t("model"))
    ax.barh(y + 0.2, [r[2] for r in rows], 0.4, color="#08519c", label=t("measured"))
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set(title=t("lt_model"), xlabel=t("requests_per_s"))
    ax.legend(fontsize=8)
    return fig


CHARTS = {
    "loadtest_throughput": throughput,
    "loadtest_latency": latency,
    "loadtest_arrivals": arrivals,
    "loadtest_model": model_vs_measured,
}
