"""Exponential moving average of a network's weights (ProGAN, BigGAN, StyleGAN evaluate with it).

The average is a frozen copy of the network, updated after each generator step:
theta_ema <- decay * theta_ema + (1 - decay) * theta. Buffers (BatchNorm statistics) are copied,
not averaged, as the official BigGAN code does.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def ema_copy(network: nn.Module) -> nn.Module:
    """A frozen copy of `network` in eval mode, the starting point of its average."""
    average = copy.deepcopy(network)
    average.eval()
    average.requires_grad_(False)
    return average


@torch.no_grad()
def ema_update_(average: nn.Module, network: nn.Module, decay: float) -> None:
    """theta_ema = decay * theta_ema + (1 - decay) * theta, in place; buffers copied."""
    for avg, new in zip(average.parameters(), network.parameters()):
        avg.mul_(decay).add_(new.detach(), alpha=1.0 - decay)
    for avg, new in zip(average.buffers(), network.buffers()):
        avg.copy_(new)
