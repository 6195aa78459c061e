"""BigGAN's modified orthogonal regularisation (Brock et al. 2018, section 3.1).

R(W) = beta * ||W^T W * (1 - I)||_F^2 pushes the filters of a layer towards orthogonality without
constraining their norms. As the official code, its gradient is added straight to the weights'
gradients after backward: beta * 2 (W W^T * (1 - I)) W, with W each weight of two or more
dimensions reshaped to (outputs, -1); the shared class embedding is left out.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn


def orthogonal_regularization_gradient(weight: torch.Tensor) -> torch.Tensor:
    """2 (W W^T * (1 - I)) W for W = weight viewed as (outputs, -1), in the weight's shape."""
    w = weight.detach().flatten(1)
    gram = w @ w.t()
    off_diagonal = gram * (1 - torch.eye(w.shape[0], device=w.device, dtype=w.dtype))
    return (2 * off_diagonal @ w).view_as(weight)


@torch.no_grad()
def add_orthogonal_regularization_(network: nn.Module, strength: float,
                                   exclude: Iterable[nn.Parameter] = ()) -> None:
    """Add strength * 2 (W W^T * (1 - I)) W to the gradient of every parameter of `network` with
    two or more dimensions, except those in `exclude`; nothing when strength is 0."""
    if strength == 0:
        return
    skip = {id(p) for p in exclude}
    for parameter in network.parameters():
        if parameter.dim() < 2 or id(parameter) in skip or parameter.grad is None:
            continue
        parameter.grad.add_(orthogonal_regularization_gradient(parameter), alpha=strength)
