"""Conditional batch normalisation: class-dependent gain and bias after a plain batch norm.

The statistics are the batch's (no affine of their own); the gain is 1 + linear(e) and the bias
linear(e), for a conditioning vector e. SAGAN feeds the one-hot class (a per-class gain and bias
table, as its official code), BigGAN the shared class embedding joined with a chunk of z.
"""

from __future__ import annotations

import torch
from torch import nn


class ConditionalBatchNorm2d(nn.Module):
    """BN(x) * (1 + gain(e)) + bias(e), per channel, with bias-free linear maps of e."""

    def __init__(self, channels: int, condition_dim: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Linear(condition_dim, channels, bias=False)
        self.bias = nn.Linear(condition_dim, channels, bias=False)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        gain = 1 + self.gain(condition)[:, :, None, None]
        bias = self.bias(condition)[:, :, None, None]
        return self.norm(x) * gain + bias
