"""Fully connected blocks: the maxout unit of the 2014 papers and plain MLPs for toy 2-D data."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import torch
from torch import nn

from gans.spec import DataSpec


class Maxout(nn.Module):
    """Maxout unit (Goodfellow et al. 2013): the max over `pieces` affine maps, per output unit."""

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(-1, self.units, self.pieces).amax(dim=2)


def mlp(in_features: int, out_features: int, hidden: int, layers: int,
        activation: Callable[[], nn.Module] = nn.ReLU) -> nn.Sequential:
    """`layers` hidden Linear+activation blocks of width `hidden`, then a Linear output with no
    activation (unbounded points for a generator, a logit or critic score for a discriminator)."""
    blocks: list[nn.Module] = []
    width = in_features
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), activation()]
        width = hidden
    blocks.append(nn.Linear(width, out_features))
    return nn.Sequential(*blocks)


def uniform_init_(module: nn.Module, irange: float) -> None:
    """pylearn2's `irange` init (used by the 2014 GAN code): weights ~ U(-irange, irange), biases 0."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.uniform_(m.weight, -irange, irange)
            nn.init.zeros_(m.bias)


class PointsDiscriminator(nn.Module):
    """A ReLU MLP from a point to one logit (or critic score): D for toy 2-D data."""

    def __init__(self, dims: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.main = mlp(dims, 1, hidden, layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1)


def points_networks(spec: DataSpec, c: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    """G and D (or critic) for toy 2-D data: ReLU MLPs `points_layers` deep and `points_hidden`
    wide; G maps `z_dim` noise to unbounded points, D maps a point to one score."""
    G = mlp(c["z_dim"], spec.channels, c["points_hidden"], c["points_layers"])
    D = PointsDiscriminator(spec.channels, c["points_hidden"], c["points_layers"])
    return G, D
