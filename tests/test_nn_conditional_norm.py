"""Conditional batch norm: the batch's statistics, gain 1 + linear(e) and bias linear(e)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gans.nn.conditional_norm import ConditionalBatchNorm2d


def test_gain_and_bias_are_linear_in_the_condition() -> None:
    torch.manual_seed(0)
    norm = ConditionalBatchNorm2d(6, 4).train()
    x, e = torch.randn(5, 6, 3, 3) * 3 + 2, torch.randn(5, 4)
    normalized = F.batch_norm(x, None, None, training=True, eps=norm.norm.eps)
    gain = 1 + e @ norm.gain.weight.t()
    bias = e @ norm.bias.weight.t()
    assert torch.allclose(norm(x, e), normalized * gain[:, :, None, None] + bias[:, :, None, None],
                          atol=1e-5)
    assert norm.gain.bias is None and norm.bias.bias is None and not norm.norm.affine


def test_a_one_hot_condition_gives_one_gain_and_bias_per_class() -> None:
    torch.manual_seed(0)
    norm = ConditionalBatchNorm2d(3, 4).train()
    x = torch.randn(8, 3, 2, 2)
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    out = norm(x, F.one_hot(labels, 4).float())
    normalized = F.batch_norm(x, None, None, training=True, eps=norm.norm.eps)
    for k in range(4):
        gain, bias = 1 + norm.gain.weight[:, k], norm.bias.weight[:, k]
        rows = labels == k
        assert torch.allclose(out[rows], normalized[rows] * gain[:, None, None] + bias[:, None, None],
                              atol=1e-5)
