"""GAN (Goodfellow 2014): MLPs only, the non-saturating G loss, the paper's SGD schedule."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gans.models import build_model
from gans.nn.latents import uniform_latent
from gans.nn.losses import non_saturating_generator_loss
from gans.spec import Batch, DataSpec, EvalInput, Progress

SPEC = DataSpec("synthetic", channels=1, resolution=16, num_classes=4)
SMALL = {"z_dim": 8, "g_hidden": 32, "d_units": 16, "d_pieces": 3}


def make(**overrides):
    return build_model("gan", SPEC, {**SMALL, **overrides})


def real_batch(n: int = 8) -> Batch:
    return Batch(torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1)


def zero_logit_(model) -> None:
    """Make D output logit 0 for every input: zero its last Linear."""
    last = model.D.main[-1]
    assert isinstance(last, nn.Linear)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)


def test_networks_are_mlps_without_convolutions() -> None:
    model = make()
    for net in model.networks().values():
        kinds = {type(m) for m in net.modules()}
        assert not kinds & {nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d}
        assert nn.Linear in kinds


def test_paper_defaults_and_uniform_prior() -> None:
    model = build_model("gan", SPEC)
    c = model.config
    assert (c["z_dim"], c["g_hidden"], c["d_units"], c["d_pieces"]) == (100, 1200, 240, 5)
    assert isinstance(model.opt_G, torch.optim.SGD) and isinstance(model.opt_D, torch.optim.SGD)
    z = model.sample_latent(4000, torch.Generator().manual_seed(0))
    assert z.min() >= -1 and z.max() <= 1 and abs(z.mean()) < 0.02  # U[-1, 1], not N(0, 1)
    assert (z.abs() > 0.99).float().mean() < 0.02  # not clipped Gaussians piled at the edges


def test_generator_squashes_with_a_sigmoid_mapped_to_minus_one_one() -> None:
    model = make()
    with torch.no_grad():
        model.G.out.bias.fill_(50.0)
        assert torch.allclose(model.generate(EvalInput(z=uniform_latent(3, 8)))["x"], torch.ones(3, 1, 16, 16))
        model.G.out.bias.fill_(0.0)
        model.G.out.weight.zero_()
        assert torch.allclose(model.generate(EvalInput(z=uniform_latent(3, 8)))["x"], torch.zeros(3, 1, 16, 16))


@pytest.mark.parametrize("simultaneous", [False, True])
def test_with_d_fixed_at_logit_zero_the_generator_loss_is_log_2(simultaneous: bool) -> None:
    # lr 0 keeps D at logit 0 through the D step of the alternating update
    model = make(lr=0.0, lr_min=0.0, simultaneous_updates=simultaneous)
    zero_logit_(model)
    losses = model.train_step(real_batch(), Progress())
    assert losses["loss_G"] == pytest.approx(math.log(2), abs=1e-6)
    assert losses["loss_D"] == pytest.approx(math.log(2), abs=1e-6)


def test_generator_loss_is_bce_with_ones_not_minus_bce_with_zeros() -> None:
    # no dropout and simultaneous updates: the G loss is taken on exactly the z we redraw here
    model = make(d_input_dropout=0.0, d_hidden_dropout=0.0, simultaneous_updates=True)
    batch = real_batch()
    torch.manual_seed(5)
    z = uniform_latent(len(batch), 8)
    with torch.no_grad():
        logits = model.D(model.G(z))
    non_saturating = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)).item()
    saturating = -F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits)).item()
    torch.manual_seed(5)
    losses = model.train_step(batch, Progress())
    assert losses["loss_G"] == pytest.approx(non_saturating, rel=1e-6)
    assert abs(losses["loss_G"] - saturating) > 0.1


def test_non_saturating_loss_keeps_gradient_when_d_rejects_fakes() -> None:
    logits = torch.full((4,), -10.0, requires_grad=True)  # D is sure the fakes are fake
    non_saturating_generator_loss(logits).backward()
    assert logits.grad.abs().min() > 0.2  # log(1 - D) would give ~ 4.5e-5 here


def test_alternating_d_step_then_g_step_sees_the_updated_d() -> None:
    """Alternating: the G step's loss uses D after its update; simultaneous: before it."""
    results = {}
    for simultaneous in (False, True):
        torch.manual_seed(0)
        model = make(simultaneous_updates=simultaneous, d_input_dropout=0.0, d_hidden_dropout=0.0)
        d_before = {k: v.clone() for k, v in model.D.state_dict().items()}
        g_before = {k: v.clone() for k, v in model.G.state_dict().items()}
        torch.manual_seed(1)
        results[simultaneous] = model.train_step(real_batch(), Progress())
        assert any(not torch.equal(d_before[k], v) for k, v in model.D.state_dict().items())
        assert any(not torch.equal(g_before[k], v) for k, v in model.G.state_dict().items())
    assert results[False]["loss_D"] == results[True]["loss_D"]
    assert results[False]["loss_G"] != results[True]["loss_G"]


