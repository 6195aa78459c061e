"""BigGAN's truncation trick on latents: entries beyond the threshold are redrawn from the same
generator until none is left, so the draw is reproducible and N(0, 1) truncated."""

from __future__ import annotations

import pytest
import torch

from gans.nn.latents import normal_latent, resample_beyond


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
