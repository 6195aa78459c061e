"""Result and cost tables from the store: per model, the mean over training seeds and an
interval that fits their number (gans.report.stats: the seeds' range below 5 seeds, a 95%
Student-t interval clipped to the metric's domain from 5 on).

Models come in roadmap order with the real-vs-real floor last. A model without numbers stays in
the table with its status (missing, diverged); a single seed gives the value alone and says so.
The protocol the numbers were made under, and which interval the cells show, go into the
caption; a mixed protocol is flagged.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import pandas as pd

from gans.io import write_text_atomic
from gans.layout import TOY_EXTRACTOR
from gans.metrics import registry
from gans.metrics.evaluators import RETRAINED
from gans.layout import DomainFloor, is_floor
from gans.report.roadmap import protocol_notes, roadmap_order
from gans.report.stats import RANGE, Interval, class_count, describe, seed_interval
from gans.report.store import COMPLETED, COST_EXTRACTOR, COST_METRICS, DIVERGED

# Metric columns, labels, order and direction come from gans.metrics.registry: result tables
# show its shown metrics of single-domain evaluations in its order (the within-run spreads
# is_std / kid_std are hidden: the tables show the spread over training seeds), cost tables its
# cost metrics, two-domain tables the metrics of their task's kind.
RESULT_KINDS = frozenset({registry.IMAGE, registry.CONDITIONAL_IMAGE, registry.TOY})
RESULT_METRICS = tuple(key for key, entry in registry.METRICS.items()
                       if registry.is_shown(key) and entry.kinds & RESULT_KINDS)
LOWER_IS_BETTER = tuple(key for key in RESULT_METRICS if registry.get(key).lower_is_better)
NO_VALUE, NOT_APPLICABLE = "—", "n/a"
FLOOR_LABEL = "real (floor)"


# --------------------------------------------------------------------------- numbers
def format_interval(interval: Interval) -> str:
    """"125 (118–132)": the mean and the seeds' range (min–max); "125 [110, 140]": the mean and
    its Student-t interval [lo, hi]; one seed: the value alone. Numbers are given to two
    significant digits of the interval's width, so the cell shows what the seeds resolve."""
    if interval.mean is None:
        return NO_VALUE
    if not interval.has_interval:
        return f"{interval.mean:.4g}"
    width = interval.hi - interval.lo
    if width <= 1e-9 * max(1.0, abs(interval.mean)):  # equal values; rounding noise aside
        text = "{:.4g}".format
    else:
        text = f"{{:.{min(6, max(0, 1 - math.floor(math.log10(width))))}f}}".format

    def number(value: float) -> str:
        written = text(value)
        return written[1:] if written.startswith("-") and float(written) == 0 else written  # no "-0.0"

    mean, lo, hi = number(interval.mean), number(interval.lo), number(interval.hi)
    return f"{mean} ({lo}–{hi})" if interval.method == RANGE else f"{mean} [{lo}, {hi}]"


def seed_statuses(rows: pd.DataFrame) -> pd.Series:
    """One status per seed (all rows of a seed share it)."""
    return rows.groupby("seed")["status"].first()


def status_summary(statuses: pd.Series) -> str:
    """"completed" when all seeds agree, else e.g. "completed 2/3, diverged 1/3"."""
    counts = statuses.value_counts()
    if len(counts) == 1:
        return str(counts.index[0])
    total = int(counts.sum())
    return ", ".join(f"{status} {int(n)}/{total}" for status, n in counts.sort_index().items())


def seeds_cell(n_completed: int) -> str:
    return f"{n_completed} (no interval)" if n_completed == 1 else str(n_completed)


# --------------------------------------------------------------------------- summaries
@dataclass
class Table:
    """A table in two renderings (text for Markdown/HTML, LaTeX) plus its caption lines."""

    text: pd.DataFrame
    latex: pd.DataFrame
    caption: list[str]


