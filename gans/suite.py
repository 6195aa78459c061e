"""Benchmark suites: a grid of models x datasets x seeds with one budget and one protocol.

The schema (config/suite.schema.yaml) checks shapes and ranges; `check_suite` checks what only
the code knows: that every model and dataset is registered and that each model can train on
each dataset. Both run when Snakemake starts, so a bad suite stops the workflow before any job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gans.data import DATASETS
from gans.models import MODELS


class SuiteError(ValueError):
    """A suite names something that does not exist or cannot run; the message names the field."""


def load_suite(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"suite file {path} does not exist")
    with open(path) as f:
        suite = yaml.safe_load(f)
    if not isinstance(suite, dict):
        raise SuiteError(f"suite file {path} does not hold a mapping")
    return suite


def check_suite(suite: dict[str, Any]) -> None:
    """Raise SuiteError for unknown models/datasets, impossible pairs, or bad per-model entries."""
    for i, name in enumerate(suite.get("models", [])):
        if name not in MODELS:
            raise SuiteError(f"models[{i}]: unknown model {name!r} (known: {', '.join(MODELS.names())})")
    for i, name in enumerate(suite.get("datasets", [])):
        if name not in DATASETS:
            raise SuiteError(f"datasets[{i}]: unknown dataset {name!r} "
                             f"(known: {', '.join(DATASETS.names())})")
    for model in suite.get("models", []):
        for dataset in suite.get("datasets", []):
            kind = DATASETS.get(dataset).kind
            if kind not in MODELS.get(model).data_kinds:
                raise SuiteError(f"models: {model!r} cannot train on {dataset!r} ({kind} data)")
    budget = suite.get("budget", {})
    for field in ("steps", "batch_size", "checkpoint_every"):
        if field in budget and (not isinstance(budget[field], int) or budget[field] < 1):
            raise SuiteError(f"budget.{field}: must be a positive integer, got {budget[field]!r}")
    for model, steps in budget.get("model_steps", {}).items():
        if model not in suite.get("models", []):
            raise SuiteError(f"budget.model_steps.{model}: {model!r} is not in this suite's models")
        if not isinstance(steps, int) or steps < 1:
            raise SuiteError(f"budget.model_steps.{model}: must be a positive integer, got {steps!r}")
    for model, overrides in suite.get("model_config", {}).items():
        if model not in MODELS:
            raise SuiteError(f"model_config.{model}: unknown model {model!r}")
        try:
            MODELS.get(model).resolve_config(overrides)
        except ValueError as error:
            raise SuiteError(f"model_config.{model}: {error}") from None


def steps_for(suite: dict[str, Any], model: str) -> int:
    return int(suite["budget"].get("model_steps", {}).get(model, suite["budget"]["steps"]))


def model_config_for(suite: dict[str, Any], model: str) -> dict[str, Any]:
    return dict(suite.get("model_config", {}).get(model, {}))
