"""Toy 2D mode metrics on hand-built point sets and on the ring-8 mixture itself."""

from __future__ import annotations

import math

import pytest
import torch

from gans.data import TOY_MIXTURES, sample_toy
from gans.metrics.toy import mode_min_count, toy_metrics

RING = TOY_MIXTURES["ring-8"]


def near_modes(modes: torch.Tensor, per_mode: list[int], sigma: float, seed: int = 0) -> torch.Tensor:
    """per_mode[k] points within 1 sigma of mode k."""
    g = torch.Generator().manual_seed(seed)
    parts = [modes[k] + sigma * 0.5 * torch.rand(count, 2, generator=g) for k, count in enumerate(per_mode)]
    return torch.cat(parts)


def test_min_count_scales_pacgans_20_per_2500():
    assert mode_min_count(2500) == 20
    assert mode_min_count(10_000) == 80
    assert mode_min_count(10) == 1


def test_all_modes_evenly():
    points = near_modes(RING.modes, [100] * 8, RING.sigma)
    out = toy_metrics(points, RING.modes, RING.sigma)["metrics"]
    assert out == {"modes_covered": 8.0, "high_quality_share": 1.0, "reverse_kl": pytest.approx(0.0, abs=1e-12)}


def test_one_mode():
    points = near_modes(RING.modes, [800] + [0] * 7, RING.sigma)
    result = toy_metrics(points, RING.modes, RING.sigma)
    assert result["metrics"]["modes_covered"] == 1.0
    assert result["metrics"]["high_quality_share"] == 1.0
    assert result["metrics"]["reverse_kl"] == pytest.approx(math.log(8))
    assert result["per_mode"]["high_quality_count"] == [800] + [0] * 7


def test_points_off_every_mode():
    points = torch.zeros(500, 2)  # the ring's centre: 2.0 away from every mode, sigma 0.02
    out = toy_metrics(points, RING.modes, RING.sigma)["metrics"]
    assert out == {"modes_covered": 0.0, "high_quality_share": 0.0, "reverse_kl": None}


def test_a_mode_needs_the_minimum_count_and_low_quality_points_do_not_count():
    n = 2500  # min count 20
    per_mode = [20, 19] + [0] * 6
    good = near_modes(RING.modes, per_mode, RING.sigma)
    far = RING.modes[2] + 4 * RING.sigma  # beyond 3 sigma of mode 2: low quality
    points = torch.cat([good, far.expand(n - len(good), 2)])
    result = toy_metrics(points, RING.modes, RING.sigma)
    assert result["metrics"]["modes_covered"] == 1.0
    assert result["metrics"]["high_quality_share"] == pytest.approx(39 / n)
    p = torch.tensor([20 / 39, 19 / 39], dtype=torch.float64)
    assert result["metrics"]["reverse_kl"] == pytest.approx(float((p * (p * 8).log()).sum()))


def test_the_mixture_itself():
    """Real ring-8 points: all modes, and the 2-D 3-sigma share 1 - exp(-9/2) = 0.9889."""
    points, _ = sample_toy("ring-8", "test")
    out = toy_metrics(points, RING.modes, RING.sigma)["metrics"]
    assert out["modes_covered"] == 8.0
    assert out["high_quality_share"] == pytest.approx(1 - math.exp(-4.5), abs=0.004)
    assert out["reverse_kl"] < 0.005