def test_sgd_schedule_follows_the_code() -> None:
    model = build_model("gan", SPEC)
    assert model.learning_rate(0) == pytest.approx(0.1)
    assert model.learning_rate(1000) == pytest.approx(0.1 / 1.000004 ** 1000)
    assert model.learning_rate(10 ** 8) == pytest.approx(1e-6)
    assert model.momentum(0) == pytest.approx(0.5)
    assert model.momentum(62_500) == pytest.approx(0.6)
    assert model.momentum(10 ** 7) == pytest.approx(0.7)
    small = make()
    small.train_step(real_batch(), Progress(step=62_500))
    group = small.opt_D.param_groups[0]
    assert group["momentum"] == pytest.approx(0.6)
    assert group["lr"] == pytest.approx(0.1 / 1.000004 ** 62_500)


def test_discriminator_has_maxout_and_dropout_as_in_the_code() -> None:
    from gans.nn.dropout import PortableDropout
    from gans.nn.mlp import Maxout

    model = build_model("gan", SPEC)
    maxouts = [m for m in model.D.modules() if isinstance(m, Maxout)]
    assert [(m.units, m.pieces) for m in maxouts] == [(240, 5), (240, 5)]
    drops = [m.p for m in model.D.modules() if isinstance(m, PortableDropout)]
    assert drops == [pytest.approx(0.2), 0.5, 0.5]


def test_toy_points_use_the_toy_recipe_unless_the_suite_overrides_it() -> None:
    points = DataSpec("ring-8", channels=2, resolution=0, num_classes=8, kind="points")
    toy = build_model("gan", points)
    assert isinstance(toy.opt_G, torch.optim.Adam) and toy.config["z_dim"] == 2
    assert toy.learning_rate(5000) == pytest.approx(1e-3)  # no decay in the toy recipe
    toy.train_step(Batch(torch.randn(16, 2)), Progress())  # the schedule leaves Adam's groups valid
    assert "momentum" not in toy.opt_D.param_groups[0]
    overridden = build_model("gan", points, {"optimizer": "sgd", "lr": 0.1})
    assert isinstance(overridden.opt_G, torch.optim.SGD) and overridden.config["lr"] == 0.1
    images = build_model("gan", SPEC)
    assert images.config["optimizer"] == "sgd" and images.config["z_dim"] == 100


def test_unknown_optimizer_is_refused() -> None:
    with pytest.raises(ValueError, match="optimizer"):
        make(optimizer="lbfgs")


def test_the_default_update_is_alternating(monkeypatch) -> None:
    """Algorithm 1 by default: D's optimizer steps before D scores the fakes of the G step."""
    model = make()
    assert model.config["simultaneous_updates"] is False
    events: list[str] = []
    forward, step = model.D.forward, model.opt_D.step
    monkeypatch.setattr(model.D, "forward", lambda x: events.append("D") or forward(x))
    monkeypatch.setattr(model.opt_D, "step", lambda *a, **k: events.append("step") or step(*a, **k))
    model.train_step(real_batch(), Progress())
    assert events == ["D", "D", "step", "D"]
