"""Names of every file the report command writes, so the workflow can declare them.

All paths are relative to the report folder (reports/{suite}/). Tables come as .md, .html and
.tex; figures as .png and .svg. The set of files depends only on the suite (its datasets, their
kinds, the extractors and which models are conditional or mix styles) and on whether the
workflow has Inception weights, never on what the runs produced: a figure with nothing to show
is still written, saying so. Where the results themselves live is gans/layout.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from gans.layout import (TOY_EXTRACTOR, DomainFloor, dataset_kind, domain_floors, extractors_for,
                         truncation_runs)
from gans.metrics import registry
from gans.report.anchors import has_dataset_anchors
from gans.report.roadmap import is_conditional, mixes_styles

TABLE_SUFFIXES = (".md", ".html", ".tex")
FIGURE_SUFFIXES = (".png", ".svg")
INDEX = "README.md"


@dataclass(frozen=True)
class Headline:
    """The one metric a progression plot shows for an extractor (label and direction from the
    metric registry)."""

    metric: str
    slug: str  # used in file names

    @property
    def label(self) -> str:
        return registry.get(self.metric).label

    @property
    def lower_is_better(self) -> bool:
        return bool(registry.get(self.metric).lower_is_better)


FID_HEADLINE = Headline("fid", "fid")
HEADLINES: Mapping[str, Headline] = {TOY_EXTRACTOR: Headline("modes_covered", "modes")}


def headline_for(extractor: str) -> Headline:
    return HEADLINES.get(extractor, FID_HEADLINE)


# --------------------------------------------------------------------------- file stems
def results_table(dataset: str, extractor: str) -> str:
    return f"tables/results-{dataset}-{extractor}"


def cost_table(dataset: str) -> str:
    return f"tables/cost-{dataset}"


def anchors_table() -> str:
    return "tables/published-anchors"


def published_table(dataset: str) -> str:
    """The published numbers on one dataset (gans/report/anchors.yaml), apart from ours."""
    return f"tables/published-{dataset}"


def progression(dataset: str, extractor: str) -> str:
    return f"figures/progression-{dataset}-{extractor}"


def precision_recall(dataset: str, extractor: str) -> str:
    return f"figures/precision-recall-{dataset}-{extractor}"


def quality_vs_time(dataset: str, extractor: str) -> str:
    return f"figures/{headline_for(extractor).slug}-vs-time-{dataset}-{extractor}"


def truncation_tradeoff(dataset: str, extractor: str) -> str:
    return f"figures/truncation-{dataset}-{extractor}"


def has_truncation_sweep(suite: Mapping[str, Any], dataset: str) -> bool:
    """Whether the suite sweeps truncation for this dataset (then it gets the trade-off figure)."""
    return any(run[0] == dataset for run in truncation_runs(suite))


def training_curves(dataset: str) -> str:
    return f"figures/training-curves-{dataset}"


def sample_grid(dataset: str) -> str:
    return f"figures/samples-{dataset}"


def class_grid(dataset: str, model: str) -> str:
    return f"figures/class-grid-{dataset}-{model}"


def style_mixing(dataset: str, model: str) -> str:
    return f"figures/style-mixing-{dataset}-{model}"


def toy_scatter(dataset: str) -> str:
    return f"figures/toy-scatter-{dataset}"


def toy_published_table(dataset: str) -> str:
    return f"tables/published-toy-{dataset}"


def toy_published_figure(dataset: str) -> str:
    return f"figures/published-toy-{dataset}"


def domain_table(dataset: str, extractor: str, floor: DomainFloor) -> str:
    return f"tables/{floor.task}-{floor.domain_task}-{dataset}-{extractor}"


def domain_panel(dataset: str, model: str) -> str:
    return f"figures/two-domain-{dataset}-{model}"


def two_domain_models(suite: Mapping[str, Any]) -> list[str]:
    """The suite's models trained on a domain task (each gets a panel)."""
    tasks = suite.get("domain_tasks") or {}
    return [m for m in suite["models"] if m in tasks]


# --------------------------------------------------------------------------- the whole set
@dataclass(frozen=True)
class ReportItem:
    """One output for Snakemake's report(): the file, its category and its caption file
    (relative to rules/, as the rules reference captions)."""

    path: str
    category: str
    caption: str
    labels: Mapping[str, str]


