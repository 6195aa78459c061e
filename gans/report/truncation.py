"""The truncation trade-off figure: what truncated sampling buys and costs, per model.

Every model of a suite that samples truncated (`supports_truncation`) is sampled and evaluated
again at each value of the suite's `evaluation.truncation_sweep` (rules sample_truncated and
evaluate_truncated). The figure puts those evaluations beside the headline one (untruncated
unless the suite says otherwise): FID against IS and precision against recall, one line per
model through the truncation values, as the BigGAN paper shows the trade-off. It reads the
metrics files through the results layout; the store and the tables keep the headline metrics only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Optional

import pandas as pd
from matplotlib.axes import Axes

from gans.layout import ResultsLayout, truncating_models, truncation_label, truncation_sweep
from gans.report.figures import _palette, model_label, note, save_figure, styled_figure

SIZE = (11.0, 4.8)
METRICS = ("fid", "is_mean", "precision", "recall")
OFF = math.inf  # the untruncated evaluation sorts after every threshold
PANELS = (("is_mean", "fid", "IS (higher: more confident classes)", "FID (lower is better)"),
          ("recall", "precision", "recall (coverage of the real distribution)",
           "precision (realism of samples)"))


def _read(path: str) -> Optional[dict[str, Any]]:
    file = Path(path)
    return json.loads(file.read_text()) if file.is_file() else None


def _row(model: str, seed: int, truncation: Optional[float], record: Optional[dict[str, Any]]) -> dict[str, Any]:
    values = (record or {}).get("metrics", {}) if (record or {}).get("status") == "completed" else {}
    return {"model": model, "seed": seed, "truncation": OFF if truncation is None else float(truncation),
            **{key: values.get(key) for key in METRICS}}


def sweep_table(suite: Mapping[str, Any], results: ResultsLayout, dataset: str,
                extractor: str) -> pd.DataFrame:
    """One row per (model, seed, truncation) with FID, IS, precision, recall (None where missing):
    the sweep's metrics files and the headline one (truncation as recorded; inf = off)."""
    rows = []
    for model in truncating_models(suite):
        for seed in (int(s) for s in suite["seeds"]):
            headline = _read(results.metrics_file(dataset, extractor, model, seed))
            rows.append(_row(model, seed, ((headline or {}).get("protocol") or {}).get("truncation"),
                             headline))
            for value in truncation_sweep(suite):
                rows.append(_row(model, seed, value, _read(
                    results.truncated_metrics_file(dataset, extractor, model, seed, value))))
    frame = pd.DataFrame(rows, columns=["model", "seed", "truncation", *METRICS])
    frame[list(METRICS)] = frame[list(METRICS)].apply(pd.to_numeric, errors="coerce")
    return frame


def _label(truncation: float) -> str:
    return "off" if truncation == OFF else truncation_label(truncation)


def _draw(ax: Axes, table: pd.DataFrame, x: str, y: str, colours: Mapping[str, Any]) -> int:
    """Per model: seeds as faint dots, the mean per truncation value joined in truncation order."""
    drawn = 0
    for model, rows in table.groupby("model", sort=False):
        rows = rows.dropna(subset=[x, y])
        if rows.empty:
            continue
        means = rows.groupby("truncation")[[x, y]].mean().sort_index()
        ax.scatter(rows[x], rows[y], s=10, color=colours[model], alpha=0.3)
        ax.plot(means[x], means[y], "o-", color=colours[model], label=model_label(str(model)))
        for value, point in means.iterrows():
            ax.annotate(_label(float(value)), (point[x], point[y]), textcoords="offset points",
                        xytext=(4, 4), fontsize="small")
        drawn += 1
    return drawn


def plot_truncation_tradeoff(suite: Mapping[str, Any], results: ResultsLayout, dataset: str,
                             extractor: str, stem: Path | str) -> list[Path]:
    """FID vs IS and precision vs recall of every truncating model across the sweep."""
    table = sweep_table(suite, results, dataset, extractor)
    colours = _palette(list(dict.fromkeys(table["model"])))
    with styled_figure(SIZE) as fig:
        axes = fig.subplots(1, 2)
        for ax, (x, y, x_label, y_label) in zip(axes, PANELS):
            if not _draw(ax, table, x, y, colours):
                note(ax, f"no truncation-sweep metrics for {dataset} / {extractor}")
                continue
            ax.set_xlabel(x_label)
            ax.set_ylabel(y_label)
            ax.legend(loc="best", fontsize="small")
        values = ", ".join(truncation_label(t) for t in truncation_sweep(suite))
        fig.suptitle(f"{dataset}: truncation trade-off ({extractor} features; truncation {values} "
                     "and the headline evaluation; mean over seeds, dots: seeds)")
        return save_figure(fig, stem)


def readme_text(suite: Mapping[str, Any]) -> str:
    """The paragraph the report puts above the figure."""
    headline = suite["evaluation"].get("truncation")
    state = "untruncated" if headline is None else f"at truncation {truncation_label(headline)}"
    return (f"Truncation trade-off of {', '.join(truncating_models(suite))}: sampled again at "
            f"truncation {', '.join(truncation_label(t) for t in truncation_sweep(suite))} "
            f"(\"off\": the headline evaluation, {state}; every table reports the headline "
            "evaluation).\n")
