"""The losses on discriminator scores against their closed forms: Goodfellow's pair (with the
non-saturating G loss), WGAN's, and the hinge pair of SAGAN and BigGAN."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gans.nn.losses import (bce_discriminator_loss, hinge_discriminator_loss, hinge_generator_loss,
                            non_saturating_generator_loss, wasserstein_critic_loss,
                            wasserstein_generator_loss)


def test_hinge_discriminator_loss_counts_only_scores_inside_the_margin() -> None:
    real = torch.tensor([2.0, 0.5, -1.0])   # relu(1 - s): 0, 0.5, 2
    fake = torch.tensor([-3.0, 0.0])         # relu(1 + s): 0, 1
    assert hinge_discriminator_loss(real, fake).item() == pytest.approx(2.5 / 3 + 0.5)
    assert hinge_discriminator_loss(torch.full((4,), 1.5), torch.full((4,), -1.5)).item() == 0.0


def test_hinge_generator_loss_is_the_negated_mean_fake_score() -> None:
    assert hinge_generator_loss(torch.tensor([1.0, -3.0, 5.0])).item() == pytest.approx(-1.0)


def test_goodfellow_discriminator_loss_is_the_mean_of_both_cross_entropies() -> None:
    real, fake = torch.tensor([2.0, -1.0, 0.0]), torch.tensor([0.5, -3.0])
    # BCE(s, 1) = softplus(-s), BCE(s, 0) = softplus(s)
    expected = 0.5 * (F.softplus(-real).mean() + F.softplus(fake).mean())
    assert bce_discriminator_loss(real, fake).item() == pytest.approx(expected.item(), rel=1e-6)
    # a D that cannot tell (logits 0) pays log 2
    assert bce_discriminator_loss(torch.zeros(4), torch.zeros(4)).item() == pytest.approx(math.log(2))


def test_the_non_saturating_generator_loss_is_minus_log_d_of_the_fakes() -> None:
    fake = torch.tensor([1.5, -2.0, 0.0])
    d = torch.sigmoid(fake)
    assert non_saturating_generator_loss(fake).item() == pytest.approx(-d.log().mean().item(), rel=1e-6)
    # its gradient stays large where D rejects the fakes (where log(1 - D) would saturate)
    rejected = torch.tensor([-8.0], requires_grad=True)
    non_saturating_generator_loss(rejected).backward()
    assert rejected.grad.item() == pytest.approx(-(1 - torch.sigmoid(torch.tensor(-8.0))).item())


def test_the_wasserstein_losses_are_differences_of_mean_scores() -> None:
    real, fake = torch.tensor([3.0, 1.0]), torch.tensor([-1.0, 0.0, 4.0])
    assert wasserstein_critic_loss(real, fake).item() == pytest.approx(1.0 - 2.0)
    assert wasserstein_generator_loss(fake).item() == pytest.approx(-1.0)
