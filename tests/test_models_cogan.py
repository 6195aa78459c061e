"""CoGAN: the weight sharing that couples the two GANs (the same Parameters, the right layers), one
z for both generators, unpaired domains, and the official optimizer."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gans.models import build_model
from gans.spec import Batch, DataSpec, EvalInput, Progress

SPEC = DataSpec("synthetic", channels=1, resolution=32, num_classes=10)
SMALL = {"ngf": 8, "d_conv1": 8, "d_conv2": 8, "d_fc": 16}


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model("cogan", SPEC, SMALL)


def batch(n: int = 6, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(torch.rand(n, 1, 32, 32, generator=g) * 2 - 1, None,
                 torch.rand(n, 1, 32, 32, generator=g) * 2 - 1)


def ids(module: nn.Module) -> set[int]:
    return {id(p) for p in module.parameters()}


def test_the_generators_share_every_layer_but_the_last_as_the_same_parameters(model) -> None:
    g_a, g_b = model.G.generator("a"), model.G.generator("b")
    shared = list(model.G.shared.parameters())
    assert shared and all(any(p is q for q in g_b.parameters()) for p in shared)
    assert all(any(p is q for q in g_a.parameters()) for p in shared)
    # the last layer is each domain's own: no Parameter in common, and it is a transposed conv
    assert not ids(model.G.last["a"]) & ids(model.G.last["b"])
    assert ids(g_a) & ids(g_b) == ids(model.G.shared)
    last_convs = [m for m in model.G.last["a"].modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(last_convs) == 1 and last_convs[0].out_channels == 1
    # and every layer before it is shared: the per-domain part is one conv (and the output squash)
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in model.G.shared.modules()) == 4


def test_the_discriminators_share_every_layer_but_the_first(model) -> None:
    d_a, d_b = model.D.discriminator("a"), model.D.discriminator("b")
    assert ids(d_a) & ids(d_b) == ids(model.D.shared) and ids(model.D.shared)
    assert not ids(model.D.first["a"]) & ids(model.D.first["b"])
    first = [m for m in model.D.first["a"].modules() if isinstance(m, nn.Conv2d)]
    assert len(first) == 1 and first[0].in_channels == 1  # the first layer reads the pixels
    logits = [m for m in model.D.shared.modules() if isinstance(m, nn.Conv2d)][-1]
    assert logits.out_channels == 2  # the last layer (real / fake) is shared


def test_each_parameter_is_optimised_once(model) -> None:
    for net, opt in ((model.G, model.opt_G), (model.D, model.opt_D)):
        in_opt = [id(p) for group in opt.param_groups for p in group["params"]]
        assert len(in_opt) == len(set(in_opt)) == len(ids(net))


def test_a_domain_a_loss_alone_trains_the_shared_weights(model) -> None:
    z = torch.randn(4, 100)
    a, _ = model.G(z)
    scores = model.D.discriminator("a")(a)
    F.cross_entropy(scores, torch.ones(4, dtype=torch.long)).backward()
    for shared in (model.G.shared, model.D.shared):
        weights = [p for p in shared.parameters() if p.dim() > 1]
        assert weights and all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)
    assert all(p.grad is None for p in model.G.last["b"].parameters())
    assert all(p.grad is None for p in model.D.first["b"].parameters())


def test_both_generators_get_the_same_z(model) -> None:
    model.G.eval()
    z = torch.randn(5, 100)
    a, b = model.G(z)
    assert torch.allclose(a, model.G.generator("a")(z)) and torch.allclose(b, model.G.generator("b")(z))
    pair = model.generate(EvalInput(z=z))
    assert torch.equal(pair["a"], a) and torch.equal(pair["b"], b)
    # in training, the two last layers read one and the same trunk output
    seen: dict[str, list[torch.Tensor]] = {"a": [], "b": []}
    for domain in ("a", "b"):
        model.G.last[domain].register_forward_hook(
            lambda m, inputs, out, d=domain: seen[d].append(inputs[0]))
    model.train_step(batch(), Progress())
    assert len(seen["a"]) == len(seen["b"]) == 2  # the D step's fakes, then the G step's
    assert all(h_a is h_b for h_a, h_b in zip(seen["a"], seen["b"]))


def test_real_images_of_each_domain_go_to_their_own_first_layer(model) -> None:
    data = batch()
    seen: dict[str, list[torch.Tensor]] = {"a": [], "b": []}
    for domain in ("a", "b"):
        model.D.first[domain].register_forward_hook(
            lambda m, inputs, out, d=domain: seen[d].append(inputs[0]))
    model.train_step(data, Progress())
    assert torch.equal(seen["a"][0], data.x) and torch.equal(seen["b"][0], data.x_b)


def test_standard_gan_loss_on_two_way_logits(model) -> None:
    """D's loss is CE(real, 1) + CE(fake, 0) on both domains at once, as the code sums them."""
    data = batch()
    for opt in (model.opt_G, model.opt_D):
        opt.param_groups[0]["lr"] = 0.0
        opt.param_groups[0]["weight_decay"] = 0.0
    torch.manual_seed(5)
    losses = model.train_step(data, Progress())
    torch.manual_seed(5)
    with torch.no_grad():
        fake_a, fake_b = model.G(torch.randn(6, 100))
        real = F.cross_entropy(model.D(data.x, data.x_b), torch.ones(12, dtype=torch.long))
        fake = F.cross_entropy(model.D(fake_a, fake_b), torch.zeros(12, dtype=torch.long))
    assert losses["loss_D"] == pytest.approx((real + fake).item(), rel=1e-5)


def test_official_adam_with_weight_decay() -> None:
    model = build_model("cogan", SPEC)
    for opt in (model.opt_G, model.opt_D):
        group = opt.param_groups[0]
        assert isinstance(opt, torch.optim.Adam) and group["lr"] == pytest.approx(2e-4)
        assert group["betas"] == (0.5, 0.999) and group["weight_decay"] == pytest.approx(5e-4)
    assert model.config["z_dim"] == 100
    norms = [m for m in model.G.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and not any(m.affine for m in norms)  # BN without affine, as the code
    assert any(isinstance(m, nn.PReLU) for m in model.G.shared.modules())
