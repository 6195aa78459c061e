"""Equalized learning rate (Karras et al. 2017; StyleGAN keeps it everywhere).

Weights are stored as N(0, 1) and multiplied at run time by the He constant gain / sqrt(fan_in),
so Adam, whose steps do not depend on a parameter's scale, moves every layer at the same
relative speed. `lr_mul` lowers one layer's learning rate without changing its output at init
(StyleGAN's mapping network uses 0.01): the stored weight is N(0, 1 / lr_mul^2) and the run-time
factor is multiplied by lr_mul; the bias (stored zero) is multiplied by lr_mul too.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)


def he_scale(fan_in: int, gain: float = SQRT2) -> float:
    """The He constant gain / sqrt(fan_in): the std an N(0, 1) weight is scaled to."""
    return gain / math.sqrt(fan_in)


class EqualizedLinear(nn.Module):
    """A fully connected layer with equalized learning rate."""

    def __init__(self, in_features: int, out_features: int, gain: float = SQRT2,
                 lr_mul: float = 1.0, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.scale = he_scale(in_features, gain) * lr_mul
        self.lr_mul = lr_mul

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias * self.lr_mul
        return F.linear(x, self.effective_weight(), bias)


class EqualizedConv2d(nn.Module):
    """A stride-1 convolution with 'same' padding and equalized learning rate."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, gain: float = SQRT2,
                 bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = he_scale(in_channels * kernel_size * kernel_size, gain)
        self.padding = kernel_size // 2

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.effective_weight(), self.bias, padding=self.padding)
