"""A stand-in for the Inception weights: torch-fidelity's Inception-v3 with random weights.

The real weights (pt_inception-2015-12-05) come from a download that offline machines cannot
make. Their architecture is what costs time, so a state dict of the same network with random
(variance-preserving) weights lets the GPU check time evaluation and lets the suite tests run the
Inception path end to end. Its numbers mean nothing: the evaluator's sha256 in every metrics file
tells it apart from the real one (whose sha256 starts with the prefix in gans.metrics.weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from gans.io import write_atomic


class _UnloadedInception(FeatureExtractorInceptionV3):
    """torch-fidelity's Inception whose constructor keeps its fresh weights: it loads the state
    dict it is handed (an empty one here) into nothing."""

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        return None


def write_random_inception(path: Path | str, seed: int = 0) -> Path:
    """Save torch-fidelity's Inception-v3 with random He-initialised conv weights (seeded) as a
    state dict that `--inception-weights` accepts; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    empty = path.with_name(path.name + ".empty")
    torch.save({}, empty)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            module = _UnloadedInception("inception-v3-compat", ["2048"], str(empty))
            for layer in module.modules():
                if isinstance(layer, torch.nn.Conv2d):
                    torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    finally:
        empty.unlink()
    write_atomic(path, lambda tmp: torch.save(module.state_dict(), tmp))
    return path
