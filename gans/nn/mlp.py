"""Fully connected blocks: the maxout unit of the 2014 papers and the MLPs of toy 2-D data.

The toy networks are set entirely from a model's config (`POINTS_DEFAULTS`, keys `points_*`),
so a suite can give every model the architecture of a published toy protocol: depth, width,
activation (maxout included), normalisation and initialisation of G and of D separately.
"""

from __future__ import annotations

from types import MappingProxyType
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


# --------------------------------------------------------------------------- toy 2-D networks
MAXOUT = "maxout"  # an activation name: the hidden layer is a Maxout unit instead of Linear + act
ACTIVATIONS: Mapping[str, Callable[[], nn.Module]] = MappingProxyType({
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "leaky-relu": lambda: nn.LeakyReLU(0.2),
})
# Normalisation after each hidden affine map. Batch norm's running averages move by 0.05 per
# step, as in PacGAN's released code (Blocks); evaluation uses them (the network in eval mode).
NORMS: Mapping[str, Callable[[int], nn.Module]] = MappingProxyType({
    "none": lambda width: nn.Identity(),
    "batch": lambda width: nn.BatchNorm1d(width, momentum=0.05),
    "layer": lambda width: nn.LayerNorm(width),
})


def _normal_002_(module: nn.Module) -> None:
    """PacGAN's released code: weights ~ N(0, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _orthogonal_14_(module: nn.Module) -> None:
    """The Unrolled-GAN toy code that GDPP reuses: orthogonal weights with gain 1.4, biases 0."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.orthogonal_(m.weight, gain=1.4)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


INITS: Mapping[str, Callable[[nn.Module], None]] = MappingProxyType({
    "torch": lambda module: None,  # PyTorch's default Linear init
    "normal-0.02": _normal_002_,
    "orthogonal-1.4": _orthogonal_14_,
})

# The toy-network keys every points model has, with the harness's earlier architecture as
# defaults (3 x 128 ReLU MLPs for both networks, PyTorch's init).
POINTS_DEFAULTS: Mapping[str, Any] = MappingProxyType({
    "points_g_layers": 3, "points_g_hidden": 128, "points_g_activation": "relu",
    "points_g_norm": "none",
    "points_d_layers": 3, "points_d_hidden": 128, "points_d_activation": "relu",
    "points_d_norm": "none",
    "points_maxout_pieces": 5, "points_init": "torch",
})
# Valid values of the choice keys (as GANVariant.choice_defaults wants them).
POINTS_CHOICES: Mapping[str, Mapping[str, Mapping[str, Any]]] = MappingProxyType({
    "points_g_activation": {name: {} for name in (*ACTIVATIONS, MAXOUT)},
    "points_d_activation": {name: {} for name in (*ACTIVATIONS, MAXOUT)},
    "points_g_norm": {name: {} for name in NORMS},
    "points_d_norm": {name: {} for name in NORMS},
    "points_init": {name: {} for name in INITS},
})


def points_mlp(in_features: int, out_features: int, layers: int, hidden: int, activation: str,
               norm: str, pieces: int) -> nn.Sequential:
    """`layers` hidden blocks of width `hidden` (affine map, normalisation, activation; or a maxout
    unit of `pieces` pieces, then the normalisation), then an affine output. An affine map followed
    by batch norm has no bias (the norm's shift replaces it), as in PacGAN's generator."""
    blocks: list[nn.Module] = []
    width = in_features
    for _ in range(layers):
        if activation == MAXOUT:
            blocks += [Maxout(width, hidden, pieces), NORMS[norm](hidden)]
        else:
            blocks += [nn.Linear(width, hidden, bias=norm != "batch"), NORMS[norm](hidden),
                       ACTIVATIONS[activation]()]
        width = hidden
    blocks.append(nn.Linear(width, out_features))
    return nn.Sequential(*[b for b in blocks if not isinstance(b, nn.Identity)])


class PointsDiscriminator(nn.Module):
    """An MLP from a point to one logit (or critic score): D for toy 2-D data."""

    def __init__(self, main: nn.Sequential) -> None:
        super().__init__()
        self.main = main

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1)


def points_networks(spec: DataSpec, c: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    """G and D (or critic) for toy 2-D data, from the `points_*` keys of the config: G maps
    `z_dim` noise to unbounded points, D maps a point to one score; both initialised by
    `points_init`."""
    G = points_mlp(c["z_dim"], spec.channels, c["points_g_layers"], c["points_g_hidden"],
                   c["points_g_activation"], c["points_g_norm"], c["points_maxout_pieces"])
    D = PointsDiscriminator(points_mlp(spec.channels, 1, c["points_d_layers"], c["points_d_hidden"],
                                       c["points_d_activation"], c["points_d_norm"],
                                       c["points_maxout_pieces"]))
    for network in (G, D):
        INITS[c["points_init"]](network)
    return G, D
