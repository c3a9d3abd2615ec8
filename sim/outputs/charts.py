"""Charts of a model run (PNG, matplotlib's Agg backend, no display needed).

- ``load.png``: requests/s over the whole window (hourly mean and per-minute peak), with
  course openings, holidays and the winter break shaded, and the deadline marked;
- ``heatmap.png``: mean requests/s by day x hour of day;
- ``funnel.png``: registered -> studied -> tests passed (all courses) -> certified, by day.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.outputs import outcomes  # noqa: E402

COLOURS = {"opening": "tab:green", "holiday": "tab:orange", "deadline": "tab:red"}


def _times(run, count: int, step_s: float) -> np.ndarray:
    base = np.datetime64(run.campaign.start_at.replace(tzinfo=None), "s")
    return base + (np.arange(count) * step_s).astype("timedelta64[s]")


def _at(run, offset_s: float) -> np.datetime64:
    return np.datetime64(run.campaign.start_at.replace(tzinfo=None), "s") + np.timedelta64(
        int(offset_s), "s")


def load_chart(run, series: dict[str, np.ndarray], path: Path) -> None:
    total = series["rps.total"]
    hours = total.size // 60
    hourly = total[: hours * 60].reshape(hours, 60)
    fig, ax = plt.subplots(figsize=(14, 5))
    x = _times(run, hours, 3600.0)
    ax.fill_between(x, hourly.max(axis=1), color="tab:blue", alpha=0.25, lw=0,
                    label="busiest minute of the hour")
    ax.plot(x, hourly.mean(axis=1), color="tab:blue", lw=0.8, label="hourly mean")
    for mark in run.profile.markers():
        colour = COLOURS.get(mark.kind, "grey")
        if mark.until_s is not None:
            ax.axvspan(_at(run, mark.offset_s), _at(run, mark.until_s), color=colour, alpha=0.12)
            ax.text(_at(run, mark.offset_s), 0.98, mark.label, transform=ax.get_xaxis_transform(),
                    fontsize=7, va="top", rotation=90, color=colour)
        else:
            ax.axvline(_at(run, mark.offset_s), color=colour, lw=1, ls="--")
            ax.text(_at(run, mark.offset_s), 0.98, mark.label, transform=ax.get_xaxis_transform(),
                    fontsize=7, va="top", rotation=90, color=colour)
    ax.set_ylabel("requests/s (full scale)")
    ax.set_title(f"{run.scenario.name}: load over the campaign "
                 f"({run.population.teachers:,} teachers)")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    ax.legend(loc="upper left", fontsize=8)
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def heatmap(run, series: dict[str, np.ndarray], path: Path) -> None:
    total = series["rps.total"][: run.profile.window_minutes]
    lead = int(run.recorder.day0_s // 60)  # minutes of the first day before the window
    padded = np.concatenate((np.full(lead, np.nan), total))
    days = int(np.ceil(padded.size / 1440))
    padded = np.concatenate((padded, np.full(days * 1440 - padded.size, np.nan)))
    grid = np.nanmean(padded.reshape(days, 24, 60), axis=2)
    fig, ax = plt.subplots(figsize=(12, max(4, days * 0.09)))
    image = ax.imshow(grid, aspect="auto", cmap="viridis", interpolation="nearest")
    labels = outcomes.daily(run)["day"]
    step = max(1, days // 20)
    ax.set_yticks(range(0, days, step), [labels[i] for i in range(0, days, step)], fontsize=7)
    ax.set_xticks(range(24))
    ax.set_xlabel("hour of day (local)")
    ax.set_title("mean requests/s by day and hour")
    fig.colorbar(image, ax=ax, label="requests/s")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def funnel(run, path: Path) -> None:
    cols = outcomes.daily(run)
    x = np.array(cols["day"], dtype="datetime64[D]")
    fig, ax = plt.subplots(figsize=(12, 5))
    for key, label in (("registered", "registered"), ("studied", "studied"),
                       ("completed_all", "tests passed (all courses, hours credited)"),
                       ("certified", "certified")):
        ax.plot(x, cols[key], label=label)
    ax.axvline(_at(run, run.profile.window_s).astype("datetime64[D]"), color="tab:red", ls="--",
               lw=1, label="window closes")
    ax.set_ylabel("teachers (full scale)")
    ax.set_title("completion funnel")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_all(run, series: dict[str, np.ndarray], out_dir: Path) -> list[Path]:
    paths = [out_dir / "load.png", out_dir / "heatmap.png", out_dir / "funnel.png"]
    load_chart(run, series, paths[0])
    heatmap(run, series, paths[1])
    funnel(run, paths[2])
    return paths
