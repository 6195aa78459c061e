"""BigGAN: one shared class embedding read by every conditional BN, hierarchical z (blocks + 1
chunks), projection D, spectral norm everywhere but the shared embedding, orthogonal
regularisation of G, EMA of G for evaluation, truncation at sampling time only, StudioGAN's
CIFAR optimisation (5 D steps, lr 2e-4 for both)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from gans.models import build_model
from gans.nn.conditional_norm import ConditionalBatchNorm2d
from gans.nn.orthogonal import orthogonal_regularization_gradient
from gans.nn.spectral import has_spectral_norm
from gans.report.roadmap import config_deviations
from gans.spec import Batch, DataSpec, EvalInput, Progress

WEIGHT_LAYERS = (nn.Conv2d, nn.Linear, nn.Embedding)  # every layer with a weight matrix


def weight_layers(network: nn.Module) -> list[nn.Module]:
    return [m for m in network.modules() if isinstance(m, WEIGHT_LAYERS)]


SPEC = DataSpec("fashion-mnist", channels=1, resolution=32, num_classes=10)
SMALL = {"z_dim": 12, "shared_dim": 8, "G_ch": 2, "D_ch": 2}


def make(**overrides):
    torch.manual_seed(0)
    return build_model("biggan", SPEC, {**SMALL, **overrides})


def batch_for(model, seed: int = 1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    n = 8 * model.batches_per_step(Progress())
    return Batch(torch.rand(n, 1, 32, 32, generator=g) * 2 - 1, torch.randint(10, (n,), generator=g))


def conditions_seen(G: nn.Module, z: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """The embedding G.shared produced and the condition every cBN layer and the first linear read."""
    seen: dict[str, torch.Tensor] = {}
    hooks = [G.shared.register_forward_hook(lambda m, i, o: seen.__setitem__("shared", o)),
             G.linear.register_forward_hook(lambda m, i, o: seen.__setitem__("linear", i[0]))]
    for name, module in G.named_modules():
        if isinstance(module, ConditionalBatchNorm2d):
            hooks.append(module.register_forward_hook(
                lambda m, i, o, _n=name: seen.__setitem__(_n, i[1])))
    G(z, labels)
    for hook in hooks:
        hook.remove()
    return seen


def test_every_cbn_reads_the_one_shared_embedding_joined_with_its_own_z_chunk() -> None:
    model = make()
    G = model.G.eval()
    z, labels = torch.randn(5, 12), torch.tensor([0, 1, 2, 3, 9])
    chunks = G.split_latent(z)
    assert len(chunks) == len(G.blocks) + 1 == 4  # hierarchical z: blocks + 1 chunks
    seen = conditions_seen(G, z, labels)
    assert [m for m in G.modules() if isinstance(m, nn.Embedding)] == [G.shared]  # the only one
    assert torch.equal(seen.pop("linear"), chunks[0])  # chunk 0 feeds the first linear layer
    shared = seen.pop("shared")
    assert len(seen) == 2 * len(G.blocks)  # both cBN layers of every block
    for name, condition in seen.items():
        block = int(name.split(".")[1])
        assert torch.equal(condition[:, :8], shared), name           # the same embedding ...
        assert torch.equal(condition[:, 8:], chunks[block + 1]), name  # ... with the block's chunk


def test_z_that_does_not_split_evenly_is_refused() -> None:
    with pytest.raises(ValueError, match="does not split into 4 equal chunks"):
        make(z_dim=10)


def test_spectral_norm_on_every_layer_but_the_shared_embedding() -> None:
    model = make()
    for net in ("G", "D"):
        layers = [m for m in weight_layers(model.nets[net]) if m is not model.G.shared]
        assert layers and all(has_spectral_norm(m) for m in layers), net
    assert not has_spectral_norm(model.G.shared)


def test_projection_discriminator() -> None:
    model = make()
    D = model.D.eval()
    x, y = torch.rand(6, 1, 32, 32), torch.tensor([0, 1, 1, 5, 7, 9])
    h = D.head.pool(D.features(x))
    assert torch.allclose(D(x, y) - D.head.linear(h).view(-1), (D.head.embed(y) * h).sum(1), atol=1e-5)


def test_one_ema_update_is_the_exponential_average() -> None:
    model = make(ema_start=3)
    decay = model.config["ema_decay"]
    assert decay == 0.9999
    model.train_step(batch_for(model), Progress())
    before = copy.deepcopy(model.G_ema.state_dict())
    live = copy.deepcopy(model.G.state_dict())
    model.update_ema(Progress(step=4))  # past ema_start: averaging
    after = model.G_ema.state_dict()
    for name, param in model.G.named_parameters():
        expected = decay * before[name] + (1 - decay) * live[name]
        assert torch.allclose(after[name], expected, atol=1e-7), name
    model.update_ema(Progress(step=2))  # before ema_start: a copy
    assert all(torch.equal(model.G_ema.state_dict()[k], v) for k, v in model.G.state_dict().items())


def test_evaluation_uses_the_ema_generator() -> None:
    model = make()
    assert model.evaluation_network("G") is model.G_ema
    assert "EMA" in model.checkpoint_rule
    inputs = EvalInput(z=torch.randn(3, 12), labels=torch.tensor([0, 1, 2]))
    before = model.sample(inputs)["x"]
    with torch.no_grad():
        model.G_ema.output[2].bias.add_(0.5)  # the EMA copy only
    assert not torch.equal(model.sample(inputs)["x"], before)


def test_orthogonal_regularisation_adds_its_gradient_to_G_but_not_the_shared_embedding() -> None:
    model = make()
    G = model.G
    G(torch.randn(4, 12), torch.arange(4)).square().mean().backward()
    grads = {name: p.grad.clone() for name, p in G.named_parameters()}
    model.regularize_generator()
    beta = model.config["ortho_reg"]
    assert beta == 1e-4
    for name, p in G.named_parameters():
        if name.startswith("shared.") or p.dim() < 2:
            assert torch.equal(p.grad, grads[name]), name
        else:
            expected = grads[name] + beta * orthogonal_regularization_gradient(p)
            assert torch.allclose(p.grad, expected, atol=1e-9), name


def test_orthogonal_init_by_default_and_the_cifar_scripts_normal_init_on_request() -> None:
    first = make().G.linear.parametrizations.weight.original.detach()  # 128 x 3: orthonormal columns
    assert torch.allclose(first.t() @ first, torch.eye(first.shape[1]), atol=1e-5)
    normal = make(init="N02").G.linear.parametrizations.weight.original.detach()
    assert normal.std().item() == pytest.approx(0.02, rel=0.1)
    assert config_deviations("biggan", {"init": "N02"}) == [
        "N02 initialisation instead of the paper's orthogonal one"]
    with pytest.raises(ValueError, match="init must be one of"):
        make(init="kaiming")


def test_orthogonal_regularisation_off_is_flagged() -> None:
    assert config_deviations("biggan", {}) == []
    flagged = config_deviations("biggan", {"ortho_reg": 0.0})
    assert len(flagged) == 1 and "orthogonal regularisation off" in flagged[0]
    assert config_deviations("biggan", {"ema_decay": 0.0}) == [
        "EMA of G off (ema_decay 0: evaluation uses the last G)"]
    assert config_deviations("biggan", {"g_lr": 8e-4, "d_lr": 8e-4}) == [
        "learning rates G 0.0008, D 0.0008 instead of the recipe's 0.0002 / 0.0002"]


def test_studiogan_cifar_optimisation_five_D_steps_per_G_step(monkeypatch: pytest.MonkeyPatch) -> None:
    model = make()
    assert model.batches_per_step(Progress()) == 5
    groups = {n: model.opts[n].param_groups[0] for n in ("G", "D")}
    assert (groups["G"]["lr"], groups["D"]["lr"]) == (2e-4, 2e-4)
    assert groups["G"]["betas"] == groups["D"]["betas"] == (0.5, 0.999)
    import gans.models.biggan as biggan

    calls: list[str] = []
    for name, opt in model.optimizers().items():
        step = opt.step
        monkeypatch.setattr(opt, "step", lambda *a, _s=step, _n=name, **k: calls.append(_n) or _s(*a, **k))
    regularize = biggan.add_orthogonal_regularization_
    monkeypatch.setattr(biggan, "add_orthogonal_regularization_",
                        lambda net, beta, exclude: calls.append(f"ortho {beta}") or regularize(net, beta, exclude))
    model.train_step(batch_for(model), Progress())
    assert calls == ["D"] * 5 + ["ortho 0.0001", "G"]  # the orthogonal term just before G's update


def samples_for(model, labels: torch.Tensor, truncation) -> torch.Tensor:
    g = torch.Generator().manual_seed(5)
    z = model.sample_latent(len(labels), g, truncation)
    return model.sample(EvalInput(z=z, labels=labels), truncation)["x"]


def test_a_huge_threshold_changes_nothing() -> None:
    model = make()
    labels = torch.arange(10)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(model.sample_latent(10, g1, 1e9), model.sample_latent(10, g2))
    assert torch.equal(samples_for(model, labels, 1e9), samples_for(model, labels, None))


def test_a_tiny_threshold_makes_the_samples_of_a_class_near_identical() -> None:
    model = make()
    for step in range(2):
        model.train_step(batch_for(model, step), Progress(step=step))
        model.update_ema(Progress(step=step + 1))
    labels = torch.tensor([0, 0, 0, 0, 7, 7, 7, 7])
    tiny, free = samples_for(model, labels, 0.01), samples_for(model, labels, None)
    spread = lambda x: (x[:4] - x[:4].mean(0)).abs().max().item()  # noqa: E731
    assert spread(tiny) < 0.02 and spread(tiny[4:]) < 0.02
    assert spread(free) > 10 * spread(tiny)           # untruncated samples do differ
    assert (tiny[:4].mean(0) - tiny[4:].mean(0)).abs().max() > 0.05  # and the classes differ