def report_items(suite: Mapping[str, Any], inception: bool = False,
                 conditional_models: Optional[Sequence[str]] = None,
                 style_mixing_models: Optional[Sequence[str]] = None) -> list[ReportItem]:
    """The tables (HTML) and figures (PNG) worth showing in Snakemake's HTML report.

    `inception`: the workflow has Inception weights (image datasets get inception-v3-compat
    tables and figures too); `conditional_models` lists the models that get a class grid
    (default: the registered conditional ones), `style_mixing_models` those that get a
    style-mixing figure (default: the registered ones that mix styles).
    """
    if conditional_models is None:
        conditional_models = [m for m in suite["models"] if is_conditional(m)]
    if style_mixing_models is None:
        style_mixing_models = [m for m in suite["models"] if mixes_styles(m)]
    items: list[ReportItem] = []
    for dataset in suite["datasets"]:
        points = dataset_kind(dataset) == "points"
        for extractor in extractors_for(suite, dataset, inception):
            labels = {"dataset": dataset, "extractor": extractor}
            items += [
                ReportItem(results_table(dataset, extractor) + ".html", "Metrics",
                           "captions/results_table.rst", {**labels, "table": "results"}),
                ReportItem(progression(dataset, extractor) + ".png", "Metrics",
                           "captions/progression.rst", {**labels, "figure": "progression"}),
                ReportItem(quality_vs_time(dataset, extractor) + ".png", "Cost",
                           "captions/fid_vs_time.rst", {**labels, "figure": "quality vs time"}),
            ]
            if not points:
                items.append(ReportItem(precision_recall(dataset, extractor) + ".png", "Metrics",
                                        "captions/precision_recall.rst",
                                        {**labels, "figure": "precision-recall"}))
            if has_truncation_sweep(suite, dataset):
                items.append(ReportItem(truncation_tradeoff(dataset, extractor) + ".png", "Metrics",
                                        "captions/truncation_tradeoff.rst",
                                        {**labels, "figure": "truncation trade-off"}))
            if not points:
                items += [ReportItem(domain_table(dataset, extractor, floor) + ".html", "Metrics",
                                     "captions/domain_table.rst",
                                     {**labels, "table": f"{floor.task} on {floor.domain_task}"})
                          for floor in domain_floors(suite)]
        if has_dataset_anchors(dataset):
            items.append(ReportItem(published_table(dataset) + ".html", "Metrics",
                                    "captions/published_table.rst",
                                    {"dataset": dataset, "table": "published numbers"}))
        items += [
            ReportItem(cost_table(dataset) + ".html", "Cost", "captions/cost_table.rst",
                       {"dataset": dataset, "table": "cost"}),
            ReportItem(training_curves(dataset) + ".png", "Training", "captions/training_curves.rst",
                       {"dataset": dataset, "figure": "training curves"}),
        ]
        if points:
            items += [
                ReportItem(toy_scatter(dataset) + ".png", "Samples", "captions/toy_scatter.rst",
                           {"dataset": dataset, "figure": "toy scatter"}),
                ReportItem(toy_published_table(dataset) + ".html", "Metrics",
                           "captions/toy_published.rst", {"dataset": dataset, "table": "published"}),
                ReportItem(toy_published_figure(dataset) + ".png", "Metrics",
                           "captions/toy_published.rst", {"dataset": dataset, "figure": "published"}),
            ]
            continue
        items.append(ReportItem(sample_grid(dataset) + ".png", "Samples", "captions/sample_grid.rst",
                                {"dataset": dataset, "figure": "sample grids"}))
        items += [ReportItem(class_grid(dataset, m) + ".png", "Samples", "captions/class_grid.rst",
                             {"dataset": dataset, "figure": f"class grid {m}"})
                  for m in conditional_models if m in suite["models"]]
        items += [ReportItem(style_mixing(dataset, m) + ".png", "Samples",
                             "captions/style_mixing.rst",
                             {"dataset": dataset, "figure": f"style mixing {m}"})
                  for m in style_mixing_models if m in suite["models"]]
        items += [ReportItem(domain_panel(dataset, m) + ".png", "Samples", "captions/domain_panel.rst",
                             {"dataset": dataset, "figure": f"two-domain panel {m}"})
                  for m in two_domain_models(suite)]
    return items


def report_files(suite: Mapping[str, Any], inception: bool = False,
                 conditional_models: Optional[Sequence[str]] = None,
                 style_mixing_models: Optional[Sequence[str]] = None) -> list[str]:
    """Every file the report command writes (all formats), relative to the report folder."""
    files = [INDEX]
    for stem in [anchors_table()]:
        files += [stem + s for s in TABLE_SUFFIXES]
    for item in report_items(suite, inception, conditional_models, style_mixing_models):
        stem, suffix = item.path.rsplit(".", 1)
        files += [stem + s for s in (TABLE_SUFFIXES if suffix == "html" else FIGURE_SUFFIXES)]
    return files
