"""Image metrics on hand-built features: IS bounds, identical inputs, same distribution,
density/coverage (Naeem et al. 2020), conditional metrics."""

from __future__ import annotations

import math

import pytest
import torch

from gans.metrics.density_coverage import DEFAULT_K, density_coverage, kth_neighbour_radii
from gans.metrics.frechet import feature_statistics
from gans.metrics.scores import (MetricSettings, class_accuracy, image_metrics, inception_score,
                                 intra_class_fid)

SETTINGS = MetricSettings(kid_subsets=20, kid_subset_size=200)


def gaussian(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) + shift


def test_inception_score_of_uniform_logits_is_one():
    out = inception_score(torch.zeros(500, 10), MetricSettings())
    assert out["is_mean"] == pytest.approx(1.0, abs=1e-9)
    assert out["is_std"] == pytest.approx(0.0, abs=1e-9)


def test_inception_score_of_confident_evenly_spread_logits_is_the_class_count():
    classes = 10
    logits = 40.0 * torch.nn.functional.one_hot(torch.arange(5000) % classes, classes).float()
    out = inception_score(logits, MetricSettings())
    assert 0.97 * classes < out["is_mean"] <= classes + 1e-6


def test_inception_score_lies_between_one_and_the_class_count():
    logits = gaussian(1000, 7, seed=0) * 3
    out = inception_score(logits, MetricSettings())
    assert 1.0 < out["is_mean"] < 7.0


def test_identical_inputs():
    n, d = 600, 16
    features = gaussian(n, d, seed=1)
    logits = gaussian(n, 10, seed=2)
    mu, sigma = feature_statistics(features)
    whole_set = MetricSettings(kid_subsets=3, kid_subset_size=n)  # every KID subset is the whole set
    out = image_metrics(features, logits, features, mu, sigma, whole_set)
    assert 0.0 <= out["fid"] < 1e-8
    # unbiased MMD^2 of a set with itself: -(2 / m)(mean k(x, x) - mean_{x != y} k(x, y)) ~ 1/m
    x = features.double()
    kernel = (x @ x.T / d + 1) ** 3
    off_diagonal = (kernel.sum() - kernel.diagonal().sum()) / (n * (n - 1))
    expected = -2 / n * (kernel.diagonal().mean() - off_diagonal)
    assert out["kid_mean"] == pytest.approx(float(expected), rel=1e-3)
    assert abs(out["kid_mean"]) < 0.05
    assert out["precision"] == 1.0 and out["recall"] == 1.0
    assert out["coverage"] == 1.0
    # every ball holds its own centre and its k neighbours: density = (k + 1) / k
    assert out["density"] == pytest.approx((SETTINGS.dc_k + 1) / SETTINGS.dc_k)


def test_shifted_inputs_score_worse():
    real = gaussian(600, 16, seed=3)
    fake = gaussian(600, 16, seed=4, shift=3.0)
    mu, sigma = feature_statistics(real)
    out = image_metrics(fake, gaussian(600, 10, seed=5), real, mu, sigma, SETTINGS)
    assert out["fid"] == pytest.approx(16 * 9, rel=0.1)
    assert out["kid_mean"] > 0.5
    assert out["precision"] < 0.05 and out["recall"] < 0.05
    assert out["density"] < 0.05 and out["coverage"] < 0.05


def test_density_and_coverage_of_one_distribution():
    """Naeem et al.: for two samples of one distribution, density ~ 1, coverage ~ 1 - 2^-k."""
    k = 5
    real, fake = gaussian(3000, 8, seed=6), gaussian(3000, 8, seed=7)
    out = density_coverage(real, fake, k=k, chunk=700)  # a chunk that does not divide N
    assert out["density"] == pytest.approx(1.0, abs=0.08)
    assert out["coverage"] == pytest.approx(1 - 2 ** -k, abs=0.02)


