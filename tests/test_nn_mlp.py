"""Fully connected blocks: the maxout unit (the max over its pieces, computed here piece by
piece), pylearn2's irange init, and the toy MLPs' shape (hidden blocks, a bare output layer)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gans.nn.mlp import (INITS, POINTS_DEFAULTS, Maxout, PointsDiscriminator, mlp, points_mlp,
                         points_networks, uniform_init_)
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


def _with_nonzero_biases(*layers: nn.Module) -> nn.Sequential:
    net = nn.Sequential(*layers)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                m.bias.fill_(1.0)
    return net


def test_the_pacgan_init_draws_weights_from_n_0_0_02_and_zeroes_the_biases() -> None:
    net = _with_nonzero_biases(nn.Linear(300, 400), nn.ReLU(), nn.Linear(400, 2))
    INITS["normal-0.02"](net)
    for layer in (net[0], net[2]):
        assert torch.count_nonzero(layer.bias) == 0
    assert net[0].weight.mean().item() == pytest.approx(0.0, abs=5e-4)
    assert net[0].weight.std().item() == pytest.approx(0.02, rel=0.02)
    assert net[2].weight.std().item() == pytest.approx(0.02, rel=0.1)


def test_the_unrolled_gan_init_is_orthogonal_with_gain_1_4_and_zero_biases() -> None:
    net = _with_nonzero_biases(nn.Linear(256, 128), nn.Tanh(), nn.Linear(128, 128), nn.Linear(128, 2))
    INITS["orthogonal-1.4"](net)
    for layer in (net[0], net[2], net[3]):
        w = layer.weight  # [out, in]: rows orthonormal (out <= in), scaled by the gain
        torch.testing.assert_close(w @ w.T, 1.96 * torch.eye(w.shape[0]), atol=1e-4, rtol=0)
        assert torch.count_nonzero(layer.bias) == 0
    wide = nn.Linear(2, 128)  # in < out: the columns are orthonormal instead
    INITS["orthogonal-1.4"](wide)
    torch.testing.assert_close(wide.weight.T @ wide.weight, 1.96 * torch.eye(2), atol=1e-4, rtol=0)


def test_the_torch_init_leaves_the_network_as_it_was() -> None:
    net = _with_nonzero_biases(nn.Linear(3, 4))
    before = [t.clone() for t in net.state_dict().values()]
    INITS["torch"](net)
    assert all(torch.equal(a, b) for a, b in zip(before, net.state_dict().values()))


def test_the_inits_reach_every_linear_layer_of_the_points_networks() -> None:
    spec = DataSpec("ring-8", channels=2, resolution=0, num_classes=0, kind="points")
    config = {**POINTS_DEFAULTS, "z_dim": 4, "points_init": "normal-0.02", "points_g_hidden": 300,
              "points_d_hidden": 300}
    G, D = points_networks(spec, config)
    hidden = [m for net in (G, D) for m in net.modules() if isinstance(m, nn.Linear) and m.in_features == 300]
    assert hidden and all(m.weight.std().item() == pytest.approx(0.02, rel=0.1) for m in hidden)


def test_maxout_hidden_layers_and_batch_norm_follow_the_config() -> None:
    """PacGAN's D: maxout units (width x pieces) then the normalisation; its G: affine maps
    without bias before batch norm (the norm's shift replaces it); layer norm keeps the bias."""
    net = points_mlp(2, 1, layers=3, hidden=20, activation="maxout", norm="batch", pieces=5)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Maxout", "BatchNorm1d"] * 3 + ["Linear"]
    maxouts = [m for m in net if isinstance(m, Maxout)]
    assert [(m.linear.in_features, m.units, m.pieces) for m in maxouts] == [(2, 20, 5), (20, 20, 5), (20, 20, 5)]
    assert all(m.num_features == 20 for m in net if isinstance(m, nn.BatchNorm1d))
    assert net(torch.randn(8, 2)).shape == (8, 1)

    relu_batch = points_mlp(4, 2, layers=2, hidden=6, activation="relu", norm="batch", pieces=5)
    assert [type(m).__name__ for m in relu_batch] == ["Linear", "BatchNorm1d", "ReLU"] * 2 + ["Linear"]
    assert [m.bias is None for m in relu_batch if isinstance(m, nn.Linear)] == [True, True, False]
    relu_layer = points_mlp(4, 2, layers=2, hidden=6, activation="relu", norm="layer", pieces=5)
    assert [type(m).__name__ for m in relu_layer] == ["Linear", "LayerNorm", "ReLU"] * 2 + ["Linear"]
    assert all(m.bias is not None for m in relu_layer if isinstance(m, nn.Linear))
    assert all(m.normalized_shape == (6,) for m in relu_layer if isinstance(m, nn.LayerNorm))


def test_the_points_networks_take_their_maxout_pieces_from_the_config() -> None:
    spec = DataSpec("ring-8", channels=2, resolution=0, num_classes=0, kind="points")
    config = {**POINTS_DEFAULTS, "z_dim": 3, "points_g_activation": "maxout",
              "points_d_activation": "maxout", "points_maxout_pieces": 4, "points_g_hidden": 7,
              "points_d_hidden": 9}
    G, D = points_networks(spec, config)
    assert {m.pieces for net in (G, D) for m in net.modules() if isinstance(m, Maxout)} == {4}
    assert G(torch.randn(5, 3)).shape == (5, 2) and D(torch.randn(5, 2)).shape == (5,)
