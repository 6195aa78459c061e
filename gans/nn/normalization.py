"""Feature normalisations and statistics of ProGAN and StyleGAN, without learned parameters.

  * pixelwise feature normalisation (ProGAN's G, and z in both): each pixel's feature vector
    scaled to unit mean square over channels, x / sqrt(mean_c x^2 + eps);
  * instance normalisation (StyleGAN's AdaIN before the style): zero mean and unit mean square
    over each feature map of each sample;
  * minibatch standard deviation (ProGAN's and StyleGAN's D): the std of every feature over a
    group of samples, averaged to one number per group and appended as an extra feature map, so
    D sees how varied a minibatch is.
"""

from __future__ import annotations

import torch
from torch import nn

EPS = 1e-8


def pixel_norm(x: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Normalise dim 1 (channels, or latent dims) to unit mean square at every position."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def instance_norm(x: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Zero mean, unit mean square over the spatial positions of each channel of each sample."""
    x = x - x.mean(dim=(2, 3), keepdim=True)
    return x * torch.rsqrt(x.pow(2).mean(dim=(2, 3), keepdim=True) + eps)


class MinibatchStdDev(nn.Module):
    """Append one feature map: the mean over C, H, W of the per-feature std within a group.

    Samples are split into groups of `group_size` (at most the batch, which it must divide):
    sample i belongs to group i mod (N / group_size), as in the official reshape to
    [group, N / group, C, H, W]; every sample of a group gets the group's number.
    """

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        group = min(self.group_size, n)
        if n % group:
            raise ValueError(f"minibatch stddev: a batch of {n} does not split into groups of {group}")
        y = x.reshape(group, n // group, c, h, w)
        y = y - y.mean(dim=0, keepdim=True)
        std = torch.sqrt(y.pow(2).mean(dim=0) + EPS)        # [N/group, C, H, W]
        stat = std.mean(dim=(1, 2, 3))                       # one number per group
        stat = stat.view(1, -1, 1, 1, 1).expand(group, -1, 1, h, w).reshape(n, 1, h, w)
        return torch.cat([x, stat], dim=1)
