"""Published numbers (anchors.yaml, shipped with the package): shown apart, never ranked with ours."""

from __future__ import annotations

from importlib import resources

import pandas as pd
import yaml

ANCHORS_FILE = "anchors.yaml"
NOT_COMPARABLE = ("Published numbers, under their own protocols (datasets, extractors, sample "
                  "sizes, checkpoint choice): not comparable with the tables above and never "
                  "ranked with them.")


def load_anchors() -> dict[str, pd.DataFrame]:
    """{"papers": model/year/dataset/result/protocol, "harnesses": source/dataset/protocol/results}."""
    text = resources.files("gans.report").joinpath(ANCHORS_FILE).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return {"papers": pd.DataFrame(data["papers"]), "harnesses": pd.DataFrame(data["harnesses"])}


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
