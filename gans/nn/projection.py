"""The projection discriminator head (Miyato & Koyama 2018), SAGAN's and BigGAN's conditioning.

The features are ReLU'd and summed over positions into h; the score is linear(h) plus the inner
product of h with a learned embedding of the label: the label enters only through <embed(y), h>.
"""

from __future__ import annotations

import torch
from torch import nn


class ProjectionHead(nn.Module):
    """D(x, y) = linear(h) + <embed(y), h>, h = sum over positions of ReLU(features)."""

    def __init__(self, features: int, num_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(features, 1)
        self.embed = nn.Embedding(num_classes, features)

    @staticmethod
    def pool(features: torch.Tensor) -> torch.Tensor:
        """h: ReLU, then the sum over all positions (N x C x H x W -> N x C)."""
        return torch.relu(features).sum(dim=(2, 3))

    def projection(self, h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """<embed(y), h> per sample."""
        return (self.embed(labels) * h).sum(dim=1)

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.pool(features)
        return self.linear(h).view(-1) + self.projection(h, labels)
