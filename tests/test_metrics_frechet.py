"""The Fréchet distance: closed forms, agreement with scipy's sqrtm and torch-fidelity, 1/N bias,
float64 statistics (torch-fidelity 0.4.0 silently ignores its float64 option)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from torch_fidelity.helpers import text_to_dtype
from torch_fidelity.metric_fid import fid_statistics_to_metric

from gans.metrics.frechet import (feature_statistics, frechet_distance, frechet_distance_of_features,
                                  trace_sqrt_product)


def random_spd(d: int, rng: np.random.Generator, rank: int | None = None) -> np.ndarray:
    x = rng.standard_normal((rank or 2 * d, d))
    return x.T @ x / len(x)


def sqrtm_route(mu1, sigma1, mu2, sigma2) -> float:
    """The classic (pytorch-fid / TTUR) formula with scipy.linalg.sqrtm."""
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean).real)


@pytest.mark.parametrize("d,m_scale,s", [(1, 0.5, 2.0), (16, 1.0, 0.5), (256, 0.1, 1.3)])
def test_isotropic_gaussians_closed_form(d, m_scale, s):
    m = np.full(d, m_scale)
    expected = m @ m + d * (1 - s) ** 2
    got = frechet_distance(np.zeros(d), np.eye(d), m, s ** 2 * np.eye(d))
    assert got == pytest.approx(expected, rel=1e-6)


def test_diagonal_covariances_closed_form():
    rng = np.random.default_rng(1)
    d = 64
    a, b = rng.uniform(0.1, 4, d), rng.uniform(0.1, 4, d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    expected = ((np.sqrt(a) - np.sqrt(b)) ** 2).sum() + ((mu1 - mu2) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-6)


def test_equal_covariances_leave_the_mean_term():
    rng = np.random.default_rng(2)
    d = 48
    sigma = random_spd(d, rng)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    expected = ((mu1 - mu2) ** 2).sum()
    assert frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(expected, rel=1e-6)


def test_identical_statistics_give_zero_not_negative():
    rng = np.random.default_rng(3)
    sigma = random_spd(32, rng, rank=20)  # singular: eigenvalues ~ -1e-16 must be clamped
    mu = rng.standard_normal(32)
    got = frechet_distance(mu, sigma, mu, sigma)
    assert 0.0 <= got < 1e-9


def test_isotropic_gaussians_from_samples():
    """On 20,000 samples per side in 8 dims the estimate is within 2% of the closed form 3.0."""
    g = torch.Generator().manual_seed(0)
    d, n, s = 8, 20_000, 1.5
    m = torch.full((d,), 1 / np.sqrt(d))
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = m + s * torch.randn(n, d, generator=g, dtype=torch.float64)
    expected = 1.0 + d * (1 - s) ** 2
    assert frechet_distance_of_features(x, y) == pytest.approx(expected, rel=0.02)


def test_agrees_with_sqrtm_and_torch_fidelity():
    rng = np.random.default_rng(4)
    d = 96
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d) * 0.3
    sigma1, sigma2 = random_spd(d, rng), random_spd(d, rng) * 2.0
    ours = frechet_distance(mu1, sigma1, mu2, sigma2)
    theirs = fid_statistics_to_metric({"mu": mu1, "sigma": sigma1}, {"mu": mu2, "sigma": sigma2},
                                      verbose=False)["frechet_inception_distance"]
    assert ours == pytest.approx(sqrtm_route(mu1, sigma1, mu2, sigma2), rel=1e-8)
    assert ours == pytest.approx(theirs, rel=1e-8)


def test_rank_deficient_covariances_agree_with_sqrtm():
    """Fewer samples than dimensions (intra-class FID at 2048-d): S1 of rank 12 in 80 dims."""
    rng = np.random.default_rng(8)
    d = 80
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    sigma1, sigma2 = random_spd(d, rng, rank=12), random_spd(d, rng, rank=30)
    expected = sqrtm_route(mu1, sigma1, mu2, sigma2)
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(mu1, np.zeros((d, d)), mu2, sigma2) == pytest.approx(
        ((mu1 - mu2) ** 2).sum() + np.trace(sigma2), rel=1e-9)


def test_trace_term_is_not_eigvalsh_of_the_product():
    """S1 S2 is not symmetric: the symmetric route must differ from eigvalsh(S1 S2) where the
    latter is wrong, and match the eigenvalues of the product."""
    rng = np.random.default_rng(5)
    sigma1, sigma2 = random_spd(6, rng), random_spd(6, rng)
    truth = np.sqrt(np.linalg.eigvals(sigma1 @ sigma2).real.clip(0)).sum()
    wrong = np.sqrt(np.linalg.eigvalsh(sigma1 @ sigma2).clip(0)).sum()
    assert trace_sqrt_product(sigma1, sigma2) == pytest.approx(truth, rel=1e-10)
    assert abs(wrong - truth) > 1e-3


def test_fid_falls_as_one_over_n():
    """Two samples of one distribution: N * FID is roughly constant (the bias is ~ 1/N)."""
    g = torch.Generator().manual_seed(6)
    d, repeats = 16, 4
    scaled = {}
    for n in (250, 1000, 4000):
        values = [frechet_distance_of_features(torch.randn(n, d, generator=g, dtype=torch.float64),
                                               torch.randn(n, d, generator=g, dtype=torch.float64))
                  for _ in range(repeats)]
        scaled[n] = n * float(np.mean(values))
    assert max(scaled.values()) / min(scaled.values()) < 1.5, scaled
    assert scaled[250] > 10  # not ~0: the bias is real, ~ d (d + 3) / 2 for unit Gaussians


def test_statistics_are_float64_and_exact_for_large_offsets():
    """Workaround: torch-fidelity's float64 option gives float32 (canary below), so statistics are
    computed here in float64; a float32 mean/covariance of features near 1e4 loses ~3 digits."""
    g = torch.Generator().manual_seed(7)
    features = (1e4 + torch.randn(2000, 4, generator=g)).float()
    mu, sigma = feature_statistics(features)
    exact = features.double().numpy()
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    np.testing.assert_allclose(sigma, np.cov(exact, rowvar=False), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mu, exact.mean(0), rtol=1e-14)
    float32_sigma = torch.cov(features.T).double().numpy()
    assert np.abs(float32_sigma - sigma).max() > 1e-6  # what a float32 route would have cost


def test_torch_fidelity_float64_option_is_still_ignored():
    """Canary for the bug routed around above; when it fails, torch-fidelity fixed it."""
    assert text_to_dtype("float64") is torch.float32


def test_mismatched_statistics_are_refused():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_zero_variance_dimensions_drop_out_exactly():
    """Dead feature units: a dimension where either covariance has zero variance is removed from
    both before the square root (exact), so S1's small eigenvalues elsewhere are kept. Without
    it the Cholesky path fails on the singular S2 and the sqrt(S1) route drops S1's eigenvalue
    1e-16, losing its share sqrt(1e-16) = 1e-8 of the trace."""
    s1 = np.diag([1.0, 1e-16, 5.0])
    s2 = np.diag([1.0, 1.0, 0.0])  # dimension 2 is dead in S2
    assert trace_sqrt_product(s1, s2) == pytest.approx(1 + 1e-8, rel=1e-14, abs=0)
    assert trace_sqrt_product(s2, s1) == pytest.approx(1 + 1e-8, rel=1e-14, abs=0)
    # the traces keep every dimension: FD = tr S1 + tr S2 - 2 tr sqrt(S1 S2)
    assert frechet_distance(np.zeros(3), s1, np.zeros(3), s2) == pytest.approx(6 - 2e-8, rel=1e-14, abs=0)


def test_dead_units_in_features_give_the_fid_of_the_live_ones():
    rng = np.random.default_rng(5)
    live1 = rng.standard_normal((500, 12)) @ rng.standard_normal((12, 12))
    live2 = rng.standard_normal((400, 12)) @ rng.standard_normal((12, 12)) + 0.3
    x1, x2 = np.zeros((500, 16)), np.zeros((400, 16))
    x1[:, :12], x2[:, :12] = live1, live2
    x1[:, 12], x2[:, 13] = 0.5, rng.standard_normal(400)  # 12: constant in x1 only, 13: in x2 only
    x1[:, 14] = x2[:, 14] = 0.0                            # 14, 15: dead in both
    mu1, s1 = feature_statistics(x1.astype(np.float32))
    mu2, s2 = feature_statistics(x2.astype(np.float32))
    assert s1[12, 12] == 0 and s2[14, 14] == 0 and s1[15, 15] == 0  # exactly: dead is dead
    live = list(range(12))
    diff = mu1 - mu2
    expected = (diff @ diff + np.trace(s1) + np.trace(s2)
                - 2 * np.trace(scipy.linalg.sqrtm(s1[np.ix_(live, live)] @ s2[np.ix_(live, live)])).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10)


def test_statistics_whose_covariance_does_not_fit_the_mean_are_refused():
    with pytest.raises(ValueError, match="statistics do not match"):
        frechet_distance(np.zeros(3), np.eye(4), np.zeros(3), np.eye(4))
    with pytest.raises(ValueError, match="statistics do not match"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(4))


def test_the_eigh_route_drops_numerically_null_directions_and_clamps_negative_eigenvalues() -> None:
    """Directions of S1 at or below len(w) * eps of its largest eigenvalue are dropped (they are
    rounding); a tiny-scale S1 keeps all of its directions; a slightly negative eigenvalue of the
    inner product (rounding again) counts as 0."""
    from gans.metrics.frechet import _trace_sqrt_product_eigh

    assert _trace_sqrt_product_eigh(np.diag([1.0, 3e-16]), np.eye(2)) == 1.0  # 3e-16 <= 2 * eps
    assert _trace_sqrt_product_eigh(np.diag([1.0, 1e-6]), np.eye(2)) == pytest.approx(1.0 + 1e-3, rel=1e-12)
    tiny = 1e-20 * np.eye(3)
    assert _trace_sqrt_product_eigh(tiny, tiny) == pytest.approx(3e-20, rel=1e-9, abs=0)  # no absolute slack
    assert _trace_sqrt_product_eigh(np.eye(2), np.diag([1.0, -1e-12])) == 1.0


def test_features_must_be_a_matrix_of_at_least_two_rows() -> None:
    for bad in (np.zeros(5), np.zeros((1, 3)), np.zeros((2, 3, 4))):
        with pytest.raises(ValueError, match="N x D feature matrix"):
            feature_statistics(bad)
    mu, sigma = feature_statistics(np.array([[0.0, 1.0], [2.0, 3.0]]))
    assert mu.tolist() == [1.0, 2.0] and sigma.tolist() == [[2.0, 2.0], [2.0, 2.0]]


def test_the_shared_support_drops_a_dimension_dead_in_either_covariance() -> None:
    from gans.metrics.frechet import _shared_support

    live, dead_first = np.diag([2.0, 3.0, 4.0]), np.diag([0.0, 3.0, 4.0])
    for s1, s2 in ((dead_first, live), (live, dead_first)):
        r1, r2 = _shared_support(s1, s2)
        assert r1.tolist() == s1[1:, 1:].tolist() and r2.tolist() == s2[1:, 1:].tolist()
    r1, r2 = _shared_support(live, live)
    assert r1 is live and r2 is live  # nothing to drop: the matrices themselves


def test_an_eigenvalue_exactly_at_the_cut_off_is_dropped() -> None:
    """The cut-off is len(w) * eps * max(w); a direction exactly there counts as rounding too."""
    from gans.metrics.frechet import _trace_sqrt_product_eigh

    at_cut_off = 2 * np.finfo(np.float64).eps  # two eigenvalues, the largest 1
    assert _trace_sqrt_product_eigh(np.diag([1.0, at_cut_off]), np.eye(2)) == 1.0
    assert _trace_sqrt_product_eigh(np.diag([1.0, 2 * at_cut_off]), np.eye(2)) > 1.0


def test_statistics_of_tensors_that_require_grad_or_live_elsewhere_are_taken_as_data() -> None:
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(2), requires_grad=True)
    mu, sigma = feature_statistics(x)
    expected_mu, expected_sigma = feature_statistics(x.detach().numpy())
    assert np.array_equal(mu, expected_mu) and np.array_equal(sigma, expected_sigma)
    assert frechet_distance(mu, torch.tensor(sigma, requires_grad=True), mu, sigma) == pytest.approx(0.0, abs=1e-9)
