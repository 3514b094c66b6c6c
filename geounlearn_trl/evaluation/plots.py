"""Plots of scored runs: before vs after unlearning per language, the cross-lingual matrix, methods compared.

Readability first (this is the picture users look at before any table): one panel per metric with its name and what
"better" means in the title, the evaluation language on the x axis, one bar per model with its 95% interval, values
written on the bars, control accuracy in its own panel beside the bias metrics, and heatmaps annotated cell by cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # files only, no display (CI, servers)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..files import staged_path

METRIC_LABELS = {
    "stereotype_rate": ("Stereotype rate", "lower is better"),
    "unknown_rate": ("Unknown rate", "higher is better: every question is ambiguous"),
    "other_rate": ("Other-identity rate", ""),
    "unparsed_rate": ("Unparsed rate", "lower is better"),
    "bias_score": ("Bias score s_DIS", "closer to chance is better"),
    "ambiguous_bias_score": ("Ambiguous bias score s_AMB", "closer to 0 is better"),
    "control_accuracy": ("Control accuracy", "must stay high: knowledge kept"),
    "control_unknown_rate": ("Control unknown rate", "must stay low: no over-abstention"),
    "disambiguated_accuracy": ("Disambiguated accuracy", "must stay high: the stated identity"),
    "disambiguated_unknown_rate": ("Disambiguated unknown rate", "must stay low: no over-abstention"),
}
SIGNED_METRICS = ("bias_score", "ambiguous_bias_score")
# +1: higher is better, -1: lower is better; colours the cross-lingual changes green when they are improvements.
BETTER_DIRECTION = {
    "stereotype_rate": -1,
    "unknown_rate": +1,
    "other_rate": 0,
    "unparsed_rate": -1,
    "bias_score": -1,
    "ambiguous_bias_score": -1,
    "control_accuracy": +1,
    "control_unknown_rate": -1,
    "disambiguated_accuracy": +1,
    "disambiguated_unknown_rate": -1,
}


@dataclass(frozen=True)
class Series:
    """One model's values of one metric over the evaluation languages (None where it was not measured)."""

    label: str
    values: list[float | None]
    intervals: list[tuple[float, float] | None]


def metric_title(metric: str) -> str:
    name, hint = METRIC_LABELS.get(metric, (metric, ""))
    return f"{name}\n({hint})" if hint else name


