"""Image metrics from precomputed features, through torch-fidelity's own functions.

FID uses our float64 Fréchet distance (gans.metrics.frechet); IS, KID and precision/recall are
torch-fidelity's `isc_features_to_metric`, `kid_features_to_metric` and `prc_features_to_metric`;
density/coverage is ours (torch-fidelity lacks it). Conditional models also get the class
accuracy of their samples under the domain classifier and intra-class FID.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch

from gans.metrics.density_coverage import density_coverage
from gans.metrics.frechet import feature_statistics, frechet_distance

IMAGE_METRIC_KEYS = ("fid", "is_mean", "is_std", "kid_mean", "kid_std", "precision", "recall",
                     "density", "coverage", "class_accuracy", "intra_fid")


@dataclass(frozen=True)
class MetricSettings:
    """The protocol constants every image metric is computed with (recorded in each file)."""

    is_splits: int = 10
    prc_k: int = 3
    dc_k: int = 5
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    rng_seed: int = 2020          # torch-fidelity's default: IS shuffling and KID subsets

    def splits(self, n_generated: int) -> int:
        """IS splits: 10, or one per sample when there are fewer samples than that."""
        return max(1, min(self.is_splits, n_generated))

    def kid_size(self, n_generated: int, n_real: int) -> int:
        """KID's subset size, capped by the smaller sample (torch-fidelity refuses larger)."""
        return min(self.kid_subset_size, n_generated, n_real)

    def fidelity_kwargs(self, n_generated: int, n_real: int) -> dict[str, Any]:
        """torch-fidelity's keyword arguments for these settings."""
        return {"isc_splits": self.splits(n_generated), "kid_subsets": self.kid_subsets,
                "kid_subset_size": self.kid_size(n_generated, n_real),
                "prc_neighborhood": self.prc_k, "rng_seed": self.rng_seed, "samples_shuffle": True,
                "save_cpu_ram": True, "verbose": False}


def inception_score(logits: torch.Tensor, settings: MetricSettings) -> dict[str, float]:
    from torch_fidelity.metric_isc import isc_features_to_metric  # torch-fidelity loads torchvision: ~3 s

    out = isc_features_to_metric(logits, splits=settings.splits(len(logits)), shuffle=True,
                                 rng_seed=settings.rng_seed)
    return {"is_mean": out["inception_score_mean"], "is_std": out["inception_score_std"]}


def image_metrics(fake_features: torch.Tensor, fake_logits: torch.Tensor, real_features: torch.Tensor,
                  real_mu: np.ndarray, real_sigma: np.ndarray,
                  settings: MetricSettings = MetricSettings()) -> dict[str, float]:
    """FID, IS, KID, precision/recall and density/coverage of generated vs real features."""
    from torch_fidelity.metric_kid import kid_features_to_metric
    from torch_fidelity.metric_prc import prc_features_to_metric

    kwargs = settings.fidelity_kwargs(len(fake_features), len(real_features))
    fake_mu, fake_sigma = feature_statistics(fake_features)
    kid = kid_features_to_metric(fake_features, real_features, **kwargs)
    prc = prc_features_to_metric(fake_features, real_features, **kwargs)
    return {
        "fid": frechet_distance(fake_mu, fake_sigma, real_mu, real_sigma),
        **inception_score(fake_logits, settings),
        "kid_mean": kid["kernel_inception_distance_mean"],
        "kid_std": kid["kernel_inception_distance_std"],
        "precision": prc["precision"],
        "recall": prc["recall"],
        **density_coverage(real_features, fake_features, k=settings.dc_k),
    }


def class_accuracy(predicted: torch.Tensor, labels: torch.Tensor) -> tuple[Optional[float], dict[str, float]]:
    """Share of samples classified as the label they were generated for, per label, and the mean
    over labels (each label weighs the same)."""
    per_label = {str(int(c)): float((predicted[labels == c] == c).double().mean())
                 for c in labels.unique()}
    mean = float(np.mean(list(per_label.values()))) if per_label else None
    return mean, per_label


def intra_class_fid(fake_features: torch.Tensor, fake_labels: torch.Tensor, real_features: torch.Tensor,
                    real_labels: torch.Tensor) -> tuple[Optional[float], dict[str, Optional[float]]]:
    """FID between generated and real features of each label, and their mean over labels.

    A label with fewer than 2 samples on either side has no covariance: null, left out of the mean.
    """
    per_label: dict[str, Optional[float]] = {}
    for c in fake_labels.unique():
        fake_c, real_c = fake_features[fake_labels == c], real_features[real_labels == c]
        if len(fake_c) < 2 or len(real_c) < 2:
            per_label[str(int(c))] = None
            continue
        per_label[str(int(c))] = frechet_distance(*feature_statistics(fake_c), *feature_statistics(real_c))
    values = [v for v in per_label.values() if v is not None]
    return (float(np.mean(values)) if values else None), per_label
