"""Dropout whose masks are the same on every x86-64 CPU.

torch's own CPU dropout draws its mask with `bernoulli_(p)`. On Intel processors (in MKL builds
of torch) that call goes to MKL's random-number library; on every other vendor it goes to torch's
own generator. The two give different masks from the same seed, so a model with dropout trained
on an Intel machine and on an AMD machine diverges from the first step, whatever else is pinned.
Drawing the mask as `uniform < keep` from torch's generator takes the same path on every CPU.
"""

from __future__ import annotations

import torch
from torch import nn


def portable_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Inverted dropout: zero each unit with probability p, scale the kept ones by 1 / (1 - p)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    mask = torch.rand(x.shape, dtype=x.dtype, device=x.device) < keep
    return x * mask / keep


class PortableDropout(nn.Module):
    """nn.Dropout's contract (train-mode masking, identity in eval) with a vendor-free mask."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return portable_dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
