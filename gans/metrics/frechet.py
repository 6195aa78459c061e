"""The one Fréchet distance used everywhere (FID, intra-class FID), on float64 statistics.

FD(N(mu1, S1), N(mu2, S2)) = |mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr sqrt(S1 S2).

Both covariances are first reduced to the dimensions where both have non-zero variance (exact:
a zero-variance dimension drops out of S1 S2; dead feature units would otherwise make the
matrices singular). The trace term uses the symmetric route (see trace_sqrt_product for the
Cholesky fast path): with S1 = V diag(w) V^T from `eigh` and
C = V diag(sqrt(w)) (so A = sqrt(S1) = C V^T), the matrices S1 S2 and C^T S2 C = V^T (A S2 A) V
have the same eigenvalues, and C^T S2 C is symmetric positive semi-definite, so
tr sqrt(S1 S2) = sum sqrt(clamp(eigvalsh(C^T S2 C), 0)). No complex numbers, no `sqrtm`, and
`eigvalsh(S1 S2)` would be wrong (S1 S2 is not symmetric).

Statistics are computed here in float64 from the features: torch-fidelity 0.4.0 silently ignores
`feature_extractor_internal_dtype="float64"`, so we never rely on it.
"""

from __future__ import annotations

from typing import Union

import numpy as np
import scipy.linalg
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]


def _float64(x: ArrayLike) -> np.ndarray:
    if torch.is_tensor(x):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def feature_statistics(features: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (N - 1) of N x D features, both float64.

    The features are cast to float64 before the mean is subtracted, so large offsets do not
    cost float32 precision. A float32 feature that is the same on every sample (a dead unit)
    gets a variance of exactly 0 (float64 sums of up to 2^29 copies of a float32 are exact), which
    `trace_sqrt_product` recognises.
    """
    x = _float64(features)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need an N x D feature matrix with N >= 2, got shape {x.shape}")
    mu = x.mean(axis=0)
    centred = x - mu
    sigma = centred.T @ centred / (len(x) - 1)
    return mu, sigma


def trace_sqrt_product(sigma1: ArrayLike, sigma2: ArrayLike) -> float:
    """tr sqrt(S1 S2) for symmetric PSD S1, S2.

    First both are reduced to the dimensions where both have non-zero variance
    (`_shared_support`, exact). Fast path, when S2 is positive definite: with S2 = L L^T (Cholesky), L^T S1 L is symmetric PSD
    and similar to S1 S2, so one eigvalsh gives the spectrum (one eigendecomposition instead of
    two). Otherwise (rank-deficient S2, e.g. fewer samples than dimensions) the sqrt(S1) route.
    """
    s1, s2 = _float64(sigma1), _float64(sigma2)
    s1, s2 = _shared_support(s1, s2)
    if s1.size == 0:
        return 0.0
    try:
        lower = scipy.linalg.cholesky(s2, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return _trace_sqrt_product_eigh(s1, s2)
    inner = lower.T @ s1 @ lower
    inner = (inner + inner.T) / 2
    eigenvalues = scipy.linalg.eigvalsh(inner, driver="evd", check_finite=False)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def _shared_support(s1: np.ndarray, s2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """S1 and S2 restricted to the dimensions where both have non-zero variance: exact for
    tr sqrt(S1 S2).

    A PSD matrix with S_ii = 0 has its whole row and column i at 0 (|S_ij| <= sqrt(S_ii S_jj)), so
    with D = the 0/1 diagonal of the kept dimensions, S1 = D S1 D when S1 is the one with the
    zero: then S1 S2 = D S1 D S2 has the spectrum of S1 D S2 D (cyclic), and the same for S2.
    Dimension i drops out of the product either way, and S1 S2 has the same non-zero eigenvalues
    as the reduced product. Dead feature units make a covariance singular; without this the
    Cholesky fast path fails and the route through sqrt(S1) drops S1's small eigenvalues,
    whose share of the trace is their square root (1e-8 for an eigenvalue of 1e-16).
    """
    keep = (np.diag(s1) > 0) & (np.diag(s2) > 0)
    if keep.all():
        return s1, s2
    return s1[np.ix_(keep, keep)], s2[np.ix_(keep, keep)]


def _trace_sqrt_product_eigh(s1: np.ndarray, s2: np.ndarray) -> float:
    """The route through A = sqrt(S1) from eigh(S1): eigvalsh(C^T S2 C), C = V diag(sqrt(w))."""
    w, v = scipy.linalg.eigh(s1, driver="evd", check_finite=False)
    # Directions where S1 is numerically zero (clamped to 0 anyway) are dropped: C^T S2 C shrinks
    # to rank(S1) x rank(S1), which makes e.g. 2048-d intra-class FIDs on 1,000 samples cheap.
    keep = w > max(w.max(), 0.0) * len(w) * np.finfo(np.float64).eps
    c = v[:, keep] * np.sqrt(w[keep])
    inner = c.T @ s2 @ c
    inner = (inner + inner.T) / 2  # exact symmetry for LAPACK; rounding made it nearly so
    eigenvalues = scipy.linalg.eigvalsh(inner, driver="evd", check_finite=False)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def frechet_distance(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike) -> float:
    """Fréchet distance between two Gaussians, in float64; tiny negative results clamp to 0."""
    m1, m2 = _float64(mu1), _float64(mu2)
    s1, s2 = _float64(sigma1), _float64(sigma2)
    if m1.shape != m2.shape or s1.shape != s2.shape or s1.shape != (m1.size, m1.size):
        raise ValueError(f"statistics do not match: mu {m1.shape} vs {m2.shape}, "
                         f"sigma {s1.shape} vs {s2.shape}")
    diff = m1 - m2
    distance = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt_product(s1, s2)
    return max(float(distance), 0.0)


def frechet_distance_of_features(features1: ArrayLike, features2: ArrayLike) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets."""
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))
