"""The losses on discriminator scores: the hinge pair of SAGAN and BigGAN."""

from __future__ import annotations

import pytest
import torch

from gans.nn.losses import hinge_discriminator_loss, hinge_generator_loss


def test_hinge_discriminator_loss_counts_only_scores_inside_the_margin() -> None:
    real = torch.tensor([2.0, 0.5, -1.0])   # relu(1 - s): 0, 0.5, 2
    fake = torch.tensor([-3.0, 0.0])         # relu(1 + s): 0, 1
    assert hinge_discriminator_loss(real, fake).item() == pytest.approx(2.5 / 3 + 0.5)
    assert hinge_discriminator_loss(torch.full((4,), 1.5), torch.full((4,), -1.5)).item() == 0.0


def test_hinge_generator_loss_is_the_negated_mean_fake_score() -> None:
    assert hinge_generator_loss(torch.tensor([1.0, -3.0, 5.0])).item() == pytest.approx(-1.0)
