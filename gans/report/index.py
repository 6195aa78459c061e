"""The suite's report folder: tables, figures and the README.md that shows them.

The README says how the numbers were made (protocol, seeds, budget, hardware, versions, code
version, all read from the store and the runs' status.json provenance) and keeps the published
numbers in a table of their own, apart from our rankings.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import pandas as pd

from gans.io import write_text_atomic
from gans.layout import ResultsLayout, dataset_kind, domain_floors, extractors_for, is_floor, runs
from gans.report import figures, layout, tables, toy_published, truncation
from gans.report.anchors import NOT_COMPARABLE, NOT_RANKED, anchors_tables, dataset_anchors
from gans.report.roadmap import (REAL, config_deviations, is_conditional, mixes_styles, model_year,
                                 roadmap_order)
from gans.report.stats import STUDENT_T_MIN_SEEDS
from gans.report.style_mixing import plot_style_mixing
from gans.report.store import COST_EXTRACTOR


# --------------------------------------------------------------------------- provenance
def read_statuses(suite: dict[str, Any], results: ResultsLayout) -> list[dict[str, Any]]:
    """status.json of every suite run that has one."""
    paths = [Path(results.status_file(dataset, model, seed)) for dataset, model, seed in runs(suite)]
    return [json.loads(path.read_text()) for path in paths if path.is_file()]


def distinct(values: Iterable[Any]) -> str:
    """"a" or "a (2 runs); b (1 run)" when the runs disagree; "unknown" with no values."""
    counts = Counter(str(v) for v in values if v not in (None, ""))
    if not counts:
        return "unknown"
    if len(counts) == 1:
        return next(iter(counts))
    return "; ".join(f"{v} ({n} run{'s' if n > 1 else ''})" for v, n in counts.items())


def environment_lines(statuses: Sequence[dict[str, Any]]) -> list[str]:
    """Hardware and software of the training runs, from their status.json provenance."""
    prov = [s.get("provenance", {}) for s in statuses]
    packages = [p.get("packages", {}) for p in prov]
    gpus = [p.get("gpu") for p in prov if p.get("gpu")]
    several = any(s.get("world_size", 1) > 1 for s in statuses)  # gpus_per_job: said only when used
    lines = [
        f"Hardware: device {distinct(s.get('device') for s in statuses)}; CPU "
        f"{distinct(p.get('cpu') for p in prov)} ({distinct(p.get('cpu_count') for p in prov)} "
        f"logical cores); torch threads per job {distinct(s.get('threads') for s in statuses)}"
        + (f"; GPU {distinct(gpus)}" if gpus else "")
        + (f"; processes per training job {distinct(s.get('world_size', 1) for s in statuses)}"
           if several else "") + ".",
        f"Software: Python {distinct(p.get('python') for p in prov)}; "
        + "; ".join(f"{name} {distinct(pk.get(name) for pk in packages)}"
                    for name in ("torch", "torchvision", "torch-fidelity", "numpy", "pandas"))
        + f"; platform {distinct(p.get('platform') for p in prov)}.",
        f"Code version: {distinct(p.get('code_version') for p in prov)}.",
    ]
    if not statuses:
        lines.append("No run has written a status.json yet: hardware and versions are unknown.")
    return lines


def protocol_lines(suite: dict[str, Any], store: pd.DataFrame) -> list[str]:
    budget = suite.get("budget", {})
    scored = store[(store["extractor"] != COST_EXTRACTOR) & store["domain_task"].isna()]
    two_domain = store[(store["extractor"] != COST_EXTRACTOR) & store["domain_task"].notna()]
    trained = store[(store["extractor"] != COST_EXTRACTOR) & ~store["model"].map(is_floor)]
    models = ", ".join(f"{m} ({model_year(m) or '?'})" for m in roadmap_order(suite["models"]))
    lines = [
        f"Models, in roadmap order: {models}.",
        f"Datasets: {', '.join(suite['datasets'])}.",
        f"Training seeds: {', '.join(str(s) for s in suite['seeds'])}. "
        + intervals_text(len(suite["seeds"])),
        f"Budget: {budget.get('steps')} generator steps, batch size {budget.get('batch_size')}"
        + (f", per-model steps {budget['model_steps']}" if budget.get("model_steps") else "")
        + (f"; config overrides {json.dumps(suite['model_config'])}" if suite.get("model_config")
           else "; every model at its documented defaults") + ".",
        *deviation_lines(suite),
        # From the metrics files, not the suite: toy data is scored against the whole mixture.
        f"Evaluation: {tables.describe_values(scored, 'n_generated')} generated vs "
        f"{tables.describe_values(scored, 'n_real')} real samples of the "
        f"{tables.describe_values(scored, 'real_split')} split; extractors "
        f"{', '.join(sorted(set(scored['extractor'].dropna())))}; the floor is "
        "a real train subset of the same size evaluated like a model.",
        *classifier_lines(scored),
        f"Quantization: {tables.describe_values(trained, 'quantization')}.",
        f"Truncation: {truncation_text(trained)}.",
        "Evaluation samples come from a fixed latent bank per (suite, seed), the same for every model.",
    ]
    if len(two_domain):
        tasks = ", ".join(f"{m} on {t}" for m, t in (suite.get("domain_tasks") or {}).items())
        lines.append(
            f"Two-domain models ({tasks}) are compared with the real test images of each domain of "
            "their domain task, in tables of their own, each with its floor (real train images of "
            "each domain, as many as the model's samples; the sizes are in each table's caption). "
            "A translation model translates every held-out test image of each domain, none seen in "
            "training.")
    runs = store[(store["extractor"] == COST_EXTRACTOR) & (store["metric"] == "wall_time_s")]
    counts = runs["status"].value_counts()
    lines.append("Runs: " + ", ".join(f"{int(n)} {s}" for s, n in counts.items())
                 + f" (of {len(runs)}).")
    return lines


def classifier_lines(scored: pd.DataFrame) -> list[str]:
    """Which domain classifier made the classifier features (none when the records do not say)."""
    text = tables.evaluator_text(scored[scored["extractor"] == "classifier"])
    return [f"Domain classifier: {text.rstrip('; ')}."] if text else []


def intervals_text(n_seeds: int) -> str:
    """What the cells and error bars of a suite of n seeds show (the rule of gans.report.stats)."""
    if n_seeds >= STUDENT_T_MIN_SEEDS:
        used = "the mean and 95% Student-t interval, clipped to the metric's domain"
    else:
        used = f"the mean and range over the {n_seeds} seeds" if n_seeds > 1 else "the value alone"
    return (f"Cells and error bars show {used}. The rule, per model and metric: fewer than "
            f"{STUDENT_T_MIN_SEEDS} seeds that gave a number give the mean and the seeds' range, "
            "\"125 (118–132)\" for mean (min–max), since from so few seeds a Student-t interval is "
            "dominated by its t quantile (12.7 for two seeds) and can leave the metric's range; "
            f"{STUDENT_T_MIN_SEEDS} or more give the mean and its 95% Student-t interval, "
            "\"125 [110, 140]\", clipped to the metric's domain; one seed gives the value alone. "
            "Each table's caption and each figure's title says which was used.")


def deviation_lines(suite: dict[str, Any]) -> list[str]:
    """One flagged line when the suite's config turns off or changes part of a model's method."""
    flagged = [f"{model}: {deviation}" for model in roadmap_order(suite["models"])
               for deviation in config_deviations(model, suite.get("model_config", {}).get(model, {}))]
    return [f"FLAGGED, the suite's config departs from the method: {'; '.join(flagged)}."] if flagged else []


def truncation_text(scored: pd.DataFrame) -> str:
    """The truncation the samples were drawn with: "off" (no truncation recorded), the value, or
    MIXED with the models of each."""
    off_when_unset = scored["truncation"].astype("object").fillna("off")
    return tables.describe_values(scored.assign(truncation=off_when_unset), "truncation")


# --------------------------------------------------------------------------- markdown helpers
def link(target: Path, base: Path) -> str:
    return Path(os.path.relpath(target, base)).as_posix()


def figure_markdown(stem: str, alt: str) -> str:
    return f"![{alt}]({stem}.png)\n\n[SVG]({stem}.svg)\n"


def table_markdown(table: tables.Table, stem: str) -> str:
    return (tables.markdown_with_caption(table)
            + f"\nAlso as [HTML]({stem}.html) and [LaTeX]({stem}.tex).\n")


def bullet_list(lines: Iterable[str]) -> str:
    return "".join(f"- {line}\n" for line in lines)


# --------------------------------------------------------------------------- the report
def conditional_models(suite: dict[str, Any], store: pd.DataFrame) -> list[str]:
    """Registered conditional models, and any whose metrics include class accuracy."""
    scored = store.loc[(store["metric"] == "class_accuracy") & store["value"].notna(), "model"]
    return [m for m in roadmap_order(suite["models"]) if is_conditional(m) or m in set(scored)]


def write_dataset_section(suite: dict[str, Any], store: pd.DataFrame, results: ResultsLayout,
                          inception: bool, dataset: str, environment: Sequence[str]) -> str:
    """Tables and figures of one dataset; returns its README section."""
    models, seeds = list(suite["models"]), [int(s) for s in suite["seeds"]]
    points = dataset_kind(dataset) == "points"
    out = Path(results.report_dir)
    parts = [f"## {dataset}\n"]
    main = store[store["domain_task"].isna()]  # compared with the dataset's real images
    for extractor in extractors_for(suite, dataset, inception):
        stem = layout.results_table(dataset, extractor)
        table = tables.results_table(store, dataset, extractor)
        tables.write_table(table, out / stem, f"{dataset}: results ({extractor} features)")
        headline = layout.headline_for(extractor)
        figures.plot_progression(main, dataset, extractor, out / layout.progression(dataset, extractor))
        figures.plot_quality_vs_time(main, dataset, extractor,
                                     out / layout.quality_vs_time(dataset, extractor))
        parts += [f"### Results: {extractor} features\n", table_markdown(table, stem),
                  figure_markdown(layout.progression(dataset, extractor),
                                  f"{headline.label} along the roadmap"),
                  figure_markdown(layout.quality_vs_time(dataset, extractor),
                                  f"{headline.label} vs training time")]
        if not points:
            figures.plot_precision_recall(main, dataset, extractor,
                                          out / layout.precision_recall(dataset, extractor))
            parts.append(figure_markdown(layout.precision_recall(dataset, extractor),
                                         "precision vs recall"))
        if layout.has_truncation_sweep(suite, dataset):
            stem = layout.truncation_tradeoff(dataset, extractor)
            truncation.plot_truncation_tradeoff(suite, results, dataset, extractor, out / stem)
            parts += [truncation.readme_text(suite), figure_markdown(stem, "truncation trade-off")]
        if not points:
            for floor in domain_floors(suite):
                stem = layout.domain_table(dataset, extractor, floor)
                table = tables.domain_table(store, dataset, extractor, floor)
                title = f"{dataset}: {floor.task} on {floor.domain_task} ({extractor} features)"
                tables.write_table(table, out / stem, title)
                parts += [f"### Two-domain: {floor.task} on {floor.domain_task}, {extractor} features\n",
                          table_markdown(table, stem)]

    parts += write_dataset_anchors(out, dataset)

    stem = layout.cost_table(dataset)
    table = tables.cost_table(store, dataset, notes=environment[:1])
    tables.write_table(table, out / stem, f"{dataset}: training cost")
    parts += ["### Training cost\n", table_markdown(table, stem)]

    figures.plot_training_curves(results, dataset, models, seeds, out / layout.training_curves(dataset))
    parts += ["### Training curves\n", figure_markdown(layout.training_curves(dataset), "training curves")]

    parts.append(f"### Samples (seed {seeds[0]})\n")
    if points:
        figures.plot_toy_scatter(results, dataset, models, seeds[0], out / layout.toy_scatter(dataset))
        parts.append(figure_markdown(layout.toy_scatter(dataset), "samples over the true modes"))
        parts.append(toy_published_section(suite, store, dataset, out))
        return "\n".join(parts)
    figures.plot_sample_grids(results, dataset, models, seeds[0], out / layout.sample_grid(dataset))
    parts.append(figure_markdown(layout.sample_grid(dataset), "sample grids"))
    for model in conditional_models(suite, store):
        figures.plot_class_grid(results, dataset, model, seeds[0], out / layout.class_grid(dataset, model))
        parts.append(figure_markdown(layout.class_grid(dataset, model), f"{model}: samples by class"))
    for model in [m for m in roadmap_order(models) if mixes_styles(m)]:
        plot_style_mixing(results, dataset, model, seeds[0], suite["name"],
                          out / layout.style_mixing(dataset, model))
        parts.append(figure_markdown(layout.style_mixing(dataset, model), f"{model}: style mixing"))
    for model in layout.two_domain_models(suite):
        figures.plot_domain_panel(results, dataset, model, seeds[0], out / layout.domain_panel(dataset, model))
        parts.append(figure_markdown(layout.domain_panel(dataset, model), f"{model}: two domains"))
    return "\n".join(parts)


def toy_published_section(suite: dict[str, Any], store: pd.DataFrame, dataset: str, out: Path) -> str:
    """Our toy results beside the published ones of the suite's protocol (table and figure)."""
    stem = layout.toy_published_table(dataset)
    table = toy_published.comparison_table(suite, store, dataset)
    tables.write_table(table, out / stem, f"{dataset}: ours beside the published numbers")
    figure = layout.toy_published_figure(dataset)
    toy_published.plot_comparison(suite, store, dataset, out / figure)
    return "\n".join([f"### Beside the published numbers ({toy_published.toy_protocol_for(suite)} "
                      "protocol)\n", table_markdown(table, stem),
                      figure_markdown(figure, "ours beside the published numbers")])


