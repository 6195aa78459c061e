"""Published numbers (anchors.yaml, shipped with the package): shown apart, never ranked with ours."""

from __future__ import annotations

from importlib import resources
from typing import Optional

import pandas as pd
import yaml

ANCHORS_FILE = "anchors.yaml"
NOT_COMPARABLE = ("Published numbers, under their own protocols (datasets, extractors, sample "
                  "sizes, checkpoint choice): not comparable with the tables above and never "
                  "ranked with them.")


NOT_RANKED = ("Published numbers on this dataset, each under its source's protocol (extractor "
              "implementation, sample sizes, checkpoint choice, often another architecture or "
              "recipe): not ranked with ours, and not comparable with them.")
DATASET_COLUMNS = {"model": "Model", "source": "Source", "fid": "FID", "is": "IS",
                   "precision": "Precision", "recall": "Recall", "other": "Other",
                   "protocol": "Their protocol"}


def _anchors_data() -> dict:
    text = resources.files("gans.report").joinpath(ANCHORS_FILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_anchors() -> dict[str, pd.DataFrame]:
    """{"papers": model/year/dataset/result/protocol, "harnesses": source/dataset/protocol/results}."""
    data = _anchors_data()
    return {"papers": pd.DataFrame(data["papers"]), "harnesses": pd.DataFrame(data["harnesses"])}


def has_dataset_anchors(dataset: str) -> bool:
    """Whether published numbers of the roadmap's models on this dataset are recorded."""
    return bool(_anchors_data().get("datasets", {}).get(dataset))


def dataset_anchors(dataset: str) -> Optional[pd.DataFrame]:
    """The published numbers on one dataset (display columns, "—" where a source gives none), or
    None when none are recorded."""
    rows = _anchors_data().get("datasets", {}).get(dataset)
    if not rows:
        return None
    frame = pd.DataFrame(rows, columns=list(DATASET_COLUMNS))
    return frame.astype(object).where(frame.notna(), "—").rename(columns=DATASET_COLUMNS)


def anchors_tables() -> dict[str, pd.DataFrame]:
    """The anchors with display column names, papers in roadmap (year) order."""
    anchors = load_anchors()
    papers = anchors["papers"].sort_values("year", kind="stable").rename(columns={
        "model": "Model", "year": "Year", "dataset": "Dataset", "result": "Published result",
        "protocol": "Their protocol"})
    harnesses = anchors["harnesses"].rename(columns={
        "source": "Source", "dataset": "Dataset", "protocol": "Their protocol",
        "results": "Published results"})
    return {"papers": papers, "harnesses": harnesses}
