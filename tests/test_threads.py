"""pin_threads: a metric must not change with the machine's BLAS thread count."""

from __future__ import annotations

import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits
from torch_fidelity.metric_kid import kid_features_to_metric

from gans.threads import pin_threads


def _kid(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    out = kid_features_to_metric(a, b, kid_subsets=2, kid_subset_size=1000, rng_seed=2020, verbose=False)
    return out["kernel_inception_distance_mean"], out["kernel_inception_distance_std"]


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_pinned_kid_equals_the_one_thread_kid_whatever_the_blas_pool():
    # Found by search: with this OpenBLAS, these features give a different KID mean on 1 and on
    # 2 threads (1830.349609375 vs 1830.3515625); most draws give equal ones.
    g = torch.Generator().manual_seed(2)
    a, b = torch.rand(1000, 128, generator=g) * 10, torch.rand(1000, 128, generator=g) * 11
    with threadpool_limits(limits=1, user_api="blas"):
        one_thread = _kid(a, b)
    with threadpool_limits(limits=2, user_api="blas"):  # a 2-core machine's default
        with pin_threads(1):
            pinned = _kid(a, b)
    assert pinned == one_thread


def test_pin_threads_sets_torch_and_caps_blas_until_exit():
    before_torch = torch.get_num_threads()
    try:
        with threadpool_limits(limits=2, user_api="blas"):
            outside = _blas_threads()
            with pin_threads(1):
                assert torch.get_num_threads() == 1
                assert _blas_threads() == {1}
            assert _blas_threads() == outside
    finally:
        torch.set_num_threads(before_torch)


def test_pin_threads_rejects_a_count_below_one():
    with pytest.raises(ValueError, match="threads must be >= 1"):
        pin_threads(0)