def write_dataset_anchors(out: Path, dataset: str) -> list[str]:
    """The published numbers on this dataset as a table of its own (files and README section),
    after our results and never merged into them; nothing when none are recorded."""
    published = dataset_anchors(dataset)
    if published is None:
        return []
    table = tables.Table(published, published.apply(lambda c: c.map(tables.latex_escape)), [NOT_RANKED])
    stem = layout.published_table(dataset)
    tables.write_table(table, out / stem, f"{dataset}: published numbers (not ranked with ours)")
    return ["### Published numbers (not ranked with ours)\n", table_markdown(table, stem)]


def write_anchors(out: Path) -> str:
    """The published-numbers tables (files and README section)."""
    anchors = anchors_tables()
    paper = tables.Table(anchors["papers"], anchors["papers"].apply(
        lambda c: c.map(tables.latex_escape)), [NOT_COMPARABLE])
    harness = tables.Table(anchors["harnesses"], anchors["harnesses"].apply(
        lambda c: c.map(tables.latex_escape)), ["Same protocol, many models, as each source ran it."])
    stem = layout.anchors_table()
    harnesses = "\n### Multi-model harnesses\n\n" + tables.markdown_with_caption(harness)
    write_text_atomic(out / f"{stem}.md", "### Paper headline results\n\n"
                      + tables.markdown_with_caption(paper) + harnesses)
    write_text_atomic(out / f"{stem}.html", tables.html_document(paper, "Published: papers")
                      + tables.html_document(harness, "Published: harnesses"))
    write_text_atomic(out / f"{stem}.tex", tables.latex_document(paper, "tab:published-papers")
                      + "\n" + tables.latex_document(harness, "tab:published-harnesses"))
    # The README states the caveat once, above both tables (the files carry it as a caption).
    return ("## Published numbers (under their own protocols, not comparable)\n\n"
            f"{NOT_COMPARABLE}\n\n### Paper headline results\n\n{tables.to_markdown(paper.text)}"
            f"{harnesses}\nAlso as [HTML]({stem}.html) and [LaTeX]({stem}.tex).\n")


