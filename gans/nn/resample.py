"""Resampling of ProGAN and StyleGAN: nearest-neighbour 2x upsampling, 2x2 average-pool
downsampling, box-filter downsampling to any smaller power-of-two size, and StyleGAN's [1, 2, 1]
blur (a separable binomial low-pass applied next to every up- and downsampling)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour: every pixel becomes a 2x2 block."""
    return F.interpolate(x, scale_factor=2, mode="nearest")


def downsample2x(x: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling."""
    return F.avg_pool2d(x, 2)


def resize_to(x: torch.Tensor, resolution: int) -> torch.Tensor:
    """Box-filter down (repeated 2x2 averages) or nearest up to `resolution` (a power-of-two
    multiple or fraction of the input's)."""
    size = x.shape[-1]
    if resolution < size:
        return F.avg_pool2d(x, size // resolution)
    if resolution > size:
        return F.interpolate(x, scale_factor=resolution // size, mode="nearest")
    return x


class Blur(nn.Module):
    """The normalised [1, 2, 1] x [1, 2, 1] filter, per channel, 'same' padding."""

    def __init__(self) -> None:
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (k[:, None] * k[None, :] / 16).view(1, 1, 3, 3),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        return F.conv2d(x, self.kernel.expand(channels, 1, 3, 3), padding=1, groups=channels)
