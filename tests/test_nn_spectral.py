"""Spectral normalisation of whole networks: every conv, linear and embedding layer, once, with a
largest singular value of about 1 after a few power iterations."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gans.nn.spectral import has_spectral_norm, largest_singular_value, spectral_norm_all_, weight_layers


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.linear = nn.Linear(16, 8)
        self.embed = nn.Embedding(5, 16)
        self.kept = nn.Embedding(5, 16)
        self.bn = nn.BatchNorm2d(16)
        with torch.no_grad():  # weights far from unit spectral norm
            for layer in (self.conv, self.linear, self.embed, self.kept):
                layer.weight.mul_(7.0)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.bn(self.conv(x)).mean(dim=(2, 3)) + self.embed(y) + self.kept(y)
        return self.linear(h)


def test_every_weight_layer_but_the_excluded_is_normalised_once() -> None:
    torch.manual_seed(0)
    net = Net()
    spectral_norm_all_(net, exclude=[net.kept])
    spectral_norm_all_(net, exclude=[net.kept])  # a second call adds nothing
    assert [has_spectral_norm(m) for m in weight_layers(net)] == [True, True, True, False]
    assert len(net.conv.parametrizations["weight"]) == 1
    assert not has_spectral_norm(net.bn)


def test_largest_singular_value_is_one_after_a_few_power_iterations() -> None:
    torch.manual_seed(0)
    net = Net()
    spectral_norm_all_(net, exclude=[net.kept])
    net.train()
    x, y = torch.randn(4, 3, 8, 8), torch.randint(5, (4,))
    for _ in range(5):
        net(x, y)  # each training forward pass runs one power iteration per layer
    net.eval()
    for layer in (net.conv, net.linear, net.embed):
        assert largest_singular_value(layer) == pytest.approx(1.0, abs=0.02), layer
    assert largest_singular_value(net.kept) > 5  # left alone


def test_the_normalised_weight_is_the_raw_weight_over_its_largest_singular_value() -> None:
    torch.manual_seed(0)
    layer = nn.Linear(6, 4)
    raw = layer.weight.detach().clone()
    spectral_norm_all_(layer)
    for _ in range(20):
        layer(torch.randn(2, 6))
    layer.eval()
    sigma = torch.linalg.matrix_norm(raw, ord=2)
    assert torch.allclose(layer.weight, raw / sigma, atol=1e-4)


def test_a_parametrization_of_another_tensor_is_not_spectral_norm_of_the_weight() -> None:
    from torch.nn.utils import parametrize

    class Doubled(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    layer = torch.nn.Linear(3, 3)
    parametrize.register_parametrization(layer, "bias", Doubled())
    assert not has_spectral_norm(layer)
