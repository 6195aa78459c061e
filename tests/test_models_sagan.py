"""SAGAN: self-attention (identity at init, a trained gamma) after G's 16x16 block and D's first
block, spectral norm on every layer of G and D, conditional BN in G, a projection D, the hinge
loss, 1:1 steps and the two time-scale learning rates (D's 4x G's)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gans.models import build_model
from gans.nn.attention import SelfAttention
from gans.nn.conditional_norm import ConditionalBatchNorm2d
from gans.nn.spectral import has_spectral_norm, largest_singular_value
from gans.spec import Batch, DataSpec, Progress

WEIGHT_LAYERS = (nn.Conv2d, nn.Linear, nn.Embedding)  # every layer with a weight matrix


def weight_layers(network: nn.Module) -> list[nn.Module]:
    return [m for m in network.modules() if isinstance(m, WEIGHT_LAYERS)]


SPEC = DataSpec("fashion-mnist", channels=1, resolution=32, num_classes=10)
SMALL = {"z_dim": 16, "gf_dim": 2, "df_dim": 4}


def make(**overrides):
    torch.manual_seed(0)
    return build_model("sagan", SPEC, {**SMALL, **overrides})


def batch_for(model, seed: int = 1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    n = 8 * model.batches_per_step(Progress())
    return Batch(torch.rand(n, 1, 32, 32, generator=g) * 2 - 1, torch.randint(10, (n,), generator=g))


def attention_inputs_and_outputs(network: nn.Module, *args) -> list[tuple[torch.Tensor, torch.Tensor]]:
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append((i[0], o)))
             for m in network.modules() if isinstance(m, SelfAttention)]
    network(*args)
    for hook in hooks:
        hook.remove()
    return seen


def test_attention_returns_its_input_exactly_at_init_after_the_16x16_blocks() -> None:
    model = make()
    z, y = torch.randn(4, 16), torch.arange(4)
    x = torch.rand(4, 1, 32, 32)
    for network, args in ((model.G, (z, y)), (model.D, (x, y))):
        network.train()
        (inp, out), = attention_inputs_and_outputs(network, *args)  # exactly one block each
        assert inp.shape[-2:] == (16, 16)  # G: after its 16x16 block; D: after its first block
        assert torch.equal(out, inp)


def test_gamma_is_a_parameter_that_one_training_step_moves() -> None:
    model = make()
    gammas = {net: [m.gamma for m in model.nets[net].modules() if isinstance(m, SelfAttention)]
              for net in ("G", "D")}
    for net, (gamma,) in gammas.items():
        optimized = [p for group in model.opts[net].param_groups for p in group["params"]]
        assert isinstance(gamma, nn.Parameter) and any(p is gamma for p in optimized)
        assert gamma.item() == 0.0
    model.train_step(batch_for(model), Progress())
    assert all(gamma.item() != 0.0 for (gamma,) in gammas.values())


def test_every_conv_linear_and_embedding_of_G_and_D_is_spectrally_normalised() -> None:
    model = make()
    for net in ("G", "D"):
        layers = weight_layers(model.nets[net])
        assert layers and all(has_spectral_norm(layer) for layer in layers), net
    assert any(isinstance(m, nn.Embedding) for m in model.D.modules())  # the projection embedding
    for step in range(2):  # the weights move ...
        model.train_step(batch_for(model, step), Progress(step=step))
    with torch.no_grad():  # ... then a few power iterations (training forward passes) catch up
        z, y, x = torch.randn(8, 16), torch.arange(8), torch.rand(8, 1, 32, 32)
        for _ in range(10):
            model.D(model.G(z, y), y)
    model.G.eval()
    model.D.eval()
    sigmas = [largest_singular_value(layer) for net in ("G", "D") for layer in weight_layers(model.nets[net])]
    assert all(s == pytest.approx(1.0, abs=0.05) for s in sigmas), sigmas


def test_two_time_scale_adam_with_beta1_zero() -> None:
    model = make()
    lr_G, lr_D = (model.opts[n].param_groups[0]["lr"] for n in ("G", "D"))
    assert lr_D == pytest.approx(4 * lr_G) and (lr_G, lr_D) == (1e-4, 4e-4)
    assert all(isinstance(opt, torch.optim.Adam) and opt.param_groups[0]["betas"] == (0.0, 0.999)
               for opt in model.optimizers().values())
    from gans.report.roadmap import config_deviations

    assert config_deviations("sagan", {}) == []  # other learning rates are flagged in the report
    assert config_deviations("sagan", {"g_lr": 4e-4, "d_lr": 1.6e-3}) == [
        "learning rates G 0.0004, D 0.0016 instead of the recipe's 0.0001 / 0.0004"]


def test_one_hinge_D_step_per_G_step(monkeypatch: pytest.MonkeyPatch) -> None:
    import gans.models.sagan as sagan

    model = make()
    counts = {"D": 0, "G": 0, "hinge_D": 0, "hinge_G": 0}
    for name, opt in model.optimizers().items():
        step = opt.step
        monkeypatch.setattr(opt, "step", lambda *a, _s=step, _n=name, **k: counts.__setitem__(_n, counts[_n] + 1) or _s(*a, **k))
    for key, fn in (("hinge_D", sagan.hinge_discriminator_loss), ("hinge_G", sagan.hinge_generator_loss)):
        monkeypatch.setattr(sagan, fn.__name__, lambda *a, _f=fn, _k=key: counts.__setitem__(_k, counts[_k] + 1) or _f(*a))
    assert model.batches_per_step(Progress()) == 1
    losses = model.train_step(batch_for(model), Progress())
    assert counts == {"D": 1, "G": 1, "hinge_D": 1, "hinge_G": 1}
    assert losses["loss_D"] >= 0  # a hinge loss


def test_G_is_conditioned_by_cbn_in_every_block_and_D_by_projection() -> None:
    model = make()
    norms = [m for m in model.G.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert len(norms) == 2 * len(model.G.blocks) == 6
    model.G.eval()
    z = torch.randn(1, 16).repeat(10, 1)
    images = model.G(z, torch.arange(10))
    assert all(not torch.equal(images[0], images[k]) for k in range(1, 10))

    model.D.eval()
    x, y = torch.rand(5, 1, 32, 32), torch.tensor([0, 3, 3, 9, 1])
    h = model.D.head.pool(model.D.features(x))
    linear = model.D.head.linear(h).view(-1)
    assert torch.allclose(model.D(x, y) - linear, (model.D.head.embed(y) * h).sum(1), atol=1e-5)


def test_no_truncated_sampling() -> None:
    with pytest.raises(ValueError, match="no truncated sampling"):
        make().sample_latent(4, torch.Generator().manual_seed(0), truncation=0.5)
