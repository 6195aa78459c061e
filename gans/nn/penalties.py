"""Constraints on a discriminator's gradients: WGAN's weight clipping and WGAN-GP's gradient penalty
(a critic kept roughly 1-Lipschitz), and R1 (a flat D on the real data: StyleGAN)."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def clip_weights_(module: nn.Module, clip: float) -> None:
    """WGAN's weight clipping: clamp every parameter of `module` to [-clip, clip] in place."""
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.clamp_(-clip, clip)


def interpolates(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """x_hat = eps * x + (1 - eps) * x_tilde with one eps ~ U[0, 1] per sample (global RNG)."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    return eps * real + (1 - eps) * fake


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor,
                     weight: float = 10.0) -> torch.Tensor:
    """WGAN-GP's two-sided penalty weight * mean_i (||grad_x D(x_i)||_2 - 1)^2 at `points`.

    The norm is per sample over all its coordinates. create_graph=True keeps the penalty
    differentiable w.r.t. the critic's weights (double backprop), which is what trains it.
    """
    points = points.detach().requires_grad_(True)
    scores = critic(points)
    (grad,) = torch.autograd.grad(scores.sum(), points, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return weight * ((norms - 1) ** 2).mean()


def r1_penalty(real_scores: torch.Tensor, reals: torch.Tensor, gamma: float = 10.0) -> torch.Tensor:
    """R1 (Mescheder et al. 2018, StyleGAN's): gamma / 2 * mean_i ||grad_x D(x_i)||^2 on reals.

    `reals` must have required grad before D scored them as `real_scores` (one D pass serves
    the loss and the penalty); create_graph=True makes the penalty train D (double backprop).
    """
    (grad,) = torch.autograd.grad(real_scores.sum(), reals, create_graph=True)
    return gamma * 0.5 * grad.pow(2).flatten(1).sum(1).mean()
