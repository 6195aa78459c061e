"""Toy 2D mode metrics under the named protocols, on closed forms and on the mixtures themselves."""

from __future__ import annotations

import math

import pytest
import torch

from gans.data import TOY_MIXTURES, sample_toy
from gans.metrics.toy import TOY_PROTOCOLS, toy_metrics, toy_protocol

RING = TOY_MIXTURES["ring-8"]
VEEGAN, PACGAN, TOY_2D = TOY_PROTOCOLS["veegan"], TOY_PROTOCOLS["pacgan"], TOY_PROTOCOLS["toy-2d"]


def near_modes(modes: torch.Tensor, per_mode: list[int], sigma: float, seed: int = 0) -> torch.Tensor:
    """per_mode[k] points within 1 sigma of mode k."""
    g = torch.Generator().manual_seed(seed)
    parts = [modes[k] + sigma * 0.5 * torch.rand(count, 2, generator=g) for k, count in enumerate(per_mode)]
    return torch.cat(parts)


def test_the_published_mixtures_are_as_the_authors_code_defines_them():
    unit, grid = TOY_MIXTURES["ring-8-unit"], TOY_MIXTURES["grid-25"]
    angles = torch.arange(8, dtype=torch.float64) * 2 * math.pi / 8
    expected = torch.stack([angles.cos(), angles.sin()], 1).float()
    assert torch.allclose(unit.modes, expected, atol=1e-7) and unit.sigma == 0.01
    assert len(torch.unique(unit.modes.round(decimals=4), dim=0)) == 8  # 8 distinct means
    coords = {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert {tuple(m) for m in grid.modes.tolist()} == {(x, y) for x in coords for y in coords}
    assert grid.sigma == 0.05


def test_the_protocols_record_their_cutoff_and_sample_count():
    assert (VEEGAN.strict, PACGAN.strict) == (False, True)
    assert VEEGAN.samples == PACGAN.samples == 2500
    assert VEEGAN.min_count(2500) == PACGAN.min_count(2500) == 1
    assert TOY_2D.min_count(2500) == 20 and TOY_2D.min_count(10_000) == 80 and TOY_2D.min_count(10) == 1
    assert "<= 3 sigma" in VEEGAN.rule and "< 3 sigma" in PACGAN.rule
    with pytest.raises(ValueError, match="unknown toy protocol 'gdpp' .known: veegan, pacgan, toy-2d"):
        toy_protocol("gdpp")


@pytest.mark.parametrize("dataset", ["ring-8-unit", "grid-25"])
@pytest.mark.parametrize("k", [1, 5, 8])
def test_samples_exactly_on_k_means_capture_k_modes(dataset, k):
    mixture = TOY_MIXTURES[dataset]
    points = mixture.modes[:k].repeat_interleave(2500 // k + 1, dim=0)[:2500]
    for protocol in (VEEGAN, PACGAN):
        out = toy_metrics(points, mixture.modes, mixture.sigma, protocol)["metrics"]
        assert out["modes_covered"] == k and out["high_quality_share"] == 1.0
        counts = torch.bincount(torch.arange(k).repeat_interleave(2500 // k + 1)[:2500], minlength=len(mixture.modes))
        p = counts[counts > 0].double() / 2500
        assert out["reverse_kl"] == pytest.approx(float((p * (p * len(mixture.modes)).log()).sum()))


@pytest.mark.parametrize("dataset", ["ring-8-unit", "grid-25"])
def test_samples_at_2_9_and_3_1_sigma_fall_on_either_side_of_the_cutoff(dataset):
    mixture = TOY_MIXTURES[dataset]
    mode, sigma = mixture.modes[3].double(), mixture.sigma
    direction = torch.tensor([0.6, 0.8], dtype=torch.float64)  # a unit vector off the axes
    inside = (mode + 2.9 * sigma * direction).float().expand(10, 2)
    outside = (mode + 3.1 * sigma * direction).float().expand(30, 2)
    for protocol in (VEEGAN, PACGAN):
        out = toy_metrics(torch.cat([inside, outside]), mixture.modes, sigma, protocol)
        assert out["metrics"]["modes_covered"] == 1
        assert out["metrics"]["high_quality_share"] == pytest.approx(10 / 40)
        assert out["per_mode"]["high_quality_count"][3] == 10


def test_a_sample_at_exactly_3_sigma_is_high_quality_for_veegan_not_for_pacgan():
    modes, sigma = torch.tensor([[0.0, 0.0], [4.0, 0.0]]), 0.25  # 3 sigma = 0.75 exactly in binary
    points = torch.tensor([[0.75, 0.0], [4.0, 0.0]])
    veegan = toy_metrics(points, modes, sigma, VEEGAN)["metrics"]
    pacgan = toy_metrics(points, modes, sigma, PACGAN)["metrics"]
    assert (veegan["modes_covered"], veegan["high_quality_share"]) == (2, 1.0)
    assert (pacgan["modes_covered"], pacgan["high_quality_share"]) == (1, 0.5)


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
    for protocol in (TOY_2D, VEEGAN, PACGAN):
        out = toy_metrics(points, RING.modes, RING.sigma, protocol)["metrics"]
        assert out == {"modes_covered": 0.0, "high_quality_share": 0.0, "reverse_kl": None}


def test_the_earlier_rule_needs_the_minimum_count_the_published_ones_one_sample():
    n = 2500  # toy-2d's min count: 20
    per_mode = [20, 19, 1] + [0] * 5
    good = near_modes(RING.modes, per_mode, RING.sigma)
    far = RING.modes[3] + 4 * RING.sigma  # beyond 3 sigma of mode 3: low quality
    points = torch.cat([good, far.expand(n - len(good), 2)])
    result = toy_metrics(points, RING.modes, RING.sigma, TOY_2D)
    assert result["metrics"]["modes_covered"] == 1.0
    assert result["metrics"]["high_quality_share"] == pytest.approx(40 / n)
    p = torch.tensor([20 / 40, 19 / 40, 1 / 40], dtype=torch.float64)
    assert result["metrics"]["reverse_kl"] == pytest.approx(float((p * (p * 8).log()).sum()))
    assert toy_metrics(points, RING.modes, RING.sigma, VEEGAN)["metrics"]["modes_covered"] == 3.0


@pytest.mark.parametrize("dataset", ["ring-8", "ring-8-unit", "grid-25"])
def test_the_mixture_itself(dataset):
    """Real points: all modes, and the 2-D 3-sigma share 1 - exp(-9/2) = 0.9889."""
    mixture = TOY_MIXTURES[dataset]
    points, _ = sample_toy(dataset, "test")
    for protocol in (TOY_2D, VEEGAN, PACGAN):
        out = toy_metrics(points[:2500], mixture.modes, mixture.sigma, protocol)["metrics"]
        assert out["modes_covered"] == len(mixture.modes)
        assert out["high_quality_share"] == pytest.approx(1 - math.exp(-4.5), abs=0.006)
        assert out["reverse_kl"] < 0.02


def test_one_point_is_scored_and_misshapen_points_are_refused() -> None:
    modes = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    veegan = toy_protocol("veegan")
    one = toy_metrics(torch.tensor([[0.0, 0.0]]), modes, 0.1, veegan)
    assert one["metrics"] == {"modes_covered": 1.0, "high_quality_share": 1.0,
                              "reverse_kl": pytest.approx(math.log(2))}
    assert one["per_mode"] == {"high_quality_count": [1, 0], "min_count": 1, "modes_total": 2}
    for bad in (torch.zeros(3, 3), torch.zeros(3), torch.zeros(2, 3, 2)):
        with pytest.raises(ValueError, match="points must be N x 2"):
            toy_metrics(bad, modes, 0.1, veegan)
    with pytest.raises(ValueError, match="no points to evaluate"):
        toy_metrics(torch.zeros(0, 2), modes, 0.1, veegan)
