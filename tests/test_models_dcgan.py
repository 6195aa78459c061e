"""DCGAN: the architecture rules of Radford et al. that make it DCGAN and not just a conv GAN."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gans.models import build_model
from gans.spec import DataSpec

SPEC = DataSpec("synthetic", channels=1, resolution=32, num_classes=10)
CONVS = (nn.Conv2d, nn.ConvTranspose2d)
POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if not isinstance(m, nn.Sequential) and m is not net]


@pytest.fixture(scope="module")
def model():
    return build_model("dcgan", SPEC, {"ngf": 8, "ndf": 8})


def test_no_pooling_and_no_hidden_linear(model) -> None:
    for net in (model.G, model.D):
        assert not any(isinstance(m, POOLS + (nn.Linear,)) for m in net.modules())


def test_strided_convs_do_the_resampling(model) -> None:
    g_convs = [m for m in layers(model.G) if isinstance(m, nn.ConvTranspose2d)]
    d_convs = [m for m in layers(model.D) if isinstance(m, nn.Conv2d)]
    assert [c.stride for c in g_convs[1:]] == [(2, 2)] * 3  # 4 -> 8 -> 16 -> 32
    assert [c.stride for c in d_convs[:-1]] == [(2, 2)] * 3  # 32 -> 16 -> 8 -> 4
    assert g_convs[0].in_channels == 100 and g_convs[0].kernel_size == (4, 4)  # z -> 4x4 projection


def test_generator_ends_in_tanh_not_preceded_by_batchnorm(model) -> None:
    g = layers(model.G)
    assert isinstance(g[-1], nn.Tanh)
    assert isinstance(g[-2], nn.ConvTranspose2d)


def test_batchnorm_after_every_conv_but_g_output_and_d_input(model) -> None:
    g, d = layers(model.G), layers(model.D)
    g_conv_at = [i for i, m in enumerate(g) if isinstance(m, CONVS)]
    d_conv_at = [i for i, m in enumerate(d) if isinstance(m, CONVS)]
    assert all(isinstance(g[i + 1], nn.BatchNorm2d) for i in g_conv_at[:-1])
    assert all(isinstance(d[i + 1], nn.BatchNorm2d) for i in d_conv_at[1:-1])
    assert isinstance(d[d_conv_at[0] + 1], nn.LeakyReLU)  # first D conv: no BN
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d[d_conv_at[-1]:])  # the logit conv


def test_activations_relu_in_g_leaky_relu_02_in_d(model) -> None:
    assert any(isinstance(m, nn.ReLU) for m in model.G.modules())
    leaky = [m for m in model.D.modules() if isinstance(m, nn.LeakyReLU)]
    assert leaky and all(m.negative_slope == pytest.approx(0.2) for m in leaky)
    assert not any(isinstance(m, (nn.Sigmoid, nn.Tanh)) for m in model.D.modules())  # logits out


def test_adam_2e4_beta05_and_dcgan_init() -> None:
    torch.manual_seed(0)
    model = build_model("dcgan", SPEC)
    for opt in (model.opt_G, model.opt_D):
        group = opt.param_groups[0]
        assert isinstance(opt, torch.optim.Adam)
        assert group["lr"] == pytest.approx(2e-4) and group["betas"][0] == pytest.approx(0.5)
    weights = torch.cat([m.weight.flatten() for m in model.G.modules() if isinstance(m, CONVS)])
    assert weights.std().item() == pytest.approx(0.02, rel=0.05) and abs(weights.mean()) < 1e-3
    gains = torch.cat([m.weight for m in model.G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert gains.mean().item() == pytest.approx(1.0, abs=0.01)
    d_weights = torch.cat([m.weight.flatten() for m in model.D.modules() if isinstance(m, CONVS)])
    assert d_weights.std().item() == pytest.approx(0.02, rel=0.05) and abs(d_weights.mean()) < 1e-3
    d_gains = torch.cat([m.weight for m in model.D.modules() if isinstance(m, nn.BatchNorm2d)])
    assert d_gains.std().item() == pytest.approx(0.02, rel=0.3)  # N(1, 0.02), not PyTorch's ones


def test_generator_loss_is_non_saturating(monkeypatch) -> None:
    """loss_G = BCE(D(G(z)), 1) on the D after its update, not -BCE(D(G(z)), 0)."""
    from gans.spec import Batch, Progress

    torch.manual_seed(0)
    model = build_model("dcgan", SPEC, {"ngf": 8, "ndf": 8})
    scores: list[torch.Tensor] = []
    forward = model.D.forward
    monkeypatch.setattr(model.D, "forward", lambda x: scores.append(forward(x)) or scores[-1])
    losses = model.train_step(Batch(torch.rand(8, 1, 32, 32) * 2 - 1), Progress())
    g_step_logits = scores[-1].detach()
    non_saturating = nn.functional.binary_cross_entropy_with_logits(g_step_logits, torch.ones(8)).item()
    assert losses["loss_G"] == pytest.approx(non_saturating, rel=1e-6)
