"""The tidy results store: one row per (dataset, model, seed, extractor, metric).

Every table and figure is built from this one file. It is gathered from the files the workflow
declares for a suite, found through the one results layout (gans/layout.py):
  metrics file     metric values and their protocol, per (dataset, extractor, model, seed)
  status.json      run status, wall time, images/s
  train benchmark  Snakemake's benchmark TSV: peak RSS, CPU time
The metric keys (and which evaluations produce them) come from gans.metrics.registry.
Cost rows carry extractor "-". Every (model of the suite, dataset, seed) appears: a run without
files is kept with status "missing", a diverged one with status "diverged"; neither has metric
values, so nothing is silently dropped from a table. Rows of two-domain models and of their
floors carry their task and domain task: they are compared with the real images of their
domains, not with the dataset's, and are tabled apart (empty for the others).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from gans.io import write_atomic
from gans.layout import (TOY_EXTRACTOR, ResultsLayout, evaluated_models, extractors_for,
                         two_domain_evaluation)
from gans.metrics import registry
from gans.report.roadmap import is_conditional, model_year

STORE_COLUMNS = [
    "suite", "dataset", "model", "year", "seed", "extractor", "metric", "value", "status",
    "n_generated", "n_real", "real_split", "extractor_sha256", "extractor_version",
    "extractor_accuracy", "quantization", "truncation", "checkpoint_rule", "step", "diverged_at",
    "task", "domain_task", "toy_protocol",
]
INTEGER_COLUMNS = ["year", "seed", "n_generated", "n_real", "step", "diverged_at"]
FLOAT_COLUMNS = ["value", "truncation", "extractor_accuracy"]  # truncation: empty = off

COST_EXTRACTOR = "-"
COST_METRICS = registry.keys_for(registry.COST)

COMPLETED, DIVERGED, MISSING = "completed", "diverged", "missing"


# --------------------------------------------------------------------------- reading files
def _read_json(path: Path) -> Optional[dict[str, Any]]:
    return json.loads(path.read_text()) if path.is_file() else None


def read_benchmark(path: Path) -> Optional[dict[str, float]]:
    """Peak RSS (MB) and CPU time (s) of a Snakemake benchmark TSV ("NA"/"-" read as missing;
    with repeated measurements: the largest RSS, the mean CPU time)."""
    if not path.is_file():
        return None
    table = pd.read_csv(path, sep="\t", na_values=["NA", "-"])
    if table.empty:
        return None
    empty = pd.Series(dtype="float64")
    rss = pd.to_numeric(table.get("max_rss", empty), errors="coerce")
    cpu = pd.to_numeric(table.get("cpu_time", empty), errors="coerce")
    return {"peak_rss_mb": _finite_or_none(rss.max()), "cpu_time_s": _finite_or_none(cpu.mean())}


def _finite_or_none(value: Any) -> Optional[float]:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if pd.notna(value) else None


def evaluation_kind(extractor: str, model: str, task: Optional[str] = None) -> str:
    """The registry's kind of evaluation a (extractor, model) pair gets; `task`: the task of a
    two-domain model or floor."""
    if extractor == TOY_EXTRACTOR:
        return registry.TOY
    if task is not None:
        return registry.kind_of_task(task)
    return registry.CONDITIONAL_IMAGE if is_conditional(model) else registry.IMAGE


def expected_metrics(extractor: str, model: str, task: Optional[str] = None,
                     domain_task: Optional[str] = None) -> tuple[str, ...]:
    """The metric keys a run is expected to have: a missing run gets these (empty) rows."""
    if domain_task is None:
        return registry.keys_for(evaluation_kind(extractor, model, task))
    from gans.data import DOMAIN_TASKS

    return registry.keys_for(evaluation_kind(extractor, model, task), DOMAIN_TASKS.get(domain_task))


# --------------------------------------------------------------------------- building rows
def run_status(status: Optional[dict[str, Any]], metrics: Optional[dict[str, Any]]) -> str:
    """A run is diverged if training or sampling says so, missing when nothing was written for it."""
    said = [record.get("status") for record in (status, metrics) if record is not None]
    if not said:
        return MISSING
    if DIVERGED in said:
        return DIVERGED
    if metrics is None:  # trained, but this extractor's evaluation never ran
        return MISSING
    return said[-1] if said[-1] in (COMPLETED, DIVERGED) else str(said[-1])


def metric_rows(base: dict[str, Any], suite: dict[str, Any], status: Optional[dict[str, Any]],
                metrics: Optional[dict[str, Any]], extractor: str) -> list[dict[str, Any]]:
    """The rows of one (model, dataset, seed, extractor): one per metric key."""
    state = run_status(status, metrics)
    evaluation = suite.get("evaluation", {})
    protocol = (metrics or {}).get("protocol", {})
    values = (metrics or {}).get("metrics", {})
    keys = list(values) or list(expected_metrics(extractor, base["model"], base.get("task"),
                                                 base.get("domain_task")))
    shared = {
        **base, "extractor": extractor, "status": state,
        "n_generated": protocol.get("n_generated", evaluation.get("n_generated")),
        "n_real": protocol.get("n_real", evaluation.get("n_real")),
        "real_split": protocol.get("real_split", evaluation.get("real_split")),
        "extractor_sha256": protocol.get("extractor_sha256"),
        # the classifier: its frozen evaluator's name or "retrained", and its measured test
        # accuracy (absent in older files and for other extractors)
        "extractor_version": protocol.get("extractor_version"),
        "extractor_accuracy": protocol.get("extractor_accuracy"),
        "quantization": protocol.get("quantization"),
        "truncation": protocol.get("truncation"),  # absent (older files) or None: off
        "checkpoint_rule": protocol.get("checkpoint_rule", (status or {}).get("checkpoint_rule")),
        "step": protocol.get("step", (status or {}).get("steps_done")),
        "diverged_at": (status or {}).get("diverged_at"),
        "toy_protocol": protocol.get("toy_protocol"),  # toy data: the protocol that scored it
    }
    return [{**shared, "metric": key,
             "value": _finite_or_none(values.get(key)) if state == COMPLETED else None}
            for key in keys]


def cost_rows(base: dict[str, Any], status: Optional[dict[str, Any]],
              benchmark: Optional[dict[str, float]]) -> list[dict[str, Any]]:
    """Training cost of one run; kept for diverged runs too (the time was spent)."""
    state = status.get("status", MISSING) if status is not None else MISSING
    # status.json keeps them in "timing"; files written before that, at the top level
    timing = (status or {}).get("timing") or status or {}
    values = {"wall_time_s": timing.get("wall_time_s"), "images_per_s": timing.get("images_per_s"),
              **(benchmark or {})}
    shared = {**base, "extractor": COST_EXTRACTOR, "status": state,
              "checkpoint_rule": (status or {}).get("checkpoint_rule"),
              "step": (status or {}).get("steps_done"),
              "diverged_at": (status or {}).get("diverged_at")}
    return [{**shared, "metric": key, "value": _finite_or_none(values.get(key))}
            for key in COST_METRICS]


def build_store(suite: dict[str, Any], results: ResultsLayout, inception: bool = False) -> pd.DataFrame:
    """Gather every metric, status and benchmark file of the suite into the tidy store.

    `inception`: the workflow had Inception weights, so image datasets were also evaluated with
    inception-v3-compat (the same rule as the workflow's, gans.layout.extractors_for).
    """
    name = suite["name"]
    rows: list[dict[str, Any]] = []
    for dataset in suite["datasets"]:
        extractors = extractors_for(suite, dataset, inception)
        for model in evaluated_models(suite):
            for seed in suite["seeds"]:
                task, domain_task = two_domain_evaluation(suite, model) or (None, None)
                base = {"suite": name, "dataset": dataset, "model": model,
                        "year": model_year(model), "seed": int(seed), "task": task,
                        "domain_task": domain_task}
                status = None
                if model in suite["models"]:  # a trained model (not a floor)
                    status = _read_json(Path(results.status_file(dataset, model, seed)))
                    bench = read_benchmark(Path(results.train_benchmark(dataset, model, seed)))
                    rows += cost_rows(base, status, bench)
                for extractor in extractors:
                    metrics = _read_json(Path(results.metrics_file(dataset, extractor, model, seed)))
                    rows += metric_rows(base, suite, status, metrics, extractor)
    return as_store(pd.DataFrame(rows, columns=STORE_COLUMNS))


def as_store(frame: pd.DataFrame) -> pd.DataFrame:
    """The store's column order and types (nullable integers, float values, text elsewhere)."""
    frame = frame.reindex(columns=STORE_COLUMNS).copy()
    for column in INTEGER_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").round().astype("Int64")
    for column in FLOAT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in set(STORE_COLUMNS) - set(INTEGER_COLUMNS) - set(FLOAT_COLUMNS):
        frame[column] = frame[column].astype("string")
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------- files
def write_store(store: pd.DataFrame, out_csv: Path | str) -> list[Path]:
    """Write store.csv and, beside it, store.parquet (when a Parquet engine is installed)."""
    out_csv = Path(out_csv)
    written = [write_atomic(out_csv, lambda tmp: store.to_csv(tmp, index=False))]
    try:
        parquet = out_csv.with_suffix(".parquet")
        written.append(write_atomic(parquet, lambda tmp: store.to_parquet(tmp, index=False)))
    except ImportError:
        print("[aggregate] no Parquet engine (pyarrow): wrote CSV only", flush=True)
    return written


def load_store(path: Path | str) -> pd.DataFrame:
    """Read a store written by `write_store` (CSV or Parquet) with the store's types."""
    path = Path(path)
    if path.suffix == ".parquet":
        return as_store(pd.read_parquet(path))
    return as_store(pd.read_csv(path, dtype={"extractor_sha256": "string"}, keep_default_na=True))