def test_density_counts_balls_and_coverage_counts_real_points():
    """Hand-made 1-D case: real points 0, 1, 2, 10 with k = 1 have radii 1, 1, 1, 8."""
    real = torch.tensor([[0.0], [1.0], [2.0], [10.0]])
    fake = torch.tensor([[0.5], [100.0]])
    out = density_coverage(real, fake, k=1)
    # 0.5 lies in the balls of 0 and 1 (radius 1): 2 ball memberships over k * M = 2
    assert out["density"] == pytest.approx(2 / 2)
    # balls of 0 and 1 hold a fake; 2 (reaches 1..3) and 10 (reaches 2..18) do not
    assert out["coverage"] == pytest.approx(2 / 4)


def test_class_accuracy_per_label_and_mean():
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2])
    predicted = torch.tensor([0, 0, 1, 1, 1, 1, 0, 2])
    mean, per_label = class_accuracy(predicted, labels)
    assert per_label == {"0": 0.5, "1": 1.0, "2": 0.5}
    assert mean == pytest.approx(2 / 3)


def test_intra_class_fid_separates_swapped_classes():
    real = torch.cat([gaussian(300, 4, seed=8), gaussian(300, 4, seed=9, shift=5.0)])
    real_labels = torch.cat([torch.zeros(300), torch.ones(300)]).long()
    fake = torch.cat([gaussian(300, 4, seed=10), gaussian(300, 4, seed=11, shift=5.0)])
    right, per_label = intra_class_fid(fake, real_labels, real, real_labels)
    swapped, _ = intra_class_fid(fake, 1 - real_labels, real, real_labels)
    assert set(per_label) == {"0", "1"}
    assert right < 0.2
    assert swapped == pytest.approx(4 * 25, rel=0.1)


def test_intra_class_fid_skips_labels_without_a_covariance():
    features = gaussian(5, 3, seed=12)
    labels = torch.tensor([0, 0, 0, 0, 1])
    mean, per_label = intra_class_fid(features, labels, features, labels)
    assert per_label["1"] is None and per_label["0"] is not None
    assert mean == pytest.approx(per_label["0"])
    assert not math.isnan(mean)


def test_kid_subset_size_is_capped_by_the_smaller_sample():
    assert MetricSettings().kid_size(10_000, 10_000) == 1000
    assert MetricSettings().kid_size(256, 300) == 256


def test_the_settings_give_torch_fidelity_the_protocol_constants():
    settings = MetricSettings()
    assert [settings.splits(n) for n in (0, 1, 7, 10, 5000)] == [1, 1, 7, 10, 10]
    assert settings.kid_size(5000, 800) == 800 and settings.kid_size(300, 800) == 300
    assert settings.kid_size(5000, 5000) == 1000
    assert settings.fidelity_kwargs(5000, 800) == {
        "isc_splits": 10, "kid_subsets": 100, "kid_subset_size": 800, "prc_neighborhood": 3,
        "rng_seed": 2020, "samples_shuffle": True, "save_cpu_ram": True, "verbose": False}
    other = MetricSettings(is_splits=4, prc_k=5, kid_subsets=7, kid_subset_size=50, rng_seed=1)
    assert other.fidelity_kwargs(3, 800) == {
        "isc_splits": 3, "kid_subsets": 7, "kid_subset_size": 3, "prc_neighborhood": 5, "rng_seed": 1,
        "samples_shuffle": True, "save_cpu_ram": True, "verbose": False}


def test_class_accuracy_weighs_every_label_the_same_and_has_no_mean_without_labels():
    predicted = torch.tensor([0, 0, 0, 1, 2, 2])
    labels = torch.tensor([0, 0, 0, 0, 2, 1])  # label 0: 3 of 4, label 1: 0 of 1, label 2: 1 of 1
    mean, per_label = class_accuracy(predicted, labels)
    assert per_label == {"0": 0.75, "1": 0.0, "2": 1.0}
    assert mean == pytest.approx((0.75 + 0.0 + 1.0) / 3)  # not the pooled 4 / 6
    assert class_accuracy(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)) == (None, {})


