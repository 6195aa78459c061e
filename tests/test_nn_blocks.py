"""Shared blocks: the image pool (CycleGAN's history of fakes), the least-squares losses and the
portable dropout."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gans.nn.dropout import PortableDropout, portable_dropout
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


def test_a_saved_pool_is_loaded_onto_the_device_asked_for() -> None:
    pool = ImagePool(4)
    pool.query(images(3, 0))
    restored = ImagePool(4)
    restored.load_state_dict(pool.state_dict(), device="meta")  # no data: placement only
    assert len(restored) == 3 and all(image.device.type == "meta" for image in restored.images)
    kept = ImagePool(4)
    kept.load_state_dict(pool.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(kept.images, pool.images))


# --------------------------------------------------------------------------- PortableDropout
# nn.Dropout's contract with a mask drawn as `uniform < keep` from torch's own generator (the same
# on every CPU vendor).
def test_the_mask_is_uniform_below_keep_and_the_kept_units_are_scaled() -> None:
    x = torch.rand(64, 32) + 0.5
    torch.manual_seed(3)
    out = portable_dropout(x, 0.25)
    torch.manual_seed(3)
    expected = x * (torch.rand(x.shape) < 0.75) / 0.75
    assert torch.equal(out, expected)


def test_the_drop_rate_and_the_mean_match_p() -> None:
    x = torch.ones(400, 500)
    torch.manual_seed(0)
    out = portable_dropout(x, 0.3)
    assert (out == 0).float().mean().item() == pytest.approx(0.3, abs=0.005)
    values = out.unique()
    assert len(values) == 2 and values[0] == 0 and values[1].item() == pytest.approx(1 / 0.7)
    assert out.mean().item() == pytest.approx(1.0, abs=0.01)


def test_eval_mode_and_p_zero_pass_the_input_through_and_draw_nothing() -> None:
    x = torch.randn(8, 5)
    layer = PortableDropout(0.5).eval()
    state = torch.get_rng_state()
    assert layer(x) is x
    assert portable_dropout(x, 0.5, training=False) is x
    assert portable_dropout(x, 0.0) is x
    assert torch.equal(torch.get_rng_state(), state)


def test_the_module_masks_in_training_mode_like_the_function() -> None:
    x = torch.rand(16, 10) + 1.0
    layer = PortableDropout(0.5)
    assert layer.training and layer.p == 0.5 and "p=0.5" in repr(layer)
    torch.manual_seed(1)
    out = layer(x)
    torch.manual_seed(1)
    assert torch.equal(out, portable_dropout(x, 0.5, training=True))
    assert (out == 0).any() and torch.equal(out[out != 0], (x * 2)[out != 0])


def test_the_same_seed_gives_the_same_mask_and_the_dtype_is_kept() -> None:
    x = torch.ones(32, 32, dtype=torch.float64)
    masks = []
    for _ in range(2):
        torch.manual_seed(7)
        masks.append(portable_dropout(x, 0.5))
    assert torch.equal(masks[0], masks[1]) and masks[0].dtype == torch.float64


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_a_probability_outside_0_1_is_refused(p: float) -> None:
    with pytest.raises(ValueError, match=r"dropout probability must be in \[0, 1\)"):
        PortableDropout(p)
    with pytest.raises(ValueError, match=r"dropout probability must be in \[0, 1\)"):
        portable_dropout(torch.ones(2), p)


def test_its_gradient_flows_through_the_kept_units_only() -> None:
    x = torch.ones(50, 20, requires_grad=True)
    torch.manual_seed(2)
    nn.Sequential(PortableDropout(0.4))(x).sum().backward()
    kept = x.grad != 0
    assert torch.allclose(x.grad[kept], torch.full_like(x.grad[kept], 1 / 0.6))
    assert 0 < kept.float().mean().item() < 1


def test_dropout_draws_its_mask_in_the_inputs_dtype_and_on_its_device() -> None:
    """float64 activations get float64 uniforms (another stream of draws than float32's), and the
    mask is made where the activations are (the meta device: shapes only, no data)."""
    x = torch.ones(64, dtype=torch.float64)
    torch.manual_seed(3)
    out = portable_dropout(x, 0.5)
    torch.manual_seed(3)
    expected = (torch.rand(64, dtype=torch.float64) < 0.5) / 0.5
    assert out.dtype == torch.float64 and torch.equal(out, expected)
    torch.manual_seed(3)
    assert not torch.equal(expected, (torch.rand(64) < 0.5) / 0.5)  # float32 draws would differ
    assert portable_dropout(torch.ones(4, 4, device="meta"), 0.5).device.type == "meta"


def test_a_dropout_layer_of_probability_zero_is_the_identity() -> None:
    x = torch.randn(3, 5)
    assert PortableDropout(0.0).train()(x) is x
