"""Shared blocks: the image pool (CycleGAN's history of fakes) and the least-squares losses."""

from __future__ import annotations

import pytest
import torch

from gans.nn.losses import least_squares_discriminator_loss, least_squares_generator_loss
from gans.nn.pool import ImagePool


def images(n: int, start: int) -> torch.Tensor:
    """n distinct constant images, values start, start + 1, ..."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 4, 4)


def test_until_full_the_pool_stores_and_returns_each_fake() -> None:
    pool = ImagePool(5)
    first = images(3, 0)
    assert torch.equal(pool.query(first), first) and len(pool) == 3
    second = images(2, 3)
    assert torch.equal(pool.query(second), second) and len(pool) == 5
    assert torch.equal(torch.stack(pool.images), images(5, 0))


def test_after_more_than_size_queries_it_returns_past_fakes() -> None:
    torch.manual_seed(0)
    pool = ImagePool(50)
    for k in range(6):  # 60 queries
        pool.query(images(10, 10 * k))
    batch = images(10, 1000)
    out = pool.query(batch)
    old = [image for image in out if image[0, 0, 0] < 1000]
    assert out.shape == batch.shape and len(pool) == 50
    assert 0 < len(old) < 10  # each fake swapped with probability 0.5
    assert all(image[0, 0, 0] < 60 for image in old)  # a stored one, not a new one
    values = {int(image[0, 0, 0]) for image in pool.images}
    assert len(values & set(range(1000, 1010))) == len(old)  # the swapped-in fakes are stored


def test_a_pool_of_size_0_passes_fakes_through_and_is_reproducible() -> None:
    assert torch.equal(ImagePool(0).query(images(4, 0)), images(4, 0))
    outs = []
    for _ in range(2):
        torch.manual_seed(3)
        pool = ImagePool(4)
        outs.append(torch.cat([pool.query(images(4, 4 * k)) for k in range(5)]))
    assert torch.equal(*outs)


def test_the_pool_state_round_trips() -> None:
    pool = ImagePool(4)
    pool.query(images(3, 0))
    other = ImagePool(4)
    other.load_state_dict(pool.state_dict())
    assert all(torch.equal(x, y) for x, y in zip(pool.images, other.images)) and len(other) == 3
    with pytest.raises(ValueError, match="cannot be loaded"):
        ImagePool(8).load_state_dict(pool.state_dict())


def test_least_squares_losses_are_mse_against_1_and_0() -> None:
    real, fake = torch.tensor([[1.0, 0.5]]), torch.tensor([[0.0, 2.0]])
    assert least_squares_discriminator_loss(real, fake).item() == pytest.approx(0.5 * (0.125 + 2.0))
    assert least_squares_generator_loss(fake).item() == pytest.approx(0.5 * (1.0 + 1.0))
    assert least_squares_discriminator_loss(torch.ones(3), torch.zeros(3)).item() == 0.0