def test_radii_are_kth_neighbour_distances_in_any_chunking_and_balls_are_closed():
    real = torch.tensor([[0.0], [1.0], [3.0], [7.0], [15.0]])
    for chunk in (1, 2, 5, 2048):
        assert torch.equal(kth_neighbour_radii(real, 1, chunk), torch.tensor([1.0, 1.0, 2.0, 4.0, 8.0]))
        assert torch.equal(kth_neighbour_radii(real, 2, chunk), torch.tensor([3.0, 2.0, 3.0, 6.0, 12.0]))
        # a fake exactly on the boundary of the balls of 0 and 1 (radius 1 each at k = 1) is inside
        out = density_coverage(real, torch.tensor([[2.0], [-1.0]]), k=1, chunk=chunk)
        assert out == {"density": pytest.approx((1 + 1 + 1) / 2), "coverage": pytest.approx(3 / 5)}
    real, fake = gaussian(40, 3, seed=8), gaussian(30, 3, seed=9)
    assert DEFAULT_K == 5 and density_coverage(real, fake) == density_coverage(real, fake, k=5)
    assert density_coverage(real, fake) != density_coverage(real, fake, k=4)


def test_density_and_coverage_refuse_mismatched_or_too_few_features():
    with pytest.raises(ValueError, match="N x D and M x D"):
        density_coverage(torch.zeros(10, 3), torch.zeros(10, 4))
    with pytest.raises(ValueError, match="N x D and M x D"):
        density_coverage(torch.zeros(10), torch.zeros(10, 1))
    with pytest.raises(ValueError, match="N x D and M x D"):
        density_coverage(torch.zeros(10, 1), torch.zeros(10))
    with pytest.raises(ValueError, match="more than k=5 real samples, got 5"):
        density_coverage(torch.randn(5, 2), torch.randn(8, 2))
    assert density_coverage(torch.randn(6, 2), torch.randn(8, 2))["coverage"] <= 1.0  # 6 > k: fine


def test_intra_class_fid_needs_two_samples_a_side_and_no_more():
    fake, real = gaussian(2, 3, seed=10), gaussian(2, 3, seed=11)
    mean, per_label = intra_class_fid(fake, torch.tensor([4, 4]), real, torch.tensor([4, 4]))
    assert isinstance(per_label["4"], float) and mean == per_label["4"]
    assert intra_class_fid(fake, torch.tensor([4, 4]), real, torch.tensor([4, 5])) == (None, {"4": None})


def test_a_label_without_a_covariance_does_not_end_the_labels_after_it():
    features = gaussian(7, 3, seed=13)
    labels = torch.tensor([0, 0, 0, 1, 2, 2, 2])  # label 1 has one sample, 2 comes after it
    mean, per_label = intra_class_fid(features, labels, features, labels)
    assert per_label["1"] is None and per_label["0"] is not None and per_label["2"] is not None
    assert mean == pytest.approx((per_label["0"] + per_label["2"]) / 2)


def test_the_inception_score_uses_the_settings_splits_and_seed():
    from torch_fidelity.metric_isc import isc_features_to_metric

    logits = torch.randn(60, 10, generator=torch.Generator().manual_seed(4)) * 3
    settings = MetricSettings(is_splits=4, rng_seed=7)
    expected = isc_features_to_metric(logits, splits=4, shuffle=True, rng_seed=7)
    assert inception_score(logits, settings) == {"is_mean": expected["inception_score_mean"],
                                                  "is_std": expected["inception_score_std"]}
    other_split = isc_features_to_metric(logits, splits=10, shuffle=True, rng_seed=7)
    other_seed = isc_features_to_metric(logits, splits=4, shuffle=True, rng_seed=2020)
    assert other_split["inception_score_std"] != expected["inception_score_std"]
    assert other_seed["inception_score_std"] != expected["inception_score_std"]


def test_density_counts_balls_exactly_past_float32s_integers():
    """4097 fakes, each inside all 4097 real balls: 4097^2 = 16785409 balls held in all, an odd
    number above 2^24 that float32 cannot hold; the count is kept in float64, so density is
    exactly 4097 / k."""
    same = torch.zeros(4097, 2)
    assert density_coverage(same, same, k=5) == {"density": 4097 / 5, "coverage": 1.0}
