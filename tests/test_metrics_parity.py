"""Our metrics against independent implementations, and the protocol constants they run with.

The references are other people's code, installed as test dependencies: pytorch-fid's Fréchet
distance, prdc's precision/recall/density/coverage (Naeem et al.'s own package) and torchmetrics'
polynomial-kernel MMD. They run on fixed feature sets shaped like ours (a few hundred samples, a
correlated, skewed feature space, some dimensions dead in one set), so agreement here is agreement
on the cases a benchmark meets. The protocol tests pin what `image_metrics` passes on: a changed k
or subset count must fail here, not just change the reports.
"""

from __future__ import annotations

import numpy as np
import prdc
import pytest
import torch
from pytorch_fid import fid_score as pytorch_fid
from torchmetrics.image import kid as torchmetrics_kid

from gans.metrics import scores
from gans.metrics.density_coverage import density_coverage
from gans.metrics.frechet import feature_statistics, frechet_distance
from gans.metrics.scores import MetricSettings, image_metrics


def feature_sets(n_real: int = 400, n_fake: int = 300, dim: int = 24, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Correlated, ReLU-like features: fakes shifted and squeezed, three dimensions dead in the fakes."""
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(dim, dim, generator=g) / dim ** 0.5
    real = torch.relu(torch.randn(n_real, dim, generator=g) @ mixing + 0.3)
    fake = torch.relu(0.7 * torch.randn(n_fake, dim, generator=g) @ mixing + 0.5)
    fake[:, :3] = 0.0
    return real.double(), fake.double()


def test_frechet_distance_agrees_with_pytorch_fid():
    real, fake = feature_sets()
    mu_r, sigma_r = feature_statistics(real)
    mu_f, sigma_f = feature_statistics(fake)
    ours = frechet_distance(mu_f, sigma_f, mu_r, sigma_r)
    theirs = pytorch_fid.calculate_frechet_distance(mu_f, sigma_f, mu_r, sigma_r)
    assert ours == pytest.approx(theirs, rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_precision_recall_agree_with_prdc_at_k3(seed):
    real, fake = feature_sets(seed=seed)
    ours = image_metrics(fake.float(), torch.zeros(len(fake), 10), real.float(), *feature_statistics(real))
    theirs = prdc.compute_prdc(real_features=real.numpy(), fake_features=fake.numpy(), nearest_k=3)
    # torch-fidelity returns float32 shares: equal to the exact fractions to float32 precision
    assert ours["precision"] == pytest.approx(theirs["precision"], abs=1e-6)
    assert ours["recall"] == pytest.approx(theirs["recall"], abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_density_coverage_agree_with_prdc_at_k5(seed):
    real, fake = feature_sets(seed=seed)
    ours = density_coverage(real.float(), fake.float(), k=5)
    theirs = prdc.compute_prdc(real_features=real.float().numpy(), fake_features=fake.float().numpy(),
                               nearest_k=5)
    assert ours["density"] == pytest.approx(theirs["density"], rel=1e-6)
    assert ours["coverage"] == pytest.approx(theirs["coverage"], abs=1e-9)


def test_kid_on_whole_sets_agrees_with_torchmetrics_unbiased_mmd():
    """One subset as large as both sets is the whole-set unbiased MMD^2 with the cubic kernel."""
    from torch_fidelity.metric_kid import kid_features_to_metric

    real, fake = feature_sets(n_real=300, n_fake=300)
    ours = kid_features_to_metric(fake, real, kid_subsets=1, kid_subset_size=300, rng_seed=0,
                                  verbose=False)["kernel_inception_distance_mean"]
    theirs = torchmetrics_kid.poly_mmd(real, fake, degree=3, gamma=None, coef=1.0)
    assert ours == pytest.approx(float(theirs), rel=1e-6)


def test_the_protocol_constants():
    """The numbers every report states under its tables."""
    settings = MetricSettings()
    assert (settings.is_splits, settings.prc_k, settings.dc_k) == (10, 3, 5)
    assert (settings.kid_subsets, settings.kid_subset_size, settings.rng_seed) == (100, 1000, 2020)


def test_image_metrics_passes_the_protocol_on(monkeypatch):
    """What reaches torch-fidelity and density/coverage is the protocol, not a default elsewhere."""
    import torch_fidelity.metric_kid as kid_module
    import torch_fidelity.metric_prc as prc_module

    seen: dict[str, dict] = {}

    def spy(name, original):
        def wrapped(*args, **kwargs):
            seen[name] = kwargs
            return original(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(kid_module, "kid_features_to_metric", spy("kid", kid_module.kid_features_to_metric))
    monkeypatch.setattr(prc_module, "prc_features_to_metric", spy("prc", prc_module.prc_features_to_metric))
    monkeypatch.setattr(scores, "density_coverage", spy("dc", scores.density_coverage))
    real, fake = feature_sets(n_real=1200, n_fake=1100)
    image_metrics(fake.float(), torch.randn(len(fake), 10), real.float(), *feature_statistics(real))
    assert seen["kid"]["kid_subsets"] == 100 and seen["kid"]["kid_subset_size"] == 1000
    assert seen["kid"]["rng_seed"] == 2020
    assert seen["prc"]["prc_neighborhood"] == 3
    assert seen["dc"]["k"] == 5


def test_kid_std_comes_from_many_subsets():
    """With 100 subsets the spread is measured; one subset would report a std of 0."""
    real, fake = feature_sets(n_real=1200, n_fake=1100)
    out = image_metrics(fake.float(), torch.randn(len(fake), 10), real.float(), *feature_statistics(real))
    assert out["kid_std"] > 0
    assert np.isfinite(out["kid_mean"])
