"""SAGAN's self-attention block: identity at init, a trained gamma, C/8 query/key and C/2 value
channels, keys and values max-pooled 2x2, softmax over the pooled positions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gans.nn.attention import SelfAttention


def test_the_block_returns_its_input_exactly_at_init() -> None:
    torch.manual_seed(0)
    block = SelfAttention(16)
    x = torch.randn(3, 16, 8, 8) * 5
    assert torch.equal(block(x), x)


def test_gamma_is_a_trained_scalar_parameter_starting_at_zero() -> None:
    torch.manual_seed(0)
    block = SelfAttention(16)
    assert isinstance(block.gamma, torch.nn.Parameter) and block.gamma.shape == ()
    assert any(p is block.gamma for p in block.parameters()) and block.gamma.item() == 0.0
    optimizer = torch.optim.SGD(block.parameters(), lr=0.1)
    block(torch.randn(2, 16, 8, 8)).pow(2).sum().backward()
    optimizer.step()
    assert block.gamma.item() != 0.0


def test_channel_widths_of_query_key_value_and_output() -> None:
    block = SelfAttention(32)
    assert [block.query.out_channels, block.key.out_channels, block.value.out_channels] == [4, 4, 16]
    assert (block.out.in_channels, block.out.out_channels) == (16, 32)
    assert all(conv.kernel_size == (1, 1) and conv.bias is None
               for conv in (block.query, block.key, block.value, block.out))
    with pytest.raises(ValueError, match="multiple of 8"):
        SelfAttention(12)


def test_attention_over_pooled_keys_and_values_matches_a_reference() -> None:
    torch.manual_seed(0)
    block = SelfAttention(16)
    with torch.no_grad():
        block.gamma.fill_(0.7)
    x = torch.randn(2, 16, 6, 6)
    q = block.query(x).flatten(2)                   # 2 x 2 x 36
    k = F.max_pool2d(block.key(x), 2).flatten(2)    # 2 x 2 x 9
    v = F.max_pool2d(block.value(x), 2).flatten(2)  # 2 x 8 x 9
    expected = torch.empty(2, 8, 36)
    for n in range(2):
        for i in range(36):  # position i attends to the 9 pooled positions
            weights = torch.softmax(q[n, :, i] @ k[n], dim=0)
            expected[n, :, i] = (v[n] * weights).sum(dim=1)
    reference = x + 0.7 * block.out(expected.view(2, 8, 6, 6))
    assert torch.allclose(block(x), reference, atol=1e-5)


def test_eight_channels_are_the_fewest_the_block_takes() -> None:
    block = SelfAttention(8)
    assert (block.query.out_channels, block.value.out_channels) == (1, 4)
    for channels in (0, 4, 12):
        with pytest.raises(ValueError, match="multiple of 8"):
            SelfAttention(channels)
