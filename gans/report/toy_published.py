"""Our toy 2-D results beside the published ones of the same protocol.

The published numbers (toy_published.yaml, shipped with the package) are data with their
sources; a suite that names a toy protocol (evaluation.toy_protocol) gets, per toy dataset, a
table of its models' modes captured, high-quality share and reverse KL as mean +- standard error
over its seeds (the toy papers' convention), followed by every published row of that protocol and
dataset, and a figure with our seeds as dots, our mean +- s.e. and the published values of the
same methods beside them. Published numbers are never averaged or ranked with ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import yaml

from gans.layout import TOY_EXTRACTOR
from gans.metrics.toy import toy_protocol
from gans.report import tables
from gans.report.roadmap import REAL, roadmap_order
from gans.report.stats import MeanError, mean_standard_error
from gans.suite import steps_for, toy_protocol_for

PUBLISHED_FILE = "toy_published.yaml"
# (metric key, column label, published field, scale of our values to the published unit)
COLUMNS = (("modes_covered", "Modes captured", "modes", 1.0),
           ("high_quality_share", "HQ (%)", "hq", 100.0),
           ("reverse_kl", "Reverse KL", "reverse_kl", 1.0))
NO_VALUE = "—"


@dataclass(frozen=True)
class PublishedRow:
    """One published result: a method on a dataset under a source's protocol and setup."""

    source: str
    protocol: str
    setup: str
    iterations: int
    runs: int
    dataset: str
    model: str
    ours: Optional[str]
    values: Mapping[str, tuple[Optional[float], Optional[float]]]  # field -> (value, s.e.)


def load_published() -> list[PublishedRow]:
    """Every published row of toy_published.yaml."""
    text = resources.files("gans.report").joinpath(PUBLISHED_FILE).read_text(encoding="utf-8")
    rows = []
    for source in yaml.safe_load(text)["sources"]:
        for result in source["results"]:
            values = {field: (result.get(field), result.get(f"{field}_se")) for _, _, field, _ in COLUMNS}
            rows.append(PublishedRow(source["source"], source["protocol"], source["setup"],
                                     int(source["iterations"]), int(source["runs"]),
                                     result["dataset"], result["model"], result.get("ours"), values))
    return rows


def published_for(protocol: str, dataset: str) -> list[PublishedRow]:
    return [row for row in load_published() if row.protocol == protocol and row.dataset == dataset]


def format_published(value: Optional[float], se: Optional[float]) -> str:
    """A published number as its source printed it: "6.3 ± 0.5", "99.3"."""
    if value is None:
        return NO_VALUE
    return f"{value:g}" if se is None else f"{value:g} ± {se:g}"


