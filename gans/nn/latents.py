"""Latent priors by name: what a variant's `latent_prior` may say."""

from __future__ import annotations

from typing import Callable, Optional

import torch

LatentPrior = Callable[[int, int, Optional[torch.Generator], "torch.device | str"], torch.Tensor]


def normal_latent(n: int, z_dim: int, generator: Optional[torch.Generator] = None,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """z ~ N(0, I): DCGAN's PyTorch port, WGAN, WGAN-GP and most later GANs."""
    return torch.randn(n, z_dim, generator=generator, device=device)


def uniform_latent(n: int, z_dim: int, generator: Optional[torch.Generator] = None,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """z ~ U[-1, 1]^z_dim, the prior of the 2014 GAN and CGAN papers."""
    return torch.rand(n, z_dim, generator=generator, device=device) * 2 - 1


LATENT_PRIORS: dict[str, LatentPrior] = {"normal": normal_latent, "uniform": uniform_latent}


def resample_beyond(z: torch.Tensor, threshold: float, generator: Optional[torch.Generator] = None,
                    max_rounds: int = 100_000) -> torch.Tensor:
    """BigGAN's truncation trick: every entry of z ~ N(0, 1) with |z| > threshold is redrawn
    (from the same generator, in a fixed order) until all lie within the threshold.

    The result is N(0, 1) truncated to [-threshold, threshold]. A tiny threshold takes many rounds
    (about 1 / P(|z| < threshold) redraws per entry), so the rounds are bounded.
    """
    if threshold <= 0:
        raise ValueError(f"the truncation threshold must be positive, got {threshold}")
    z = z.clone()
    for _ in range(max_rounds):
        outside = z.abs() > threshold
        count = int(outside.sum())
        if count == 0:
            return z
        z[outside] = torch.randn(count, generator=generator, device=z.device, dtype=z.dtype)
    raise RuntimeError(f"truncation at {threshold}: entries still outside after {max_rounds} rounds")
