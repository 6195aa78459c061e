"""CGAN: the label reaches both networks and changes what they compute."""

from __future__ import annotations

import pytest
import torch

from gans.models import build_model
from gans.models.gan import uniform_latent
from gans.spec import Batch, DataSpec

SPEC = DataSpec("synthetic", channels=1, resolution=16, num_classes=10, task="conditional")
SMALL = {"z_dim": 8, "g_z_hidden": 8, "g_y_hidden": 16, "g_hidden": 32, "d_x_units": 16,
         "d_y_units": 8, "d_joint_units": 16}


def make(**overrides):
    torch.manual_seed(0)
    return build_model("cgan", SPEC, {**SMALL, **overrides})


def labelled_batch(n: int = 10) -> Batch:
    g = torch.Generator().manual_seed(2)
    return Batch(torch.rand(n, 1, 16, 16, generator=g) * 2 - 1, torch.arange(n) % 10)


def test_build_model_makes_it_conditional_even_from_an_unconditional_spec() -> None:
    plain = DataSpec("synthetic", channels=1, resolution=16, num_classes=10)
    assert build_model("cgan", plain, SMALL).spec.task == "conditional"


def test_generator_output_depends_on_the_label() -> None:
    model = make()
    z = uniform_latent(1, 8, torch.Generator().manual_seed(0)).repeat(2, 1)
    images = model.generate(z, torch.tensor([3, 7]))
    assert not torch.allclose(images[0], images[1])
    again = model.generate(z, torch.tensor([3, 3]))
    assert torch.equal(again[0], again[1])  # same z, same label: same image (eval mode, no dropout)


def test_discriminator_output_depends_on_the_label() -> None:
    model = make()
    model.D.eval()
    x = torch.rand(1, 1, 16, 16).repeat(2, 1, 1, 1)
    with torch.no_grad():
        logits = model.D(x, torch.tensor([1, 8]))
    assert logits[0] != logits[1]


def test_the_label_reaches_both_networks_in_training() -> None:
    model = make()
    before = {"G": model.G.y_branch[0].weight.clone(), "D": model.D.y_branch[0].linear.weight.clone()}
    model.train_step(labelled_batch())
    assert not torch.equal(before["G"], model.G.y_branch[0].weight)
    assert not torch.equal(before["D"], model.D.y_branch[0].linear.weight)


def test_fakes_are_generated_for_the_batch_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    model = make()
    seen: list[torch.Tensor] = []
    forward = model.G.forward
    monkeypatch.setattr(model.G, "forward", lambda z, labels: seen.append(labels) or forward(z, labels))
    batch = labelled_batch()
    model.train_step(batch)
    assert seen and all(torch.equal(labels, batch.y) for labels in seen)


def test_labels_are_required() -> None:
    model = make()
    with pytest.raises(ValueError, match="labels"):
        model.generate(uniform_latent(2, 8))
    with pytest.raises(ValueError, match="labelled"):
        model.train_step(Batch(torch.zeros(4, 1, 16, 16)))


def test_sampling_takes_labels() -> None:
    model = make()
    g = lambda: torch.Generator().manual_seed(4)
    a = model.sample(4, g(), torch.tensor([0, 1, 2, 3]))
    b = model.sample(4, g(), torch.tensor([5, 6, 7, 8]))
    assert a.shape == (4, 1, 16, 16) and not torch.allclose(a, b)


def test_paper_architecture_by_default() -> None:
    model = build_model("cgan", SPEC)
    G, D = model.G, model.D
    assert (G.z_branch[0].out_features, G.y_branch[0].out_features, G.joint[0].out_features) == (200, 1000, 1200)
    assert G.y_branch[0].in_features == 10 and D.y_branch[0].linear.in_features == 10  # one-hot y
    assert (D.x_branch[0].units, D.x_branch[0].pieces) == (240, 5)
    assert (D.y_branch[0].units, D.y_branch[0].pieces) == (50, 5)
    assert (D.joint[0].units, D.joint[0].pieces) == (240, 4)
    assert not any(isinstance(m, torch.nn.Conv2d) for m in list(G.modules()) + list(D.modules()))