def format_mean_error(value: Optional[float], se: Optional[float]) -> str:
    """"6.3 ± 0.5" (two significant digits of the error), the value alone without an error."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return NO_VALUE
    if se is None or se == 0:
        return f"{value:.3g}"
    decimals = max(0, 1 - int(np.floor(np.log10(se))))
    return f"{value:.{decimals}f} ± {se:.{decimals}f}"


def our_errors(store: pd.DataFrame, dataset: str, model: str) -> dict[str, MeanError]:
    """metric -> mean and s.e. over the seeds of one model (scaled to the published units)."""
    rows = store[(store["dataset"] == dataset) & (store["extractor"] == TOY_EXTRACTOR)
                 & (store["model"] == model)]
    out = {}
    for key, _, _, scale in COLUMNS:
        values = [v * scale for v in rows.loc[rows["metric"] == key, "value"].dropna().tolist()]
        out[key] = mean_standard_error(values)
    return out


def comparison_table(suite: Mapping[str, Any], store: pd.DataFrame, dataset: str) -> tables.Table:
    """Our models (and the real floor) as mean ± s.e. over seeds, then the published rows of the
    suite's protocol on this dataset."""
    protocol = toy_protocol_for(suite)
    records = []
    models = roadmap_order([m for m in suite["models"]]) + [REAL]
    for model in models:
        errors = our_errors(store, dataset, model)
        n = max(e.n for e in errors.values())
        steps = "—" if model == REAL else str(steps_for(suite, model))
        records.append({"Method": tables.FLOOR_LABEL if model == REAL else model,
                        "Source": f"this suite ({suite['name']})", "Iterations": steps, "Runs": str(n),
                        **{label: format_mean_error(errors[key].mean, errors[key].se)
                           for key, label, _, _ in COLUMNS}})
    published = published_for(protocol, dataset)
    for row in published:
        records.append({"Method": row.model, "Source": row.source, "Iterations": str(row.iterations),
                        "Runs": str(row.runs),
                        **{label: format_published(*row.values[field]) for _, label, field, _ in COLUMNS}})
    text = pd.DataFrame(records, columns=["Method", "Source", "Iterations", "Runs",
                                          *(label for _, label, _, _ in COLUMNS)])
    latex = text.apply(lambda c: c.map(tables.latex_escape)).rename(columns=tables.latex_escape)
    caption = [
        f"Scored under the {toy_protocol(protocol).rule}.",
        "Ours: mean ± standard error over the seeds that gave a number (Runs), at the suite's "
        "final step; HQ = high-quality share in percent. Published rows: as printed by their "
        "source, under the same protocol, with their own setup and budget (below); a number "
        "without ± has no error in its source.",
        *sorted({f"{row.source}: {row.setup}." for row in published}),
    ]
    if not published:
        caption.append(f"No published numbers are recorded for the {protocol} protocol on {dataset}.")
    return tables.Table(text, latex, caption)


def plot_comparison(suite: Mapping[str, Any], store: pd.DataFrame, dataset: str,
                    stem: Path | str) -> list[Path]:
    """Modes captured and HQ share per model: our seeds as dots, our mean ± s.e., and the
    published values of the same method under the same protocol as labelled stars beside them."""
    from gans.report.figures import model_label, note, save_figure, styled_figure

    protocol = toy_protocol_for(suite)
    models = roadmap_order(list(suite["models"]))
    published = [row for row in published_for(protocol, dataset) if row.ours in models]
    with styled_figure((10.0, 4.2)) as fig:
        axes = fig.subplots(1, 2)
        for ax, (key, label, field, scale) in zip(axes, COLUMNS[:2]):
            drawn = False
            for x, model in enumerate(models):
                rows = store[(store["dataset"] == dataset) & (store["extractor"] == TOY_EXTRACTOR)
                             & (store["model"] == model) & (store["metric"] == key)]
                seeds = rows["value"].dropna().to_numpy() * scale
                error = mean_standard_error(seeds.tolist())
                if error.mean is None:
                    continue
                ax.scatter(np.full(len(seeds), x - 0.1) + np.linspace(-0.06, 0.06, len(seeds)), seeds,
                           s=12, color="grey", alpha=0.6, zorder=2)
                ax.errorbar(x - 0.1, error.mean, yerr=error.se, fmt="o", color="tab:blue", capsize=4,
                            zorder=3, label="ours: mean ± s.e. (dots: seeds)" if not drawn else None)
                drawn = True
            for i, row in enumerate(published):
                value, se = row.values[field]
                if value is None:
                    continue
                x = models.index(row.ours) + 0.15 + 0.08 * (i % 2)
                ax.errorbar(x, value, yerr=se, fmt="*", color="tab:red", markersize=10, capsize=3, zorder=3)
                ax.annotate(row.source.split(" (")[0], (x, value), textcoords="offset points",
                            xytext=(6, -3), fontsize="x-small", color="tab:red")
            if not drawn and not published:
                note(ax, f"no {label} values for {dataset}")
                continue
            ax.set_xticks(range(len(models)), [model_label(m) for m in models])
            ax.set_xlim(-0.6, len(models) - 0.1)
            ax.set_ylabel(label)
            if drawn:
                ax.legend(loc="best", fontsize="x-small")
        fig.suptitle(f"{dataset}: ours beside the published numbers of the {protocol} protocol "
                     f"(red stars: published, same method)")
        return save_figure(fig, stem)
