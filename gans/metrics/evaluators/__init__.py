"""Frozen evaluators: domain classifiers trained once and shipped with the package.

A classifier retrained on every machine is not one yardstick: CPUs with other kernels (AVX2,
AVX-512, ...) round differently, so the same recipe gives different weights, and the same
generator different FIDs. A frozen evaluator is trained once (`python -m gans train-classifier
... --freeze NAME`), and its weights file ships here beside a card, NAME.json, that records
what it is: version, architecture, feature layer, test accuracy, the sha256 of its tensors
(gans.metrics.weights.tensors_sha256), the sha256 of the data it was trained and measured on,
the recipe, and the torch version and CPU capability it was trained with.

Every load checks the tensors against the card (`checked_evaluator`): a changed or corrupt
file stops with one line. The real-features step measures the test accuracy again, which must
match the card's to 1e-3 (`check_accuracy`).
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any, Mapping, Optional

from gans.provenance import cpu_model

EVALUATORS_DIR = Path(__file__).resolve().parent
CARD_KIND = "frozen-evaluator"
ACCURACY_TOLERANCE = 1e-3

# dataset -> the frozen evaluator its `classifier` extractor uses unless a suite retrains
FROZEN = {"fashion-mnist": "classifier-fashion-mnist-v2"}

RETRAINED = "retrained"  # the version recorded for a classifier trained by the workflow


class EvaluatorError(RuntimeError):
    """A frozen evaluator's weights or accuracy do not match its card."""


def frozen_weights(dataset: str) -> Optional[Path]:
    """The shipped weights file of the dataset's frozen evaluator, None when it has none."""
    name = FROZEN.get(dataset)
    return None if name is None else EVALUATORS_DIR / f"{name}.pt"


def card_path(weights: Path | str) -> Path:
    """The card beside a weights file: the same name, .json."""
    return Path(weights).with_suffix(".json")


def read_card(weights: Path | str) -> Optional[dict[str, Any]]:
    """The frozen-evaluator card beside a weights file, None when there is none (a classifier
    trained by the workflow has an info file there, which is not a card)."""
    path = card_path(weights)
    if not path.is_file():
        return None
    card = json.loads(path.read_text())
    return card if isinstance(card, dict) and card.get("kind") == CARD_KIND else None


def checked_evaluator(weights: Path | str, record: Mapping[str, Any],
                      tensors_sha256: str) -> Optional[dict[str, Any]]:
    """The card of a frozen evaluator whose tensors hash as the card says; None for a classifier
    that is not frozen. Raises EvaluatorError (one line) when the hash differs, or when a file
    marked frozen has lost its card."""
    card = read_card(weights)
    frozen_as = record.get("evaluator")
    if card is None:
        if frozen_as:
            raise EvaluatorError(f"{weights} is the frozen evaluator {frozen_as} but its card "
                                 f"{card_path(weights)} is missing: reinstall the package's file")
        return None
    if card["tensors_sha256"] != tensors_sha256:
        raise EvaluatorError(f"frozen evaluator {card['name']} ({weights}): its tensors hash to "
                             f"{tensors_sha256[:16]}..., its card says {card['tensors_sha256'][:16]}...: "
                             f"the weights were changed; restore the package's file, or retrain "
                             f"(suite: evaluation.classifier.source: retrain)")
    return card


def check_accuracy(card_or_record: Mapping[str, Any], measured: float, test_data_sha256: str,
                   what: str) -> None:
    """The test accuracy measured here must match the recorded one to 1e-3 (on the same data)."""
    expected_data = card_or_record.get("test_data_sha256")
    if expected_data and expected_data != test_data_sha256:
        raise EvaluatorError(f"{what} was measured on test data {expected_data[:12]}..., this test "
                             f"split is {test_data_sha256[:12]}...: not the same data")
    expected = float(card_or_record["test_accuracy"])
    if abs(measured - expected) > ACCURACY_TOLERANCE:
        raise EvaluatorError(f"{what}: test accuracy {measured:.4f} here, {expected:.4f} recorded "
                             f"(tolerance {ACCURACY_TOLERANCE}): this machine computes its features "
                             f"differently; retrain (suite: evaluation.classifier.source: retrain)")


def cpu_capability() -> str:
    """The CPU kernels torch dispatches to here (e.g. AVX2, AVX512) and the CPU's name."""
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    name = cpu_model()
    return f"{capability} ({platform.machine() if name == 'unknown' else name})"