def metrics_in(subset: pd.DataFrame, preferred: Sequence[str]) -> list[str]:
    """The metrics present, known ones in `preferred` order, unknown ones after, hidden ones out."""
    present = [m for m in subset["metric"].dropna().unique() if registry.is_shown(m)]
    return [m for m in preferred if m in present] + sorted(set(present) - set(preferred))


def summarize(subset: pd.DataFrame, metrics: Sequence[str], counted: Sequence[str] = (COMPLETED,),
              num_classes: Optional[int] = None) -> pd.DataFrame:
    """Per model (roadmap order): status, the seeds whose status is in `counted` (those that
    give numbers), and an Interval per metric within its domain (None where the model has no
    such metric); `num_classes`: K of the domains written in K (stats.class_count)."""
    records = []
    for model in roadmap_order(subset["model"].dropna()):
        rows = subset[subset["model"] == model]
        statuses = seed_statuses(rows)
        record = {"model": model, "year": rows["year"].dropna().iloc[0] if rows["year"].notna().any()
                  else None, "status": status_summary(statuses),
                  "n_completed": int(statuses.isin(counted).sum())}
        for metric in metrics:
            values = rows.loc[rows["metric"] == metric, "value"]
            record[metric] = (seed_interval(values.tolist(), registry.domain(metric), num_classes)
                              if len(values) else None)  # None: n/a
        records.append(record)
    return pd.DataFrame(records)


