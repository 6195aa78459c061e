"""Density and coverage (Naeem et al., 2020, "Reliable Fidelity and Diversity Metrics for
Generative Models"); torch-fidelity 0.4.0 does not have them.

Each real sample X_i gets a ball of radius r_i = distance to its k-th nearest other real sample.
  density  = 1 / (k M) * sum_j sum_i 1[Y_j in B(X_i, r_i)]   (M generated samples Y_j)
  coverage = 1 / N     * sum_i 1[some Y_j in B(X_i, r_i)]     (N real samples X_i)
Balls are closed (distance <= radius), as in torch-fidelity's precision/recall. For two samples of
one distribution density is ~1 and coverage ~1 - 2^-k.
"""

from __future__ import annotations

import torch

DEFAULT_K = 5
CHUNK = 2048


def kth_neighbour_radii(real: torch.Tensor, k: int, chunk: int = CHUNK) -> torch.Tensor:
    """Distance from each real sample to its k-th nearest other real sample."""
    if len(real) <= k:
        raise ValueError(f"need more than k={k} real samples, got {len(real)}")
    radii = []
    for block in real.split(chunk):
        # k + 1: every sample is its own nearest neighbour at distance 0
        radii.append(torch.cdist(block, real).kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def density_coverage(real: torch.Tensor, fake: torch.Tensor, k: int = DEFAULT_K,
                     chunk: int = CHUNK) -> dict[str, float]:
    """Density and coverage of `fake` (M x D) against `real` (N x D) features."""
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features must be N x D and M x D, got {tuple(real.shape)}, {tuple(fake.shape)}")
    real, fake = real.float(), fake.float()
    radii = kth_neighbour_radii(real, k, chunk)
    balls_holding = torch.zeros(len(fake), dtype=torch.float64)   # per fake: how many balls hold it
    covered = torch.zeros(len(real), dtype=torch.bool)
    for start in range(0, len(real), chunk):
        block_radii = radii[start:start + chunk]
        inside = torch.cdist(real[start:start + chunk], fake) <= block_radii[:, None]  # real x fake
        balls_holding += inside.sum(dim=0, dtype=torch.float64)
        covered[start:start + chunk] = inside.any(dim=1)
    return {"density": float(balls_holding.sum() / (k * len(fake))),
            "coverage": float(covered.double().mean())}
