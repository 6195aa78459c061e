"""The tidy results store: one row per (dataset, model, seed, extractor, metric).

Every table and figure is built from this one file. It is gathered from the files the workflow
writes for a suite (see the shared formats):
  metrics/{dataset}/{extractor}/{model}/seed{seed}.json   metric values and their protocol
  runs/{dataset}/{model}/seed{seed}/status.json            run status, wall time, images/s
  benchmarks/train/{dataset}/{model}/seed{seed}.tsv        Snakemake benchmark: peak RSS, CPU time
Cost rows carry extractor "-". Every (model of the suite, dataset, seed) appears: a run without
files is kept with status "missing", a diverged one with status "diverged"; neither has metric
values, so nothing is silently dropped from a table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from gans.report.files import write_atomic
from gans.report.roadmap import REAL, is_conditional, model_year

STORE_COLUMNS = [
    "suite", "dataset", "model", "year", "seed", "extractor", "metric", "value", "status",
    "n_generated", "n_real", "real_split", "extractor_sha256", "quantization", "checkpoint_rule",
    "step", "diverged_at",
]
INTEGER_COLUMNS = ["year", "seed", "n_generated", "n_real", "step", "diverged_at"]

COST_EXTRACTOR = "-"
COST_METRICS = ("wall_time_s", "images_per_s", "peak_rss_mb", "cpu_time_s")
TOY_EXTRACTOR = "toy"

# Metric keys a run is expected to have, used to give missing runs their (empty) rows.
IMAGE_METRICS = ("fid", "is_mean", "is_std", "kid_mean", "kid_std", "precision", "recall",
                 "density", "coverage")
CONDITIONAL_METRICS = ("class_accuracy", "intra_fid")
TOY_METRICS = ("modes_covered", "high_quality_share", "reverse_kl")

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


def dataset_kind(dataset: str) -> str:
    """"image" or "points" from the dataset registry; unregistered datasets count as images."""
    from gans.data import DATASETS

    return DATASETS.get(dataset).kind if dataset in DATASETS else "image"


def extractors_for(suite: dict[str, Any], dataset: str, results: Path) -> list[str]:
    """The suite's extractors that apply to the dataset, plus any found on disk for it
    (e.g. inception-v3-compat when the workflow was given Inception weights)."""
    configured = suite.get("evaluation", {}).get("extractors", [])
    if dataset_kind(dataset) == "points":
        names = [TOY_EXTRACTOR]
    else:
        names = [e for e in configured if e != TOY_EXTRACTOR]
    on_disk = results / "metrics" / dataset
    if on_disk.is_dir():
        names += sorted(p.name for p in on_disk.iterdir() if p.is_dir() and p.name not in names)
    return names


def expected_metrics(extractor: str, model: str) -> tuple[str, ...]:
    if extractor == TOY_EXTRACTOR:
        return TOY_METRICS
    return IMAGE_METRICS + (CONDITIONAL_METRICS if is_conditional(model) else ())


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
    keys = list(values) or list(expected_metrics(extractor, base["model"]))
    shared = {
        **base, "extractor": extractor, "status": state,
        "n_generated": protocol.get("n_generated", evaluation.get("n_generated")),
        "n_real": protocol.get("n_real", evaluation.get("n_real")),
        "real_split": protocol.get("real_split", evaluation.get("real_split")),
        "extractor_sha256": protocol.get("extractor_sha256"),
        "quantization": protocol.get("quantization"),
        "checkpoint_rule": protocol.get("checkpoint_rule", (status or {}).get("checkpoint_rule")),
        "step": protocol.get("step", (status or {}).get("steps_done")),
        "diverged_at": (status or {}).get("diverged_at"),
    }
    return [{**shared, "metric": key,
             "value": _finite_or_none(values.get(key)) if state == COMPLETED else None}
            for key in keys]


def cost_rows(base: dict[str, Any], status: Optional[dict[str, Any]],
              benchmark: Optional[dict[str, float]]) -> list[dict[str, Any]]:
    """Training cost of one run; kept for diverged runs too (the time was spent)."""
    state = status.get("status", MISSING) if status is not None else MISSING
    values = {"wall_time_s": (status or {}).get("wall_time_s"),
              "images_per_s": (status or {}).get("images_per_s"), **(benchmark or {})}
    shared = {**base, "extractor": COST_EXTRACTOR, "status": state,
              "checkpoint_rule": (status or {}).get("checkpoint_rule"),
              "step": (status or {}).get("steps_done"),
              "diverged_at": (status or {}).get("diverged_at")}
    return [{**shared, "metric": key, "value": _finite_or_none(values.get(key))}
            for key in COST_METRICS]


def build_store(suite: dict[str, Any], results: Path | str) -> pd.DataFrame:
    """Gather every metric, status and benchmark file of the suite into the tidy store."""
    results = Path(results)
    name = suite["name"]
    rows: list[dict[str, Any]] = []
    for dataset in suite["datasets"]:
        extractors = extractors_for(suite, dataset, results)
        for model in list(suite["models"]) + [REAL]:
            for seed in suite["seeds"]:
                base = {"suite": name, "dataset": dataset, "model": model,
                        "year": model_year(model), "seed": int(seed)}
                status = None
                if model != REAL:
                    run_dir = results / "runs" / dataset / model / f"seed{seed}"
                    status = _read_json(run_dir / "status.json")
                    bench = read_benchmark(results / "benchmarks" / "train" / dataset / model
                                           / f"seed{seed}.tsv")
                    rows += cost_rows(base, status, bench)
                for extractor in extractors:
                    metrics = _read_json(results / "metrics" / dataset / extractor / model
                                         / f"seed{seed}.json")
                    rows += metric_rows(base, suite, status, metrics, extractor)
    return as_store(pd.DataFrame(rows, columns=STORE_COLUMNS))


def as_store(frame: pd.DataFrame) -> pd.DataFrame:
    """The store's column order and types (nullable integers, float values, text elsewhere)."""
    frame = frame.reindex(columns=STORE_COLUMNS).copy()
    for column in INTEGER_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").round().astype("Int64")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype("float64")
    for column in set(STORE_COLUMNS) - set(INTEGER_COLUMNS) - {"value"}:
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
