"""The latent priors by name (N(0, I), U[-1, 1]) and BigGAN's truncation trick: entries beyond the
threshold are redrawn from the same generator until none is left, so the draw is reproducible and
N(0, 1) truncated."""

from __future__ import annotations

import pytest
import torch

from gans.nn.latents import LATENT_PRIORS, normal_latent, resample_beyond, uniform_latent


def test_every_entry_ends_within_the_threshold_and_inside_ones_are_kept() -> None:
    g = torch.Generator().manual_seed(0)
    z = normal_latent(500, 20, g)
    truncated = resample_beyond(z, 0.5, g)
    assert truncated.abs().max() <= 0.5
    inside = z.abs() <= 0.5
    assert torch.equal(truncated[inside], z[inside]) and not torch.equal(truncated, z)


def test_the_draw_is_reproducible_from_the_generator_alone() -> None:
    def draw(seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return resample_beyond(normal_latent(50, 8, g), 0.3, g)

    torch.manual_seed(1)
    a = draw(7)
    torch.manual_seed(2)  # the global RNG plays no part
    assert torch.equal(a, draw(7)) and not torch.equal(a, draw(8))


def test_the_result_is_a_truncated_normal() -> None:
    g = torch.Generator().manual_seed(0)
    z = resample_beyond(normal_latent(20000, 5, g), 1.0, g)
    assert z.std().item() == pytest.approx(0.5376, abs=0.01)  # std of N(0, 1) truncated to [-1, 1]
    assert z.mean().item() == pytest.approx(0.0, abs=0.01)


def test_a_huge_threshold_changes_nothing_and_a_bad_one_is_refused() -> None:
    z = normal_latent(10, 4, torch.Generator().manual_seed(0))
    assert torch.equal(resample_beyond(z, 1e9), z)
    with pytest.raises(ValueError, match="positive"):
        resample_beyond(z, 0.0)


def test_the_priors_by_name_draw_n_by_z_dim_from_the_generator() -> None:
    assert LATENT_PRIORS == {"normal": normal_latent, "uniform": uniform_latent}
    for prior in LATENT_PRIORS.values():
        a = prior(4000, 3, torch.Generator().manual_seed(0))
        assert a.shape == (4000, 3) and a.dtype == torch.float32
        assert torch.equal(a, prior(4000, 3, torch.Generator().manual_seed(0)))
        assert not torch.equal(a, prior(4000, 3, torch.Generator().manual_seed(1)))


def test_the_uniform_prior_fills_minus_one_to_one() -> None:
    z = uniform_latent(20000, 5, torch.Generator().manual_seed(0))
    assert z.min().item() >= -1.0 and z.max().item() <= 1.0
    assert z.min().item() < -0.999 and z.max().item() > 0.999
    assert z.mean().item() == pytest.approx(0.0, abs=0.01)
    assert z.var().item() == pytest.approx(1 / 3, rel=0.02)  # the variance of U[-1, 1]
    normal = normal_latent(20000, 5, torch.Generator().manual_seed(0))
    assert normal.var().item() == pytest.approx(1.0, rel=0.02) and normal.abs().max() > 3


def test_a_threshold_no_draw_can_meet_stops_after_max_rounds() -> None:
    z = normal_latent(4, 4, torch.Generator().manual_seed(0))
    with pytest.raises(RuntimeError, match="after 3 rounds"):
        resample_beyond(z, 1e-12, torch.Generator().manual_seed(0), max_rounds=3)


def test_the_priors_draw_on_the_device_asked_for() -> None:
    """The meta device holds no data, so this checks the placement without a GPU."""
    for prior in LATENT_PRIORS.values():
        assert prior(3, 2, None, "meta").device.type == "meta"
        assert prior(3, 2).device.type == "cpu"


def test_redraws_keep_the_latents_dtype_and_draw_in_it() -> None:
    """float64 latents are redrawn from float64 normals: the same values as the loop written out."""
    g = torch.Generator().manual_seed(3)
    z = torch.randn(200, 6, generator=g, dtype=torch.float64)
    got = resample_beyond(z, 0.7, torch.Generator().manual_seed(5))
    reference, g = z.clone(), torch.Generator().manual_seed(5)
    while (outside := reference.abs() > 0.7).any():
        reference[outside] = torch.randn(int(outside.sum()), generator=g, dtype=torch.float64)
    assert got.dtype == torch.float64 and torch.equal(got, reference)


def test_an_entry_exactly_at_the_threshold_is_kept() -> None:
    z = torch.tensor([[0.5, -0.5, 0.25]])
    assert torch.equal(resample_beyond(z, 0.5, torch.Generator().manual_seed(0)), z)


def test_the_default_bound_on_rounds_is_100_000() -> None:
    import inspect

    assert inspect.signature(resample_beyond).parameters["max_rounds"].default == 100_000


def test_resampling_gives_up_after_a_hundred_thousand_rounds() -> None:
    """The bound on the rounds: a threshold no draw can meet in time stops with an error that
    names it, instead of looping for ever."""
    from gans.nn.latents import resample_beyond

    with pytest.raises(RuntimeError, match=r"outside after 100000 rounds"):
        resample_beyond(torch.full((1,), 5.0), 1e-12, torch.Generator().manual_seed(0))
