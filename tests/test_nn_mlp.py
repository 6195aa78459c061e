"""Fully connected blocks: the maxout unit (the max over its pieces, computed here piece by
piece), pylearn2's irange init, and the toy MLPs' shape (hidden blocks, a bare output layer)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gans.nn.mlp import (POINTS_DEFAULTS, Maxout, PointsDiscriminator, mlp, points_networks,
                         uniform_init_)
from gans.spec import DataSpec


def test_maxout_takes_per_unit_the_max_over_its_consecutive_pieces() -> None:
    torch.manual_seed(0)
    unit = Maxout(in_features=5, units=3, pieces=4)
    x = torch.randn(7, 5)
    w, b = unit.linear.weight, unit.linear.bias  # rows u * pieces ... u * pieces + 3 are unit u
    expected = torch.stack([
        torch.stack([x @ w[u * 4 + p] + b[u * 4 + p] for p in range(4)]).amax(0) for u in range(3)], dim=1)
    assert unit(x).shape == (7, 3)
    assert torch.allclose(unit(x), expected, atol=1e-6)


def test_a_maxout_unit_with_one_piece_is_affine() -> None:
    unit = Maxout(4, 6, pieces=1)
    x = torch.randn(3, 4)
    assert torch.allclose(unit(x), unit.linear(x))


def test_mlp_has_hidden_linear_activation_blocks_and_a_bare_linear_output() -> None:
    net = mlp(2, 3, hidden=16, layers=2)
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, nn.Linear)] == [(2, 16), (16, 16),
                                                                                         (16, 3)]
    assert [type(m) for m in mlp(2, 3, 8, 1, activation=nn.Tanh)] == [nn.Linear, nn.Tanh, nn.Linear]
    single = mlp(4, 1, hidden=8, layers=0)
    assert len(single) == 1 and (single[0].in_features, single[0].out_features) == (4, 1)


def test_the_irange_init_is_uniform_within_the_range_with_zero_biases() -> None:
    net = nn.Sequential(nn.Linear(200, 300), nn.ReLU(), nn.Linear(300, 2))
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.bias.fill_(1.0)
    uniform_init_(net, 0.05)
    for layer in (net[0], net[2]):
        assert layer.weight.abs().max().item() <= 0.05 and torch.count_nonzero(layer.bias) == 0
    assert net[0].weight.min().item() < -0.049 and net[0].weight.max().item() > 0.049
    assert net[0].weight.std().item() == pytest.approx(0.05 / 3 ** 0.5, rel=0.02)


def test_the_points_networks_map_noise_to_points_and_a_point_to_one_score() -> None:
    spec = DataSpec("ring-8", channels=2, resolution=0, num_classes=0, kind="points")
    G, D = points_networks(spec, {**POINTS_DEFAULTS, "z_dim": 5, "points_g_hidden": 12,
                                  "points_d_hidden": 12, "points_g_layers": 3, "points_d_layers": 3})
    points = G(torch.randn(9, 5))
    assert points.shape == (9, 2)
    assert D(points).shape == (9,)
    assert isinstance(D, PointsDiscriminator)
    for net in (G, D.main):
        linears = [m for m in net if isinstance(m, nn.Linear)]
        assert len(linears) == 4 and all(m.out_features == 12 for m in linears[:3])
    assert torch.equal(D(points), D.main(points).view(-1))
