"""Toy 2-D Gaussian mixtures: the standard mode-collapse probes.

- ring-8: 8 modes on a circle of radius 2, sigma 0.02 (the WGAN-GP toy code's 8 Gaussians);
- ring-8-unit: 8 modes at angles 2 pi k / 8 on the unit circle, sigma 0.01: the ring of PacGAN's
  released code (and of the Unrolled-GAN / GDPP papers, whose code places the means with
  linspace(0, 2 pi, 8), repeating one: ours are 8 distinct means);
- grid-25: means {-4, -2, 0, 2, 4}^2, sigma 0.05: the grid of VEEGAN, PacGAN and GDPP.

Their points are drawn from a fixed seed per split, so a prepared toy split is the same on every
machine without downloading anything. The numbers here (modes, sigma, sizes, seeds) define the
benchmark's toy data: changing any of them changes every toy result. They are registered as
datasets of kind "points" next to the image datasets of sources.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable

import torch

from gans.data.sources import DATASETS, DatasetSource, RawSplit


@dataclass(frozen=True)
class ToyMixture:
    """K equal-weight isotropic Gaussians in the plane and the size of each split."""

    modes: torch.Tensor  # K x 2
    sigma: float
    sizes: dict[str, int]


def ring_modes(k: int = 8, radius: float = 2.0) -> torch.Tensor:
    """k modes evenly spaced on a circle (angles in float64, stored as float32)."""
    angles = torch.arange(k, dtype=torch.float64) * (2 * math.pi / k)
    return torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], 1).float()


def grid_modes(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    """side x side modes on a square grid centred on the origin."""
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    return torch.cartesian_prod(coords, coords)


TOY_MIXTURES = MappingProxyType({
    "ring-8": ToyMixture(ring_modes(), 0.02, {"train": 50_000, "test": 10_000}),
    "ring-8-unit": ToyMixture(ring_modes(radius=1.0), 0.01, {"train": 50_000, "test": 10_000}),
    "grid-25": ToyMixture(grid_modes(), 0.05, {"train": 50_000, "test": 10_000}),
})
TOY_SPLIT_SEEDS = MappingProxyType({"train": 1, "test": 2})


def sample_toy(name: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Points and mode labels of a toy split, from a fixed per-split seed."""
    mixture = TOY_MIXTURES[name]
    generator = torch.Generator().manual_seed(TOY_SPLIT_SEEDS[split])
    n = mixture.sizes[split]
    labels = torch.randint(len(mixture.modes), (n,), generator=generator)
    points = mixture.modes[labels] + mixture.sigma * torch.randn(n, 2, generator=generator)
    return points, labels


def _toy_loader(name: str) -> Callable[[str, Path, dict[str, Any]], RawSplit]:
    def load(split: str, raw_dir: Path, options: dict[str, Any]) -> RawSplit:
        return RawSplit(*sample_toy(name, split))

    return load


def _register_toy_datasets() -> None:
    for name, mixture in TOY_MIXTURES.items():
        DATASETS.register(name)(DatasetSource(name, "points", len(mixture.modes), 2, 0,
                                              _toy_loader(name), dict(mixture.sizes)))


_register_toy_datasets()
