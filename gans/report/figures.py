"""Figures of a suite: progression, precision-recall, quality vs time, training curves, samples.

Every figure is drawn on a pyplot-free matplotlib Figure (Agg canvas, no global backend or
theme changes) at DPI dots per inch with a fixed size, and saved as PNG and SVG. A figure with
nothing to show is still written, with a note saying why, so the set of files never changes.
"""

from __future__ import annotations

import io
import math
import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from matplotlib.transforms import blended_transform_factory
from PIL import Image

from gans.grid import tile_images
from gans.io import load_torch, write_atomic
from gans.layout import ResultsLayout
from gans.metrics import registry
from gans.report.layout import headline_for
from gans.report.phases import mark_phases
from gans.report.roadmap import REAL, model_year, roadmap_order
from gans.report.stats import Interval, class_count, describe, seed_interval
from gans.report.store import COST_EXTRACTOR

DPI = 100
STYLE = {**sns.axes_style("whitegrid"), **sns.plotting_context("notebook", font_scale=0.75),
         "svg.hashsalt": "gan-roadmap-bench", "svg.fonttype": "none"}

PROGRESSION_SIZE = (8.0, 4.5)
PRECISION_RECALL_SIZE = (6.0, 5.5)
QUALITY_VS_TIME_SIZE = (7.0, 5.0)
CURVE_PANEL = (4.0, 3.0)
SAMPLE_PANEL = (2.8, 3.1)
TOY_PANEL = (3.0, 3.2)
CLASS_CELL_IN = 0.4
MAX_COLUMNS = {"curves": 3, "samples": 4, "toy": 4}
GRID_SAMPLES = 64
TOY_POINTS = 2000
MAX_CURVE_POINTS = 600
TITLE_CHARACTERS = 80  # per title line: fits the 6-inch precision-recall figure


# --------------------------------------------------------------------------- shared helpers
@contextmanager
def styled_figure(size: tuple[float, float]) -> Iterator[Figure]:
    with matplotlib.rc_context(STYLE):
        yield Figure(figsize=size, dpi=DPI, layout="constrained")


def save_figure(fig: Figure, stem: Path | str) -> list[Path]:
    """stem.png and stem.svg, each written atomically."""
    with matplotlib.rc_context(STYLE):
        png = write_atomic(f"{stem}.png", lambda tmp: write_small_png(fig, tmp))
        fig.set_layout_engine("none")  # keep the layout just computed: the SVG needs no second pass
        svg = write_atomic(f"{stem}.svg", lambda tmp: fig.savefig(tmp, format="svg",
                                                                  metadata={"Date": None}))
    return [png, svg]


def write_small_png(fig: Figure, path: Path) -> None:
    """The PNG as 8-bit greyscale when the figure has no colour, else with a 256-colour
    palette: a fraction of matplotlib's RGBA size, no visible difference for these figures."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    image = Image.open(buffer).convert("RGB")
    pixels = np.asarray(image)
    grey = bool((pixels == pixels[..., :1]).all())
    small = image.convert("L") if grey else image.quantize(colors=256)
    small.save(path, format="png", optimize=True)


def note(ax: Axes, text: str) -> None:
    """A centred message on an otherwise empty panel."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def model_label(model: str) -> str:
    year = model_year(model)
    return "real (floor)" if model == REAL else f"{model} ({year})" if year else model


