"""Mode-collapse metrics for the toy 2D mixtures (ring of 8, grid of 25 Gaussians).

The standard protocol (Srivastava et al. 2017 "VEEGAN"; Lin et al. 2018 "PacGAN"), stated here:
- a sample is high quality when it lies within 3 sigma of its nearest mode centre;
- a mode is covered when it holds at least max(1, ceil(N * 20 / 2500)) high-quality samples,
  i.e. PacGAN's "20 samples out of 2,500" scaled to the N samples evaluated (80 for N = 10,000);
- high_quality_share = high-quality samples / N;
- reverse_kl = KL(p || u) = sum_k p_k log(p_k K), where p is the histogram of the high-quality
  samples over the K modes (normalised over high-quality samples only) and u is uniform over
  the modes; 0 for perfect balance, log K when every good sample sits on one mode; null when no
  sample is high quality (there is no histogram).
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch

HIGH_QUALITY_SIGMAS = 3.0
MODE_MIN_SHARE = 20 / 2500
TOY_METRIC_KEYS = ("modes_covered", "high_quality_share", "reverse_kl")
TOY_RULE = ("high quality: within 3 sigma of the nearest mode; a mode is covered with >= "
            "max(1, ceil(N * 20 / 2500)) high-quality samples; reverse_kl = KL(p || uniform) of the "
            "high-quality samples' mode histogram (natural log)")


def mode_min_count(n: int) -> int:
    """High-quality samples a mode needs to count as covered, for n evaluated samples."""
    return max(1, math.ceil(n * MODE_MIN_SHARE - 1e-9))


def toy_metrics(points: torch.Tensor, modes: torch.Tensor, sigma: float) -> dict[str, Any]:
    """Metrics of N x 2 points against K mode centres of a mixture with per-mode std `sigma`.

    Returns {"metrics": {modes_covered, high_quality_share, reverse_kl}, "per_mode": {...}}.
    """
    if points.ndim != 2 or points.shape[1] != modes.shape[1]:
        raise ValueError(f"points must be N x {modes.shape[1]}, got {tuple(points.shape)}")
    if len(points) == 0:
        raise ValueError("no points to evaluate")
    distances = torch.cdist(points.double(), modes.double())          # N x K
    nearest_distance, nearest_mode = distances.min(dim=1)
    high_quality = nearest_distance <= HIGH_QUALITY_SIGMAS * sigma
    counts = torch.bincount(nearest_mode[high_quality], minlength=len(modes))
    min_count = mode_min_count(len(points))
    reverse_kl: Optional[float] = None
    if counts.sum() > 0:
        p = counts.double() / counts.sum()
        nonzero = p > 0
        reverse_kl = float((p[nonzero] * (p[nonzero] * len(modes)).log()).sum())
    return {
        "metrics": {
            "modes_covered": float((counts >= min_count).sum()),
            "high_quality_share": float(high_quality.double().mean()),
            "reverse_kl": reverse_kl,
        },
        "per_mode": {"high_quality_count": counts.tolist(), "min_count": min_count,
                     "modes_total": len(modes)},
    }
