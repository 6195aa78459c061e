"""GAN losses on discriminator logits, named as in the papers."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bce_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Goodfellow's D objective: 0.5 * [BCE(D(x), 1) + BCE(D(G(z)), 0)]."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real + fake)


def non_saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating G loss BCE(D(G(z)), 1) = -log D(G(z)), not -BCE(D(G(z)), 0)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def wasserstein_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss mean f(G(z)) - mean f(x): no logs, no sigmoid; its negative estimates W1."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN generator loss -mean f(G(z))."""
    return -fake_scores.mean()


def hinge_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The hinge loss of SAGAN and BigGAN: mean relu(1 - D(x)) + mean relu(1 + D(G(z)))."""
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def hinge_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The generator's side of the hinge game: -mean D(G(z))."""
    return -fake_scores.mean()


def logistic_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """StyleGAN's D loss: mean softplus(D(G(z))) + mean softplus(-D(x)), i.e. the sum (not the
    mean) of the two cross-entropies, the scale the R1 weight gamma is quoted for."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
def least_squares_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN's D objective as CycleGAN weighs it: 0.5 * [MSE(D(x), 1) + MSE(D(G(z)), 0)] (any
    score shape: a PatchGAN's map is averaged over its patches)."""
    real = F.mse_loss(real_scores, torch.ones_like(real_scores))
    fake = F.mse_loss(fake_scores, torch.zeros_like(fake_scores))
    return 0.5 * (real + fake)


def least_squares_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN's G objective MSE(D(G(z)), 1)."""
    return F.mse_loss(fake_scores, torch.ones_like(fake_scores))