def _render(summary: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    rows = []
    for _, rec in summary.iterrows():
        year = "" if rec["year"] is None or pd.isna(rec["year"]) else str(int(rec["year"]))
        row = {"Model": FLOOR_LABEL if is_floor(rec["model"]) else rec["model"], "Year": year,
               "Status": rec["status"], "Seeds": seeds_cell(rec["n_completed"])}
        for metric in metrics:
            interval = rec[metric]
            if interval is None:
                cell = NOT_APPLICABLE
            else:
                cell = format_interval(interval)
                if interval.mean is not None and interval.n != rec["n_completed"]:
                    cell += f" (n={interval.n})"
            row[registry.label(metric)] = cell
        rows.append(row)
    return pd.DataFrame(rows, columns=["Model", "Year", "Status", "Seeds",
                                       *(registry.label(m) for m in metrics)])


def cells_text(summary: pd.DataFrame, metrics: Sequence[str]) -> str:
    """What the table's cells show (stats.describe of all of them), for its caption."""
    return describe(rec[m] for _, rec in summary.iterrows() for m in metrics)


def _table(summary: pd.DataFrame, metrics: Sequence[str], caption: list[str]) -> Table:
    text = _render(summary, metrics)
    latex = text.apply(lambda column: column.map(latex_escape)).rename(columns=latex_escape)
    return Table(text, latex, caption)


def results_table(store: pd.DataFrame, dataset: str, extractor: str) -> Table:
    """Every model compared with the dataset's real images (and the real floor) under one
    extractor on one dataset; two-domain models have tables of their own (`domain_table`)."""
    subset = store[(store["dataset"] == dataset) & (store["extractor"] == extractor)
                   & store["domain_task"].isna()]
    metrics = metrics_in(subset, RESULT_METRICS)
    summary = summarize(subset, metrics, num_classes=class_count(dataset, extractor))
    return _table(summary, metrics,
                  protocol_caption(subset, extractor, cells=cells_text(summary, metrics)))


def domain_table(store: pd.DataFrame, dataset: str, extractor: str, floor: DomainFloor) -> Table:
    """The models of one two-domain task on one domain task, and their floor: the task's metrics
    (registry kind of the task, those the domain task allows), each with its protocol."""
    from gans.data import DOMAIN_TASKS

    subset = store[(store["dataset"] == dataset) & (store["extractor"] == extractor)
                   & (store["task"] == floor.task) & (store["domain_task"] == floor.domain_task)]
    kind = registry.kind_of_task(floor.task)
    preferred = [k for k in registry.keys_for(kind, DOMAIN_TASKS.get(floor.domain_task))
                 if registry.is_shown(k)]
    metrics = [m for m in metrics_in(subset, preferred) if m in preferred]
    summary = summarize(subset, metrics, num_classes=class_count(dataset, extractor))
    floor_text = (f"The floor row: real train images of each domain of {floor.domain_task}, in "
                  "the task's format, against the same real test images of each domain.")
    caption = protocol_caption(subset, extractor, metrics, floor_text=floor_text,
                               cells=cells_text(summary, metrics))
    reference = ("FID, KID, IS, precision/recall and density/coverage score the primary output "
                 f"({_primary_output(floor.task)}) against the real {floor.domain_task} test images "
                 "of its domain, not against the dataset's: not comparable with the results table.")
    protocols = [registry.get(m).protocol for m in metrics if registry.get(m).protocol]
    return _table(summary, metrics, [reference, *protocols, *caption])


def _primary_output(task: str) -> str:
    from gans.tasks import TASKS

    return TASKS.get(task).primary


def cost_table(store: pd.DataFrame, dataset: str, notes: Sequence[str] = ()) -> Table:
    """Training cost per model: wall time, images/s, peak memory, CPU time."""
    subset = store[(store["dataset"] == dataset) & (store["extractor"] == COST_EXTRACTOR)]
    metrics = metrics_in(subset, COST_METRICS)
    summary = summarize(subset, metrics, counted=(COMPLETED, DIVERGED))
    caption = [
        f"Training cost per run; each cell: {cells_text(summary, metrics)}.",
        "Wall time and images/s come from the training loop (status.json); peak RSS and CPU time "
        "from Snakemake's benchmark files (the whole job, start-up included). A diverged run's "
        "cost counts up to the step it stopped at. Timings on shared machines are approximate.",
        *notes,
    ]
    return _table(summary, metrics, caption)


# --------------------------------------------------------------------------- captions
def describe_values(subset: pd.DataFrame, column: str) -> str:
    """The one value of a protocol column, or "MIXED: a (models), b (models)" when they differ."""
    known = subset.dropna(subset=[column])
    values = list(dict.fromkeys(str(v) for v in known[column]))
    if not values:
        return "unknown"
    if len(values) == 1:
        return values[0]
    parts = [f"{v} ({', '.join(roadmap_order(known.loc[known[column].astype(str) == v, 'model']))})"
             for v in values]
    return "MIXED: " + "; ".join(parts)


EXTRACTOR_NOTES = {
    "classifier": "Features of the dataset's own classifier (a frozen evaluator shipped with the "
                  "code, or retrained by this workflow where the caption says so): these numbers "
                  "are not comparable with Inception FID/IS or with published results, nor across "
                  "evaluator versions.",
    "inception-v3-compat": "Inception-v3 (TF-compatible) features, the papers' extractor; numbers "
                           "still depend on n, split and checkpoint rule.",
    TOY_EXTRACTOR: "Toy 2D metrics: a sample is high quality within 3 sigma of its nearest mode; "
                   "reverse KL of the mode histogram against uniform.",
}


def toy_protocol_text(subset: pd.DataFrame) -> str:
    """The toy protocol(s) the records were scored under, with the rule in words."""
    from gans.metrics.toy import TOY_PROTOCOLS

    names = list(dict.fromkeys(subset["toy_protocol"].dropna().astype(str)))
    rules = "; ".join(TOY_PROTOCOLS[n].rule if n in TOY_PROTOCOLS else n for n in names)
    mixed = "MIXED protocols: " if len(names) > 1 else ""
    return f"Toy 2D metrics: {mixed}{rules}."


def evaluator_text(subset: pd.DataFrame) -> str:
    """Which classifier made the features, for the caption: "frozen evaluator NAME" or
    "retrained on this machine", with its test accuracy; "" when the records do not say (older
    files, other extractors)."""
    if "extractor_version" not in subset or subset["extractor_version"].dropna().empty:
        return ""
    def named(version: object) -> str:
        return "retrained on this machine" if version == RETRAINED else f"frozen evaluator {version}"
    versions = subset.assign(extractor_version=subset["extractor_version"].map(
        lambda v: v if pd.isna(v) else named(v)))
    text = describe_values(versions, "extractor_version")
    accuracy = subset.assign(extractor_accuracy=subset["extractor_accuracy"].map(
        lambda v: v if pd.isna(v) else f"{float(v):.4f}"))
    known = describe_values(accuracy, "extractor_accuracy")
    return f"{text}, test accuracy {known}; " if known != "unknown" else f"{text}; "


def protocol_caption(subset: pd.DataFrame, extractor: str, metrics: Sequence[str] = LOWER_IS_BETTER,
                     floor_text: str = "The floor row compares a real train subset with the same "
                                       "real split.", *, cells: str) -> list[str]:
    """How the numbers of one table were made, one statement per line (`metrics`: those the
    table shows, for the direction line; `cells`: what its cells show, `cells_text`)."""
    models = subset[~subset["model"].map(is_floor)]
    sha = describe_values(subset.assign(extractor_sha256=subset["extractor_sha256"].str[:12]),
                          "extractor_sha256")
    seeds = ", ".join(str(s) for s in sorted(subset["seed"].dropna().unique()))
    lines = [
        f"Extractor: {extractor} ({evaluator_text(subset)}weights sha256 {sha}).",
        f"n_generated {describe_values(subset, 'n_generated')} vs n_real "
        f"{describe_values(subset, 'n_real')} real images of the "
        f"{describe_values(subset, 'real_split')} split.",
        f"Quantization: {describe_values(models, 'quantization')}.",
        f"Checkpoint rule: {describe_values(models, 'checkpoint_rule')}; training steps: "
        f"{describe_values(models, 'step')}.",
        f"Training seeds {seeds}. Each cell: {cells}; seeds without a number are left out, "
        "and (n=k) marks a metric with fewer seeds than the model's.",
        f"Lower is better for "
        f"{', '.join(registry.label(m) for m in metrics if registry.get(m).lower_is_better)}; "
        f"higher for the rest. {floor_text}",
    ]
    if extractor == TOY_EXTRACTOR and "toy_protocol" in subset and subset["toy_protocol"].notna().any():
        lines.append(toy_protocol_text(subset))
    elif extractor in EXTRACTOR_NOTES:
        lines.append(EXTRACTOR_NOTES[extractor])
    for model in roadmap_order(models["model"].dropna()):
        note = protocol_notes(model)
        if note:
            lines.append(f"{model}: {note}")
    return lines


# --------------------------------------------------------------------------- formats
def latex_escape(text: str) -> str:
    replacements = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                    "^": r"\textasciicircum{}", "±": r"$\pm$", "—": "---", "–": "--"}
    return "".join(replacements.get(ch, ch) for ch in str(text))


def to_markdown(frame: pd.DataFrame) -> str:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def markdown_with_caption(table: Table) -> str:
    """The table, then its caption lines as one paragraph with line breaks."""
    return to_markdown(table.text) + "\n" + "  \n".join(table.caption) + "\n"


def html_document(table: Table, title: str) -> str:
    body = table.text.to_html(index=False, escape=True, border=0, classes="results")
    caption = "".join(f"<p>{html.escape(line)}</p>" for line in table.caption)
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title></head>\n<body>\n<h3>{html.escape(title)}</h3>\n{body}\n"
            f"<div class=\"caption\">{caption}</div>\n</body></html>\n")


def latex_document(table: Table, label: str) -> str:
    return table.latex.to_latex(index=False, escape=False,
                                caption=latex_escape(" ".join(table.caption)), label=label)


def write_table(table: Table, stem: Path, title: str, label: Optional[str] = None) -> list[Path]:
    """Write stem.md, stem.html and stem.tex."""
    return [
        write_text_atomic(f"{stem}.md", markdown_with_caption(table)),
        write_text_atomic(f"{stem}.html", html_document(table, title)),
        write_text_atomic(f"{stem}.tex", latex_document(table, label or f"tab:{Path(stem).name}")),
    ]