def build_report(suite: dict[str, Any], store: pd.DataFrame, results: ResultsLayout,
                 inception: bool = False, store_path: Optional[Path | str] = None) -> Path:
    """Write every table and figure of the suite into results.report_dir, and the README.md that
    shows them. `inception`: the workflow had Inception weights (gans.layout.extractors_for)."""
    out = Path(results.report_dir)
    statuses = read_statuses(suite, results)
    environment = environment_lines(statuses)
    source = (f"the tidy results store [`{link(Path(store_path), out)}`]({link(Path(store_path), out)})"
              if store_path else "the tidy results store")
    sections = [
        f"# GAN Roadmap Bench report: suite `{suite['name']}`\n",
        str(suite.get("description", "")).strip() + "\n",
        f"Every table and figure here is generated by `python -m gans report` from {source} "
        "(training curves from the runs' losses.csv, sample grids from the samples files). "
        "Published numbers are listed apart (at the end, and after our results for a dataset "
        "with published numbers of its own): they were measured under other protocols and are "
        "not comparable.\n",
        "## How these numbers were made\n",
        bullet_list(protocol_lines(suite, store) + environment),
    ]
    for dataset in suite["datasets"]:
        sections.append(write_dataset_section(suite, store, results, inception, dataset,
                                              environment))
    sections.append(write_anchors(out))
    return write_text_atomic(out / layout.INDEX, "\n".join(sections))


def run_summary(store: pd.DataFrame) -> str:
    """One line for the command's output: runs by status."""
    runs = store[(store["extractor"] == COST_EXTRACTOR) & (store["metric"] == "wall_time_s")]
    floors = store[(store["model"] == REAL)]
    return (", ".join(f"{int(n)} {s}" for s, n in runs["status"].value_counts().items())
            + f" runs; {floors['seed'].nunique()} floor seed(s)")
