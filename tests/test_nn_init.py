"""The weight initialisations named by their papers: each layer type gets the stated distribution
(checked on large layers, where the sample moments are tight), biases their stated constant, and
layers a scheme does not name keep what they had."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gans.nn.ema import ema_copy
from gans.nn.init import cogan_init_, dcgan_init_, normal_init_, orthogonal_init_, xavier_init_


def network() -> nn.Sequential:
    """One layer of every kind the schemes treat, large enough for tight moments."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(64, 64, 4), nn.ConvTranspose2d(64, 64, 4), nn.Linear(512, 256),
                         nn.Embedding(300, 128), nn.BatchNorm2d(4096), nn.BatchNorm1d(4096),
                         nn.BatchNorm2d(8, affine=False))


def fill_biases(net: nn.Module, value: float = 5.0) -> None:
    with torch.no_grad():
        for m in net.modules():
            if getattr(m, "bias", None) is not None:
                m.bias.fill_(value)


def xavier_bound(weight: torch.Tensor, gain: float = 1.0) -> float:
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(weight)
    return gain * math.sqrt(6.0 / (fan_in + fan_out))


@pytest.mark.parametrize("std", [None, 0.1])  # None: the default, 0.02
def test_dcgan_init_draws_weights_from_n_0_std_and_bn_gains_from_n_1_std(std) -> None:
    net = network()
    fill_biases(net)
    if std is None:
        dcgan_init_(net)
        std = 0.02
    else:
        dcgan_init_(net, std)
    for layer in list(net)[:3]:
        assert layer.weight.mean().item() == pytest.approx(0.0, abs=std / 10)
        assert layer.weight.std().item() == pytest.approx(std, rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0
    for bn in list(net)[4:6]:
        assert bn.weight.mean().item() == pytest.approx(1.0, abs=std / 10)
        assert bn.weight.std().item() == pytest.approx(std, rel=0.1)
        assert torch.count_nonzero(bn.bias) == 0
    assert net[3].weight.std().item() == pytest.approx(1.0, rel=0.05)  # embeddings are not named


def test_dcgan_init_leaves_a_layer_without_bias_without_one() -> None:
    conv = nn.Conv2d(3, 8, 3, bias=False)
    dcgan_init_(conv)
    assert conv.bias is None and conv.weight.std().item() == pytest.approx(0.02, rel=0.3)


def test_xavier_init_is_glorot_uniform_with_zero_biases_for_every_weight_layer() -> None:
    net = network()
    fill_biases(net)
    assert xavier_init_(net) is net
    for layer in list(net)[:4]:
        bound = xavier_bound(layer.weight)
        assert layer.weight.abs().max().item() <= bound
        assert layer.weight.abs().max().item() > 0.95 * bound        # uniform: it reaches the bound
        assert layer.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
        if getattr(layer, "bias", None) is not None:
            assert torch.count_nonzero(layer.bias) == 0
    assert torch.count_nonzero(net[4].bias) == len(net[4].bias)   # batch norms are not touched


@pytest.mark.parametrize("gain, bias", [(None, None), (1.0, -0.3)])  # None: the defaults
def test_cogan_init_scales_conv_weights_by_its_gain_sets_biases_and_keeps_linear_layers(gain, bias) -> None:
    net = network()
    linear_before = net[2].weight.clone()
    if gain is None:
        cogan_init_(net)
        gain, bias = 2 ** 0.5, 0.1
    else:
        cogan_init_(net, gain=gain, bias=bias)
    for layer in list(net)[:2]:
        bound = xavier_bound(layer.weight, gain)
        assert layer.weight.abs().max().item() <= bound
        assert layer.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
        assert torch.all(layer.bias == bias)
    assert torch.equal(net[2].weight, linear_before)


def test_cogan_init_leaves_a_conv_without_bias_without_one() -> None:
    conv = nn.Conv2d(3, 8, 3, bias=False)
    cogan_init_(conv)
    assert conv.bias is None


def test_orthogonal_init_gives_orthonormal_rows_and_zero_biases() -> None:
    net = nn.Sequential(nn.Conv2d(4, 8, 3), nn.Linear(32, 16), nn.Embedding(20, 6), nn.BatchNorm1d(8))
    fill_biases(net)
    orthogonal_init_(net)
    for layer in (net[0], net[1]):  # 8 x 36 and 16 x 32: orthonormal rows
        w = layer.weight.flatten(1)
        assert torch.allclose(w @ w.T, torch.eye(w.shape[0]), atol=1e-5)
        assert torch.count_nonzero(layer.bias) == 0
    w = net[2].weight  # 20 x 6: orthonormal columns
    assert torch.allclose(w.T @ w, torch.eye(6), atol=1e-5)
    assert torch.count_nonzero(net[3].bias) == len(net[3].bias)


@pytest.mark.parametrize("std", [None, 0.5])  # None: the default, 0.02
def test_normal_init_draws_every_weight_layer_from_n_0_std_with_zero_biases(std) -> None:
    net = network()
    fill_biases(net)
    if std is None:
        normal_init_(net)
        std = 0.02
    else:
        normal_init_(net, std=std)
    for layer in list(net)[:4]:
        assert layer.weight.mean().item() == pytest.approx(0.0, abs=std / 10)
        assert layer.weight.std().item() == pytest.approx(std, rel=0.05)
        if getattr(layer, "bias", None) is not None:
            assert torch.count_nonzero(layer.bias) == 0
    assert torch.all(net[4].weight == 1.0)


def test_the_ema_copy_is_a_frozen_equal_copy_in_eval_mode() -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).train()
    average = ema_copy(net)
    assert not average.training and net.training
    for a, p in zip(average.parameters(), net.parameters()):
        assert torch.equal(a, p) and a.data_ptr() != p.data_ptr()
        assert not a.requires_grad and p.requires_grad
