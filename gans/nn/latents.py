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
