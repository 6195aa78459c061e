"""The self-attention block of SAGAN (Zhang et al. 2018), as in its official code.

Every position attends to every position of a 2x2 max-pooled key/value map: query and key are
1x1 convs to C/8 channels, the value a 1x1 conv to C/2, the attention a softmax over the pooled
positions, and a 1x1 conv maps the attended values back to C. The result is added to the input
scaled by gamma, a trained scalar initialised to 0, so the block starts as the identity and the
network learns how much non-local evidence to use.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    """y = x + gamma * o(softmax(q(x)^T k(pool x)) v(pool x)), gamma = 0 at init."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels < 8 or channels % 8:
            raise ValueError(f"self-attention needs a multiple of 8 channels (C/8 query and key "
                             f"channels), got {channels}")
        self.query = nn.Conv2d(channels, channels // 8, 1, bias=False)  # theta
        self.key = nn.Conv2d(channels, channels // 8, 1, bias=False)    # phi
        self.value = nn.Conv2d(channels, channels // 2, 1, bias=False)  # g
        self.out = nn.Conv2d(channels // 2, channels, 1, bias=False)    # o
        self.gamma = nn.Parameter(torch.zeros(()))                      # sigma_ratio in the code

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        query = self.query(x).flatten(2)                      # n x C/8 x HW
        key = F.max_pool2d(self.key(x), 2).flatten(2)         # n x C/8 x HW/4
        value = F.max_pool2d(self.value(x), 2).flatten(2)     # n x C/2 x HW/4
        attention = torch.softmax(query.transpose(1, 2) @ key, dim=-1)  # n x HW x HW/4
        attended = (value @ attention.transpose(1, 2)).view(n, c // 2, h, w)
        return x + self.gamma * self.out(attended)
