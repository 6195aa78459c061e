"""Spectral normalisation (Miyato et al. 2018) of every weight layer of a network.

SAGAN and BigGAN divide each conv, linear and embedding weight by its largest singular value,
estimated by one power iteration per forward pass in training mode (the u, v vectors are buffers,
so checkpoints and the EMA copy carry them). We use torch's parametrization, applied after the
weights are initialised, to a whole network at once: no layer can be forgotten.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

WEIGHT_LAYERS = (nn.Conv2d, nn.Linear, nn.Embedding)


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether `module.weight` is spectrally normalised (torch's parametrization)."""
    if not parametrize.is_parametrized(module, "weight"):
        return False
    return any(type(p).__name__ == "_SpectralNorm" for p in module.parametrizations["weight"])


def spectral_norm_all_(network: nn.Module, exclude: Iterable[nn.Module] = ()) -> nn.Module:
    """Spectrally normalise every conv, linear and embedding layer of `network` in place, except
    the modules in `exclude` (BigGAN's shared class embedding); returns the network."""
    skip = {id(module) for module in exclude}
    for module in list(network.modules()):
        if isinstance(module, WEIGHT_LAYERS) and id(module) not in skip and not has_spectral_norm(module):
            spectral_norm(module)
    return network


def weight_layers(network: nn.Module) -> list[nn.Module]:
    """Every conv, linear and embedding layer of `network`, in module order."""
    return [module for module in network.modules() if isinstance(module, WEIGHT_LAYERS)]


def largest_singular_value(module: nn.Module) -> float:
    """sigma_max of the weight the layer computes with (rows: output units; embeddings: classes)."""
    with torch.no_grad():
        return float(torch.linalg.matrix_norm(module.weight.flatten(1).float(), ord=2))
