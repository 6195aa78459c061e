"""The critic constraints against closed forms: WGAN's clipping, WGAN-GP's interpolates and
gradient penalty (on a linear critic, whose input gradient is its weight everywhere)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gans.nn.penalties import clip_weights_, gradient_penalty, interpolates, r1_penalty


def linear_critic(weight: list[float]) -> nn.Linear:
    critic = nn.Linear(len(weight), 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([weight]))
        critic.bias.fill_(0.3)
    return critic


def test_clipping_clamps_every_parameter_and_keeps_those_inside() -> None:
    net = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[0.5, -0.02, 0.0, 3.0]] * 3))
        net[1].bias.copy_(torch.tensor([-7.0, 0.01]))
    clip_weights_(net, 0.01)
    assert torch.equal(net[0].weight[0], torch.tensor([0.01, -0.01, 0.0, 0.01]))
    assert torch.equal(net[1].bias, torch.tensor([-0.01, 0.01]))
    assert all(p.abs().max() <= 0.01 for p in net.parameters())


def test_interpolates_lie_on_the_segment_at_one_uniform_draw_per_sample() -> None:
    real, fake = torch.randn(6, 2, 3, 3), torch.randn(6, 2, 3, 3)
    torch.manual_seed(4)
    x_hat = interpolates(real, fake)
    torch.manual_seed(4)
    eps = torch.rand(6)  # what interpolates draws: one per sample, from the global RNG
    assert torch.allclose(x_hat, eps.view(6, 1, 1, 1) * real + (1 - eps.view(6, 1, 1, 1)) * fake)
    assert x_hat.shape == real.shape and x_hat.dtype == real.dtype


def test_interpolates_keep_the_dtype_of_the_data() -> None:
    real, fake = torch.zeros(3, 4, dtype=torch.float64), torch.ones(3, 4, dtype=torch.float64)
    torch.manual_seed(4)
    x_hat = interpolates(real, fake)
    assert x_hat.dtype == torch.float64
    assert torch.all((x_hat >= 0) & (x_hat <= 1)) and torch.all(x_hat == x_hat[:, :1])
    torch.manual_seed(4)  # eps itself is drawn in float64, not drawn in float32 and widened
    assert torch.equal(x_hat[:, 0], 1 - torch.rand(3, dtype=torch.float64))
    meta = torch.empty(3, 4, device="meta")  # and on the data's device (meta: no GPU needed)
    assert interpolates(meta, meta).device.type == "meta"


def test_the_gradient_penalty_of_a_linear_critic_is_weight_times_the_squared_norm_gap() -> None:
    critic = linear_critic([2.0, 0.0, 0.0, 0.0])  # ||grad|| = 2 at every point
    points = torch.randn(5, 4)
    assert gradient_penalty(critic, points).item() == pytest.approx(10.0 * (2.0 - 1.0) ** 2)
    assert gradient_penalty(critic, points, weight=3.0).item() == pytest.approx(3.0 * 1.0)
    # two-sided: a gradient norm below 1 is penalised as well
    assert gradient_penalty(linear_critic([0.0, 0.25, 0.0, 0.0]), points).item() == pytest.approx(
        10.0 * 0.75 ** 2)
    # a 1-Lipschitz critic with unit gradient norm pays nothing
    assert gradient_penalty(linear_critic([0.6, 0.8, 0.0, 0.0]), points).item() == pytest.approx(0.0, abs=1e-10)


def test_the_norm_is_per_sample_over_all_its_coordinates() -> None:
    def critic(x: torch.Tensor) -> torch.Tensor:  # gradient 2 * x per sample
        return (x ** 2).flatten(1).sum(1)

    points = torch.tensor([[[3.0, 4.0]], [[0.0, 0.5]]]) / 2  # gradient norms 5 and 0.5
    assert gradient_penalty(critic, points, weight=1.0).item() == pytest.approx((16 + 0.25) / 2)


def test_the_penalty_trains_the_critic_by_double_backprop_and_leaves_the_points_alone() -> None:
    critic = linear_critic([2.0, 0.0, 0.0])
    points = torch.randn(4, 3, requires_grad=True)
    penalty = gradient_penalty(critic, points, weight=1.0)
    penalty.backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = (2, 0, 0) here
    assert torch.allclose(critic.weight.grad, torch.tensor([[2.0, 0.0, 0.0]]))
    assert points.grad is None


def test_r1_weighs_half_the_squared_gradient_norm_by_gamma_10_by_default() -> None:
    critic = linear_critic([0.5, 0.5, 0.5, 0.5])  # ||grad||^2 = 1
    reals = torch.randn(3, 4).requires_grad_(True)
    assert r1_penalty(critic(reals).view(-1), reals).item() == pytest.approx(10.0 * 0.5 * 1.0)