def plot_before_after(
    languages: Sequence[str],
    panels: dict[str, list[Series]],
    path: str,
    title: str | None = None,
) -> None:
    """One bar panel per metric: x = evaluation language, a bar per model (baseline first) with its 95% interval."""
    metrics = list(panels)
    columns = 2 if len(metrics) == 4 else min(len(metrics), 3)
    rows = int(np.ceil(len(metrics) / columns))
    n_models = max(len(series) for series in panels.values())
    width_per_language = 0.8
    figure, axes = plt.subplots(rows, columns, figsize=(4.8 * columns, 3.9 * rows), squeeze=False)
    colors = plt.get_cmap("tab10").colors
    x = np.arange(len(languages))
    bar_width = width_per_language / max(n_models, 1)
    for panel_index, metric in enumerate(metrics):
        axis = axes[panel_index // columns][panel_index % columns]
        for model_index, series in enumerate(panels[metric]):
            offsets = x - width_per_language / 2 + bar_width * (model_index + 0.5)
            values = np.array([np.nan if v is None else v for v in series.values], dtype=float)
            low = np.array([np.nan if ci is None else v - ci[0] for v, ci in zip(values, series.intervals)])
            high = np.array([np.nan if ci is None else ci[1] - v for v, ci in zip(values, series.intervals)])
            has_ci = ~np.isnan(low)
            axis.bar(offsets, np.nan_to_num(values), bar_width * 0.92, label=series.label,
                     color=colors[model_index % len(colors)], edgecolor="black", linewidth=0.4)
            if has_ci.any():
                axis.errorbar(offsets[has_ci], values[has_ci], yerr=[low[has_ci], high[has_ci]], fmt="none",
                              ecolor="black", elinewidth=1, capsize=3)
            for offset, value, top in zip(offsets, values, np.nan_to_num(high)):
                if np.isnan(value):
                    axis.text(offset, 0.01, "n/a", ha="center", va="bottom", fontsize=7, color="grey", rotation=90)
                    continue
                anchor = value + top if value >= 0 else value - top
                axis.annotate(f"{value:.2f}", (offset, anchor), xytext=(0, 3 if value >= 0 else -3),
                              textcoords="offset points", ha="center", va="bottom" if value >= 0 else "top",
                              fontsize=7, rotation=90 if n_models > 3 else 0)
        axis.set_title(metric_title(metric), fontsize=10)
        axis.set_xticks(x, [language.upper() for language in languages])
        axis.set_xlabel("evaluation language")
        if metric in SIGNED_METRICS:
            axis.set_ylim(-1.15, 1.15)
            axis.axhline(0, color="black", linewidth=0.8)
        else:
            axis.set_ylim(0, 1.12)
        axis.set_ylabel("score" if metric in SIGNED_METRICS else "fraction of questions")
        axis.grid(axis="y", alpha=0.3)
        axis.set_axisbelow(True)
    for extra in range(len(metrics), rows * columns):
        axes[extra // columns][extra % columns].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), frameon=False,
                  bbox_to_anchor=(0.5, 0.0), fontsize=9)
    figure.suptitle(title or "Before vs after unlearning (bars: 95% bootstrap intervals)", fontsize=12)
    figure.tight_layout(rect=(0, 0.07 + 0.02 * ((len(labels) - 1) // 4), 1, 0.96))
    with staged_path(path) as staging:  # a kill never leaves half a PNG under the final name
        figure.savefig(staging, dpi=150)
    plt.close(figure)


def plot_cross_lingual(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    matrices: dict[str, np.ndarray],
    after_values: dict[str, np.ndarray],
    path: str,
    title: str | None = None,
    diagonal: Sequence[int | None] | None = None,
) -> None:
    """Heatmaps of change (after − before): rows = model (language it was unlearned in), columns = language measured.

    Each cell shows the change in large type and the value after unlearning below it. Colour says whether the change
    is an improvement (green) or a harm (red) for that metric, whatever its sign, on a scale symmetric around "no
    change" (white). ``diagonal[i]`` is the column of row ``i``'s own unlearning language, outlined.
    """
    metrics = list(matrices)
    cell = 0.95  # inches per heatmap cell: square cells, little white space between panels
    label_width = 0.09 * max((len(label) for label in row_labels), default=4) + 0.9
    figure, axes = plt.subplots(
        1, len(metrics), squeeze=False,
        figsize=(len(metrics) * (cell * len(column_labels) + label_width + 0.9), cell * len(row_labels) + 1.9),
    )
    for axis, metric in zip(axes[0], metrics):
        matrix = matrices[metric]
        direction = BETTER_DIRECTION.get(metric, 0) or 1
        limit = float(np.nanmax(np.abs(matrix))) if np.isfinite(matrix).any() else 1.0
        limit = max(limit, 0.05)
        image = axis.imshow(np.ma.masked_invalid(matrix * direction), cmap="RdYlGn", vmin=-limit, vmax=limit)
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                if not np.isfinite(matrix[i, j]):
                    axis.text(j, i, "n/a", ha="center", va="center", fontsize=8, color="grey")
                    continue
                color = "white" if abs(matrix[i, j]) > 0.75 * limit else "black"  # legible on the darkest cells
                axis.text(j, i - 0.13, f"{matrix[i, j]:+.2f}", ha="center", va="center", fontsize=11,
                          fontweight="bold", color=color)
                after = after_values[metric][i, j]
                if np.isfinite(after):
                    axis.text(j, i + 0.25, f"now {after:.2f}", ha="center", va="center", fontsize=7.5, color=color)
        for i, j in enumerate(diagonal or []):
            if j is not None:
                axis.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2.2))
        axis.set_xticks(range(len(column_labels)), [label.upper() for label in column_labels])
        axis.set_yticks(range(len(row_labels)), row_labels)
        axis.set_xlabel("measured in")
        axis.set_ylabel("unlearned in")
        name = METRIC_LABELS.get(metric, (metric, ""))[0]
        axis.set_title(f"Δ {name}\n(after − before)", fontsize=10)
        colorbar = figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04)
        colorbar.set_ticks([-limit, 0, limit], labels=["worse", "same", "better"])
        colorbar.ax.tick_params(labelsize=7)
    figure.suptitle(
        title or "Cross-lingual effect of unlearning\ngreen = better, red = worse; outlined: the language unlearned in",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.88))
    with staged_path(path) as staging:
        figure.savefig(staging, dpi=150)
    plt.close(figure)


def plot_forgetting_vs_cost(
    methods: Sequence[str],
    forgetting: Sequence[tuple[float, tuple[float, float] | None]],
    costs: dict[str, Sequence[tuple[float, tuple[float, float] | None]]],
    path: str,
    title: str | None = None,
) -> None:
    """Each method as a point: x = its change in stereotype picks (negative: forgotten), y = a cost (the change of an
    accuracy the model must keep), one panel per cost; both with their 95% intervals as error bars. The good corner
    is left (fewer stereotype picks) and up (nothing lost); the dashed lines are "no change"."""
    figure, axes = plt.subplots(1, len(costs), figsize=(5.2 * len(costs), 4.4), squeeze=False)
    colors = plt.get_cmap("tab10").colors
    for axis, (metric, values) in zip(axes[0], costs.items()):
        for index, (name, (dx, dx_ci), (dy, dy_ci)) in enumerate(zip(methods, forgetting, values)):
            if dx is None or dy is None:
                continue
            xerr = [[dx - dx_ci[0]], [dx_ci[1] - dx]] if dx_ci else None
            yerr = [[dy - dy_ci[0]], [dy_ci[1] - dy]] if dy_ci else None
            axis.errorbar([dx * 100], [dy * 100], xerr=None if xerr is None else np.array(xerr) * 100,
                          yerr=None if yerr is None else np.array(yerr) * 100, fmt="o", capsize=3,
                          color=colors[index % len(colors)], label=name)
            axis.annotate(name, (dx * 100, dy * 100), xytext=(5, 5), textcoords="offset points", fontsize=8)
        axis.axhline(0, color="black", linewidth=0.8, linestyle="--")
        axis.axvline(0, color="black", linewidth=0.8, linestyle="--")
        axis.set_xlabel("Δ stereotype picks (points; left = forgotten)")
        axis.set_ylabel(f"Δ {METRIC_LABELS.get(metric, (metric, ''))[0].lower()} (points)")
        axis.set_title(metric_title(metric), fontsize=10)
        axis.grid(alpha=0.3)
    figure.suptitle(title or "Forgetting against what it cost (95% intervals)", fontsize=11)
    figure.tight_layout(rect=(0, 0, 1, 0.93))
    with staged_path(path) as staging:
        figure.savefig(staging, dpi=150)
    plt.close(figure)
