"""CGAN: the label reaches both networks and changes what they compute (both backbones)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gans.models import build_model
from gans.nn.latents import uniform_latent
from gans.spec import Batch, DataSpec, EvalInput, Progress

SPEC = DataSpec("synthetic", channels=1, resolution=16, num_classes=10, task="conditional")
SMALL = {
    "conv": {"backbone": "conv", "z_dim": 8, "ngf": 4, "ndf": 4, "gfc": 16, "dfc": 16},
    "mlp": {"backbone": "mlp", "z_dim": 8, "g_z_hidden": 8, "g_y_hidden": 16, "g_hidden": 32,
            "d_x_units": 16, "d_y_units": 8, "d_joint_units": 16},
}
BACKBONES = sorted(SMALL)


def make(backbone: str, **overrides):
    torch.manual_seed(0)
    return build_model("cgan", SPEC, {**SMALL[backbone], **overrides})


def labelled_batch(n: int = 10) -> Batch:
    g = torch.Generator().manual_seed(2)
    return Batch(torch.rand(n, 1, 16, 16, generator=g) * 2 - 1, torch.arange(n) % 10)


def test_build_model_makes_it_conditional_even_from_an_unconditional_spec() -> None:
    plain = DataSpec("synthetic", channels=1, resolution=16, num_classes=10)
    assert build_model("cgan", plain, SMALL["conv"]).spec.task == "conditional"


@pytest.mark.parametrize("backbone", BACKBONES)
def test_generator_output_depends_on_the_label(backbone: str) -> None:
    model = make(backbone)
    z = uniform_latent(1, 8, torch.Generator().manual_seed(0)).repeat(2, 1)
    images = model.generate(EvalInput(z=z, labels=torch.tensor([3, 7])))["x"]
    assert (images[0] - images[1]).abs().max() > 1e-4
    again = model.generate(EvalInput(z=z, labels=torch.tensor([3, 3])))["x"]
    assert torch.allclose(again[0], again[1], atol=1e-6)  # same z and label: same image


@pytest.mark.parametrize("backbone", BACKBONES)
def test_discriminator_output_depends_on_the_label(backbone: str) -> None:
    model = make(backbone)
    model.D.eval()
    x = torch.rand(1, 1, 16, 16).repeat(2, 1, 1, 1)
    with torch.no_grad():
        logits = model.D(x, torch.tensor([1, 8]))
    assert logits[0] != logits[1]


@pytest.mark.parametrize("backbone", BACKBONES)
def test_the_label_is_an_input_of_every_layer_it_should_be(backbone: str) -> None:
    """Gradients reach the weights that read y in G and in D when a step trains on labels."""
    model = make(backbone)
    y_weights = {
        "conv": lambda m: [m.G.fc1[0].weight[:, -10:], m.G.fc2[0].weight[:, -10:],
                           m.G.up1[0].weight[-10:], m.G.up2.weight[-10:],
                           m.D.down1[0].weight[:, -10:], m.D.down2[0].weight[:, -10:],
                           m.D.fc[0].weight[:, -10:], m.D.out.weight[:, -10:]],
        "mlp": lambda m: [m.G.y_branch[0].weight, m.D.y_branch[0].linear.weight],
    }[backbone]
    before = [w.detach().clone() for w in y_weights(model)]
    model.train_step(labelled_batch(), Progress())
    after = y_weights(model)
    assert all(not torch.equal(b, a) for b, a in zip(before, after))


@pytest.mark.parametrize("backbone", BACKBONES)
def test_fakes_are_generated_for_the_batch_labels(backbone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    model = make(backbone)
    seen: list[torch.Tensor] = []
    forward = model.G.forward
    monkeypatch.setattr(model.G, "forward", lambda z, labels: seen.append(labels) or forward(z, labels))
    batch = labelled_batch()
    model.train_step(batch, Progress())
    assert seen and all(torch.equal(labels, batch.y) for labels in seen)


def test_labels_are_required() -> None:
    model = make("conv")
    with pytest.raises(ValueError, match="labels"):
        model.generate(EvalInput(z=uniform_latent(2, 8)))
    with pytest.raises(ValueError, match="labelled"):
        model.train_step(Batch(torch.zeros(4, 1, 16, 16)), Progress())


@pytest.mark.parametrize("backbone", BACKBONES)
def test_sampling_takes_labels(backbone: str) -> None:
    model = make(backbone)
    z = model.sample_latent(4, torch.Generator().manual_seed(4))
    a = model.sample(EvalInput(z=z, labels=torch.tensor([0, 1, 2, 3])))["x"]
    b = model.sample(EvalInput(z=z, labels=torch.tensor([5, 6, 7, 8])))["x"]
    assert a.shape == (4, 1, 16, 16) and not torch.allclose(a, b)
    assert a.min() >= -1 and a.max() <= 1


def test_conv_backbone_concatenates_y_at_every_layer() -> None:
    m = make("conv")  # z 8, ngf = ndf = 4, gfc = dfc = 16, 16 px: 4 -> 8 -> 16
    k = 10
    assert m.G.fc1[0].in_features == 8 + k and m.G.fc2[0].in_features == 16 + k
    assert m.G.up1[0].in_channels == 2 * 4 + k and m.G.up2.in_channels == 4 + k
    assert m.D.down1[0].in_channels == 1 + k and m.D.down2[0].in_channels == 4 + k
    assert m.D.fc[0].in_features == 2 * 4 * 4 * 4 + k and m.D.out.in_features == 16 + k


def test_conv_backbone_is_the_default_with_the_dcgan_code_optimizer() -> None:
    model = build_model("cgan", SPEC)
    assert model.config["backbone"] == "conv"
    assert isinstance(model.opt_G, torch.optim.Adam)
    group = model.opt_D.param_groups[0]
    assert group["lr"] == pytest.approx(2e-4) and group["betas"][0] == pytest.approx(0.5)
    assert any(isinstance(m, nn.ConvTranspose2d) for m in model.G.modules())


def test_mlp_backbone_is_the_papers_model_with_sgd() -> None:
    model = build_model("cgan", SPEC, {"backbone": "mlp"})
    G, D = model.G, model.D
    assert (G.z_branch[0].out_features, G.y_branch[0].out_features, G.joint[0].out_features) == (200, 1000, 1200)
    assert G.y_branch[0].in_features == 10 and D.y_branch[0].linear.in_features == 10  # one-hot y
    assert (D.x_branch[0].units, D.x_branch[0].pieces) == (240, 5)
    assert (D.y_branch[0].units, D.y_branch[0].pieces) == (50, 5)
    assert (D.joint[0].units, D.joint[0].pieces) == (240, 4)
    assert not any(isinstance(m, nn.Conv2d) for m in list(G.modules()) + list(D.modules()))
    assert isinstance(model.opt_G, torch.optim.SGD) and model.config["lr"] == 0.1
    assert model.learning_rate(1000) == pytest.approx(0.1 / 1.00004 ** 1000)


def test_unknown_backbone_is_refused() -> None:
    with pytest.raises(ValueError, match="backbone"):
        build_model("cgan", SPEC, {"backbone": "resnet"})