def panel_grid(fig: Figure, n: int, max_columns: int) -> list[Axes]:
    columns = max(1, min(max_columns, n))
    rows = max(1, math.ceil(n / columns))
    axes = fig.subplots(rows, columns, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_axis_off()
    return axes[:n] if n else axes[:1]


def grid_size(n: int, max_columns: int, panel: tuple[float, float]) -> tuple[float, float]:
    """Figure size of n panels of `panel` inches in rows of at most `max_columns`."""
    columns = max(1, min(max_columns, n))
    return (columns * panel[0], max(1, math.ceil(n / columns)) * panel[1])


def metric_by_model(store: pd.DataFrame, dataset: str, extractor: str,
                    metric: str) -> dict[str, pd.DataFrame]:
    """Rows of one metric per model (roadmap order), for one dataset and extractor."""
    rows = store[(store["dataset"] == dataset) & (store["extractor"] == extractor)
                 & (store["metric"] == metric)]
    return {m: rows[rows["model"] == m] for m in roadmap_order(rows["model"].dropna())}


def _interval(rows: Optional[pd.DataFrame], metric: str, num_classes: Optional[int] = None) -> Interval:
    """The seeds' interval of one model's values of `metric`, within the metric's domain."""
    values = [] if rows is None else rows["value"].tolist()
    return seed_interval(values, registry.domain(metric), num_classes)


def error_bar(interval: Interval) -> Optional[list[list[float]]]:
    """An asymmetric xerr/yerr ([[below], [above]]) reaching the interval's lo and hi, which may
    sit unevenly around the mean (a range, a clipped interval); None without an interval."""
    if not interval.has_interval:
        return None
    return [[max(0.0, interval.mean - interval.lo)], [max(0.0, interval.hi - interval.mean)]]


def bars_text(intervals: Sequence[Interval], more: str = "") -> str:
    """The title line that says what the error bars show, "(bars: mean and range (min–max) over
    the 2 seeds)", wrapped to fit the narrowest figure (several methods make a long line)."""
    return textwrap.fill(f"(bars: {describe(intervals)}{more})", TITLE_CHARACTERS)


def _status_text(rows: pd.DataFrame) -> str:
    statuses = sorted(set(rows["status"].dropna()))
    return "/".join(statuses) if statuses else "missing"


def _palette(models: Sequence[str]) -> dict[str, Any]:
    return dict(zip(models, sns.color_palette("tab10" if len(models) <= 10 else "husl", len(models))))


# --------------------------------------------------------------------------- metric figures
def plot_progression(store: pd.DataFrame, dataset: str, extractor: str, stem: Path | str) -> list[Path]:
    """The headline metric (FID; modes covered on toy data) per model along the roadmap, with
    bars over seeds (stats.seed_interval: their range, or a clipped Student-t interval from 5
    seeds), each seed as a dot, and the real-vs-real floor as a line."""
    headline = headline_for(extractor)
    by_model = metric_by_model(store, dataset, extractor, headline.metric)
    floor = by_model.pop(REAL, None)
    num_classes = class_count(dataset, extractor)
    with styled_figure(PROGRESSION_SIZE) as fig:
        ax = fig.subplots()
        if not by_model:
            note(ax, f"no {headline.label} values in the store for {dataset} / {extractor}")
            return save_figure(fig, stem)
        text_y = blended_transform_factory(ax.transData, ax.transAxes)
        drawn = []
        for x, (model, rows) in enumerate(by_model.items()):
            interval = _interval(rows, headline.metric, num_classes)
            if interval.mean is None:
                ax.text(x, 0.05, _status_text(rows), rotation=90, ha="center", va="bottom",
                        transform=text_y, color="firebrick")
                continue
            seeds = rows["value"].dropna().to_numpy()
            ax.scatter(np.full(len(seeds), x) + np.linspace(-0.12, 0.12, len(seeds)), seeds,
                       s=12, color="grey", alpha=0.6, zorder=2)
            ax.errorbar(x, interval.mean, yerr=error_bar(interval), fmt="o", color="tab:blue",
                        capsize=4, markersize=7, zorder=3)
            drawn.append(interval)
            if not interval.has_interval:
                ax.annotate("1 seed", (x, interval.mean), textcoords="offset points",
                            xytext=(8, -3), fontsize="small", color="dimgrey")
        floor_mean = _interval(floor, headline.metric, num_classes).mean
        if floor_mean is not None:
            ax.axhline(floor_mean, ls="--", color="black", lw=1,
                       label=f"real vs real floor ({floor_mean:.3g})")
            ax.legend(loc="best")
        ax.set_xticks(range(len(by_model)),
                      [f"{m}\n{model_year(m) or ''}" for m in by_model])
        ax.set_xlim(-0.6, len(by_model) - 0.4)
        better = "lower" if headline.lower_is_better else "higher"
        ax.set_ylabel(f"{headline.label} ({extractor} features; {better} is better)")
        ax.set_title(f"{dataset}: {headline.label} along the roadmap\n"
                     + bars_text(drawn, "; dots: seeds"))
        return save_figure(fig, stem)


def plot_precision_recall(store: pd.DataFrame, dataset: str, extractor: str,
                          stem: Path | str) -> list[Path]:
    """Precision against recall per model: seeds as faint dots, the mean with bars over seeds
    (stats.seed_interval), inside [0, 1]."""
    precision = metric_by_model(store, dataset, extractor, "precision")
    recall = metric_by_model(store, dataset, extractor, "recall")
    models = [m for m in precision if m in recall]
    colours = _palette([m for m in models if m != REAL])
    with styled_figure(PRECISION_RECALL_SIZE) as fig:
        ax = fig.subplots()
        drawn = []
        for model in models:
            p, r = precision[model], recall[model]
            p_bar, r_bar = _interval(p, "precision"), _interval(r, "recall")
            if p_bar.mean is None or r_bar.mean is None:
                continue
            colour = "black" if model == REAL else colours[model]
            per_seed = p.merge(r, on="seed", suffixes=("_p", "_r")).dropna(subset=["value_p", "value_r"])
            ax.scatter(per_seed["value_r"], per_seed["value_p"], s=12, color=colour, alpha=0.35)
            ax.errorbar(r_bar.mean, p_bar.mean, xerr=error_bar(r_bar), yerr=error_bar(p_bar),
                        fmt="*" if model == REAL else "o", color=colour, capsize=3,
                        markersize=11 if model == REAL else 7, label=model_label(model))
            drawn += [p_bar, r_bar]
        if not drawn:
            note(ax, f"no precision/recall values for {dataset} / {extractor}")
            return save_figure(fig, stem)
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall (coverage of the real distribution)")
        ax.set_ylabel("precision (realism of samples)")
        ax.set_title(f"{dataset}: precision vs recall ({extractor} features, k=3)\n"
                     + bars_text(drawn))
        ax.legend(loc="lower left", fontsize="small")
        return save_figure(fig, stem)


def plot_quality_vs_time(store: pd.DataFrame, dataset: str, extractor: str,
                         stem: Path | str) -> list[Path]:
    """The headline metric against training wall time, both with bars over seeds
    (stats.seed_interval)."""
    headline = headline_for(extractor)
    num_classes = class_count(dataset, extractor)
    quality = metric_by_model(store, dataset, extractor, headline.metric)
    time = metric_by_model(store, dataset, COST_EXTRACTOR, "wall_time_s")
    floor = quality.pop(REAL, None)
    colours = _palette(list(quality))
    with styled_figure(QUALITY_VS_TIME_SIZE) as fig:
        ax = fig.subplots()
        times, drawn = [], []
        for model, rows in quality.items():
            q_bar = _interval(rows, headline.metric, num_classes)
            t_bar = _interval(time.get(model), "wall_time_s")
            if q_bar.mean is None or t_bar.mean is None:
                continue
            ax.errorbar(t_bar.mean, q_bar.mean, xerr=error_bar(t_bar), yerr=error_bar(q_bar), fmt="o",
                        capsize=3, color=colours[model], label=model_label(model))
            ax.annotate(model, (t_bar.mean, q_bar.mean), textcoords="offset points", xytext=(5, 5))
            times.append(t_bar.mean)
            drawn += [q_bar, t_bar]
        if not times:
            note(ax, f"no runs with both {headline.label} and wall time for {dataset} / {extractor}")
            return save_figure(fig, stem)
        floor_mean = _interval(floor, headline.metric, num_classes).mean
        if floor_mean is not None:
            ax.axhline(floor_mean, ls="--", color="black", lw=1, label="real vs real floor")
        if min(times) > 0 and max(times) / min(times) > 20:
            ax.set_xscale("log")
        better = "lower" if headline.lower_is_better else "higher"
        ax.set_xlabel("training wall time per run (s)")
        ax.set_ylabel(f"{headline.label} ({extractor} features; {better} is better)")
        ax.set_title(f"{dataset}: {headline.label} vs training time\n" + bars_text(drawn))
        ax.legend(loc="best", fontsize="small")
        return save_figure(fig, stem)


# --------------------------------------------------------------------------- training curves
def read_losses(results: ResultsLayout, dataset: str, model: str, seeds: Sequence[int]) -> pd.DataFrame:
    """losses.csv of every seed that has one, with a seed column."""
    frames = []
    for seed in seeds:
        path = Path(results.losses_file(dataset, model, seed))
        if path.is_file():
            frame = pd.read_csv(path)
            if not frame.empty:
                frames.append(frame.assign(seed=seed))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def smoothed_over_seeds(losses: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per step: mean, min and max over seeds of a running mean (window ~2% of the run)."""
    window = max(1, int(losses["step"].max()) // 50)
    smooth = (losses.sort_values("step").groupby("seed")[column]
              .transform(lambda s: s.rolling(window, min_periods=1).mean()))
    summary = smooth.groupby(losses["step"]).agg(["mean", "min", "max"])
    stride = max(1, math.ceil(len(summary) / MAX_CURVE_POINTS))
    return summary.iloc[::stride]


WASSERSTEIN = "wasserstein_estimate"
LOSS_PREFIX = "loss"  # loss_D, loss_G, ...; other logged numbers (critic_iters, ...) are not drawn


def plot_training_curves(results: ResultsLayout, dataset: str, models: Sequence[str],
                         seeds: Sequence[int], stem: Path | str) -> list[Path]:
    """One panel of losses (the loss_* columns) per model, mean over seeds with a min..max band
    (dotted lines: growth phase boundaries of models that log them), and one panel with the
    Wasserstein estimate of every model that logs one (WGAN, WGAN-GP)."""
    models = roadmap_order(models)
    losses = {m: read_losses(results, dataset, m, seeds) for m in models}
    with styled_figure(grid_size(len(models) + 1, MAX_COLUMNS["curves"], CURVE_PANEL)) as fig:
        axes = panel_grid(fig, len(models) + 1, MAX_COLUMNS["curves"])
        for ax, model in zip(axes, models):
            ax.set_title(model_label(model))
            frame = losses[model]
            columns = [c for c in frame.columns if c.startswith(LOSS_PREFIX)]
            if frame.empty or not columns:
                note(ax, "no losses.csv (missing run)")
                continue
            for column in columns:
                curve = smoothed_over_seeds(frame, column)
                ax.plot(curve.index, curve["mean"], lw=1, label=column)
                ax.fill_between(curve.index, curve["min"], curve["max"], alpha=0.2)
            mark_phases(ax, frame)  # growing models: where each resolution fades in and settles
            ax.set_xlabel("generator step")
            ax.legend(fontsize="x-small", loc="best")
        ax = axes[len(models)]
        ax.set_title("Wasserstein estimate (critic)")
        logged = [m for m in models if WASSERSTEIN in losses[m].columns]
        for model in logged:
            curve = smoothed_over_seeds(losses[model], WASSERSTEIN)
            ax.plot(curve.index, curve["mean"], lw=1, label=model)
            ax.fill_between(curve.index, curve["min"], curve["max"], alpha=0.2)
        if logged:
            ax.set_xlabel("generator step")
            ax.legend(fontsize="x-small")
        else:
            note(ax, "no model in this suite logs a Wasserstein estimate")
        fig.suptitle(f"{dataset}: training curves (running mean; band: min..max over seeds)")
        return save_figure(fig, stem)


# --------------------------------------------------------------------------- samples
def load_samples(results: ResultsLayout, dataset: str, model: str, seed: int) -> Optional[dict[str, Any]]:
    """The samples record of one run (or of the real floor), None when there is none."""
    path = Path(results.samples_file(dataset, model, seed))
    return load_torch(path) if path.is_file() else None


def image_grid(images: torch.Tensor, columns: int) -> np.ndarray:
    """uint8 N x C x H x W -> one H' x W' x C (or H' x W') array, white lines between images
    (fewer images than columns: one row of just those)."""
    grid = tile_images(images, min(columns, len(images)), padding=2, pad_value=255)
    array = grid.permute(1, 2, 0).numpy()
    return array[..., 0] if images.shape[1] == 1 else array


def show_image(ax: Axes, array: np.ndarray) -> None:
    ax.imshow(array, cmap="gray" if array.ndim == 2 else None, vmin=0, vmax=255,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _unusable(record: Optional[dict[str, Any]], kind: str) -> Optional[str]:
    """Why a samples record cannot be drawn, or None when it can."""
    if record is None:
        return "missing"
    if record.get("status") != "completed" or len(record["data"]) == 0:
        return str(record.get("status", "no samples"))
    if record.get("kind") != kind:
        return f"{record.get('kind')} samples"
    return None


def grid_columns(record: dict[str, Any]) -> int:
    """8, or one column per class for conditional samples (their label bank cycles 0..K-1)."""
    labels = record.get("labels")
    if record.get("conditional") and labels is not None and len(labels):
        return min(int(labels.max()) + 1, 16)
    return 8


def plot_sample_grids(results: ResultsLayout, dataset: str, models: Sequence[str], seed: int,
                      stem: Path | str) -> list[Path]:
    """The first 64 evaluation samples of every model (and the real floor) side by side, 8 per
    row (conditional models: one class per column). All models draw from the suite's latent
    bank, so a grid position holds the same latent for every model with the same prior."""
    shown = roadmap_order(models) + [REAL]
    with styled_figure(grid_size(len(shown), MAX_COLUMNS["samples"], SAMPLE_PANEL)) as fig:
        for ax, model in zip(panel_grid(fig, len(shown), MAX_COLUMNS["samples"]), shown):
            ax.set_title(model_label(model))
            record = load_samples(results, dataset, model, seed)
            reason = _unusable(record, "image")
            if reason:
                note(ax, reason)
                continue
            columns = grid_columns(record)
            shown_samples = GRID_SAMPLES // columns * columns
            show_image(ax, image_grid(record["data"][:shown_samples], columns))
        fig.suptitle(f"{dataset}: first {GRID_SAMPLES} samples, seed {seed}")
        return save_figure(fig, stem)


def class_grid_size(num_classes: int, per_class: int) -> tuple[float, float]:
    return (1.0 + CLASS_CELL_IN * per_class, 0.8 + CLASS_CELL_IN * num_classes)


def plot_class_grid(results: ResultsLayout, dataset: str, model: str, seed: int, stem: Path | str,
                    per_class: int = 8) -> list[Path]:
    """A conditional model's samples, one row per class label it was generated for."""
    record = load_samples(results, dataset, model, seed)
    reason = _unusable(record, "image") or (None if record.get("labels") is not None
                                            else "no labels (not conditional)")
    num_classes = int(record["labels"].max()) + 1 if not reason else 1
    with styled_figure(class_grid_size(num_classes, per_class)) as fig:
        ax = fig.subplots()
        ax.set_title(f"{model_label(model)}: samples by class", fontsize="small")
        if reason:
            note(ax, reason)
            return save_figure(fig, stem)
        rows, filled = [], []
        blank = torch.full_like(record["data"][0], 128)
        for label in range(num_classes):
            picked = record["data"][record["labels"] == label][:per_class]
            rows += list(picked) + [blank] * (per_class - len(picked))
            filled.append(len(picked))
        show_image(ax, image_grid(torch.stack(rows), per_class))
        cell = record["data"].shape[-2] + 2
        ax.set_yticks([2 + cell * (k + 0.5) for k in range(num_classes)],
                      [str(k) for k in range(num_classes)])
        ax.set_ylabel("class label")
        return save_figure(fig, stem)


# Two-domain panels: the images shown per column, in groups of rows (by task), with row labels.
DOMAIN_PANELS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "coupled": (("a", "b"),),
    "translation": (("source", "translated", "reconstructed"),
                    ("source_b", "reverse_translated", "reverse_reconstructed")),
}
PANEL_LABELS = {"a": "A", "b": "B", "source": "a", "translated": "A→B", "reconstructed": "A→B→A",
                "source_b": "b", "reverse_translated": "B→A", "reverse_reconstructed": "B→A→B"}
PANEL_TITLES = {"coupled": "pairs from one z (a column: A over B)",
                "translation": "held-out images, translated and back"}
PANEL_COLUMNS = 8
PANEL_CELL_IN = 0.45


def domain_panel_rows(record: dict[str, Any], test_split: Optional[dict[str, Any]],
                      columns: int = PANEL_COLUMNS) -> list[tuple[str, torch.Tensor]]:
    """(label, images) rows of a two-domain model's panel: for a coupled task, each column is one
    latent, domain A over domain B, two blocks of columns; for a translation task, each column is
    one held-out image and where the model takes it and back, A first, then B."""
    from gans.data import DOMAIN_TASKS
    from gans.metrics.two_domain import INPUTS

    task = record["task"]
    images = {record["primary_output"]: record["data"], **record["outputs"]}
    needs_inputs = any(name in INPUTS for group in DOMAIN_PANELS[task] for name in group)
    if needs_inputs:
        if test_split is None:
            raise ValueError("a translation panel shows the held-out inputs: the test split is missing")
        domains = DOMAIN_TASKS.get(record["domain_task"])
        images.update({name: domains.held_out(test_split, d)[0] for name, d in INPUTS.items()})
    blocks = 2 if len(DOMAIN_PANELS[task]) == 1 else 1
    rows = []
    for block in range(blocks):
        picked = slice(block * columns, (block + 1) * columns)
        for group in DOMAIN_PANELS[task]:
            rows += [(PANEL_LABELS.get(name, name), images[name][picked]) for name in group]
    return rows


def plot_domain_panel(results: ResultsLayout, dataset: str, model: str, seed: int,
                      stem: Path | str) -> list[Path]:
    """A two-domain model's panel (see `domain_panel_rows`), one labelled row per image kind."""
    record = load_samples(results, dataset, model, seed)
    reason = _unusable(record, "image") or (
        None if record.get("task") in DOMAIN_PANELS else f"no two-domain panel for {record.get('task')}")
    test_file = Path(results.data_file(dataset, "test"))
    rows = []
    if not reason:
        test = torch.load(test_file, map_location="cpu", weights_only=False) if test_file.is_file() else None
        try:
            rows = domain_panel_rows(record, test)
        except ValueError as error:
            reason = str(error)
    n_rows = max(1, len(rows))
    with styled_figure((1.2 + PANEL_CELL_IN * PANEL_COLUMNS, 0.8 + PANEL_CELL_IN * n_rows)) as fig:
        ax = fig.subplots()
        title = PANEL_TITLES.get((record or {}).get("task"), "")
        ax.set_title(f"{model_label(model)}, {(record or {}).get('domain_task')}:\n{title}",
                     fontsize="small")
        if reason:
            note(ax, reason)
            return save_figure(fig, stem)
        blank = torch.full_like(rows[0][1][0], 128)
        cells = [image for _, images in rows
                 for image in list(images) + [blank] * (PANEL_COLUMNS - len(images))]
        show_image(ax, image_grid(torch.stack(cells), PANEL_COLUMNS))
        cell = rows[0][1].shape[-2] + 2
        ax.set_yticks([2 + cell * (k + 0.5) for k in range(len(rows))], [label for label, _ in rows])
        return save_figure(fig, stem)


def load_modes(data_file: Path) -> tuple[Optional[torch.Tensor], Optional[float]]:
    """Mode centres and std of a prepared toy split, (None, None) when not available."""
    if not data_file.is_file():
        return None, None
    prepared = load_torch(data_file)
    return prepared.get("modes"), prepared.get("sigma")


def plot_toy_scatter(results: ResultsLayout, dataset: str, models: Sequence[str], seed: int,
                     stem: Path | str) -> list[Path]:
    """Each model's samples over the true modes (crosses) with 3-sigma circles."""
    modes, sigma = load_modes(Path(results.data_file(dataset, "train")))
    shown = roadmap_order(models) + [REAL]
    with styled_figure(grid_size(len(shown), MAX_COLUMNS["toy"], TOY_PANEL)) as fig:
        for ax, model in zip(panel_grid(fig, len(shown), MAX_COLUMNS["toy"]), shown):
            ax.set_title(model_label(model))
            record = load_samples(results, dataset, model, seed)
            reason = _unusable(record, "points")
            if reason:
                note(ax, reason)
                continue
            points = record["data"][:TOY_POINTS].float().numpy()
            # thousands of dots: rasterized inside the SVG (axes stay vector), ~10x smaller files
            ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="tab:blue", linewidths=0,
                       rasterized=True)
            if modes is not None:
                ax.scatter(modes[:, 0], modes[:, 1], marker="x", color="tab:red", s=20)
                for centre in modes.tolist():
                    ax.add_patch(Circle(centre, 3 * float(sigma), fill=False, color="tab:red", lw=0.6))
                span = float(modes.abs().max()) + 1.0
                ax.set_xlim(-span, span)
                ax.set_ylim(-span, span)
            ax.set_aspect("equal")
        where = "true modes (x) with 3-sigma circles" if modes is not None else "modes unavailable"
        fig.suptitle(f"{dataset}: first {TOY_POINTS} samples of seed {seed} over the {where}")
        return save_figure(fig, stem)
