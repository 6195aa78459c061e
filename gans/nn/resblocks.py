"""The residual blocks of the SN-GAN / SAGAN / BigGAN family (the same in both official codes).

Generator block: cBN -> ReLU -> 2x nearest upsampling -> 3x3 conv -> cBN -> ReLU -> 3x3 conv,
plus a learned 1x1 shortcut of the upsampled input.
Discriminator block: (ReLU) -> 3x3 conv -> ReLU -> 3x3 conv (-> 2x2 average pooling), plus a
1x1 shortcut when the block pools or changes the width. The first block of D sees raw pixels:
no ReLU first, and its shortcut pools before the 1x1 conv (SN-GAN's "optimized block").
The blocks hold plain layers; the models spectrally normalise whole networks (gans/nn/spectral.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gans.nn.conditional_norm import ConditionalBatchNorm2d


class GeneratorBlock(nn.Module):
    """Doubles the resolution; both batch norms are conditioned on the vector e."""

    def __init__(self, in_channels: int, out_channels: int, condition_dim: int) -> None:
        super().__init__()
        self.bn1 = ConditionalBatchNorm2d(in_channels, condition_dim)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.bn2 = ConditionalBatchNorm2d(out_channels, condition_dim)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(torch.relu(self.bn1(x, condition)), scale_factor=2, mode="nearest")
        h = self.conv2(torch.relu(self.bn2(self.conv1(h), condition)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DiscriminatorBlock(nn.Module):
    """Halves the resolution when `downsample`; `first` marks the block that sees pixels."""

    def __init__(self, in_channels: int, out_channels: int, downsample: bool, first: bool = False) -> None:
        super().__init__()
        self.downsample, self.first = downsample, first
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        learned = downsample or in_channels != out_channels
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1) if learned else None

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2) if self.downsample else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else torch.relu(x)
        h = self._pool(self.conv2(torch.relu(self.conv1(h))))
        if self.shortcut is None:
            return h + x
        if self.first:
            return h + self.shortcut(self._pool(x))
        return h + self._pool(self.shortcut(x))
