"""WGAN-GP: the two-sided penalty at per-sample interpolates, double backprop, no BN in the
critic, 5 critic steps per G step, Adam(1e-4, beta1 0.5, beta2 0.9)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gans.models import build_model
from gans.nn.penalties import gradient_penalty, interpolates
from gans.spec import Batch, DataSpec, Progress

SPEC = DataSpec("synthetic", channels=1, resolution=16, num_classes=4)
POINTS = DataSpec("grid-25", channels=2, resolution=0, num_classes=25, kind="points")
SMALL = {"z_dim": 8, "ngf": 4, "ndf": 4, "points_g_hidden": 16, "points_d_hidden": 16}


def make(spec: DataSpec = SPEC, **overrides):
    torch.manual_seed(0)
    return build_model("wgan-gp", spec, {**SMALL, **overrides})


def batch_for(model) -> Batch:
    n = 4 * model.batches_per_step(Progress())
    return Batch(torch.rand(n, *model.spec.sample_shape, generator=torch.Generator().manual_seed(1)) * 2 - 1)


def linear_critic(norm: float, dims: int = 12) -> nn.Linear:
    critic = nn.Linear(dims, 1)
    with torch.no_grad():
        w = torch.randn(1, dims)
        critic.weight.copy_(w / w.norm() * norm)
        critic.bias.fill_(0.3)
    return critic


@pytest.mark.parametrize("norm, expected", [(1.0, 0.0), (2.0, 10.0), (0.5, 2.5)])
def test_penalty_of_a_linear_critic(norm: float, expected: float) -> None:
    critic = linear_critic(norm)
    points = torch.randn(16, 3, 4)  # the norm is taken over all coordinates of a sample
    penalty = gradient_penalty(lambda x: critic(x.flatten(1)), points, weight=10.0)
    assert penalty.item() == pytest.approx(expected, abs=1e-5)


def test_penalty_is_two_sided() -> None:
    """A critic flatter than 1-Lipschitz is penalised too (a one-sided penalty would give 0)."""
    assert gradient_penalty(linear_critic(0.5), torch.randn(8, 12)).item() > 1.0


def test_penalty_trains_the_critic_weights_by_double_backprop() -> None:
    critic = linear_critic(2.0)
    gradient_penalty(critic, torch.randn(8, 12)).backward()
    # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||: nonzero, pointing along w
    expected = 20 * (2.0 - 1) * critic.weight / 2.0
    assert torch.allclose(critic.weight.grad, expected, atol=1e-5)


def test_interpolates_use_one_uniform_eps_per_sample() -> None:
    real, fake = torch.ones(200, 1, 3, 3), torch.zeros(200, 1, 3, 3)
    mixed = interpolates(real, fake)
    per_sample = mixed.flatten(1)
    assert torch.equal(per_sample, per_sample[:, :1].expand_as(per_sample))  # one eps per sample
    eps = per_sample[:, 0]
    assert eps.min() >= 0 and eps.max() <= 1 and eps.std() > 0.2  # spread over [0, 1]


def test_autograd_grad_is_called_with_create_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    model = make()
    calls: list[dict] = []
    grad = torch.autograd.grad

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return grad(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", spy)
    model.train_step(batch_for(model), Progress())
    assert len(calls) == 5 and all(kw.get("create_graph") is True for kw in calls)


@pytest.mark.parametrize("norm", ["layer", "none"])
def test_no_batchnorm_in_the_critic(norm: str) -> None:
    model = make(critic_norm=norm)
    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
    assert not any(isinstance(m, norms) for m in model.D.modules())
    if norm == "layer":
        layer_norms = [m for m in model.D.modules() if isinstance(m, nn.GroupNorm)]
        assert layer_norms and all(m.num_groups == 1 for m in layer_norms)


def test_critic_scores_each_sample_on_its_own() -> None:
    """Without BN a sample's score does not depend on the rest of the batch (what GP assumes)."""
    model = make()
    x = torch.rand(6, 1, 16, 16)
    model.D.train()
    with torch.no_grad():
        assert torch.allclose(model.D(x)[:3], model.D(x[:3]), atol=1e-6)


def counting(step, counts: dict[str, int], name: str):
    """Wrap an optimizer's step so that each call is counted under `name`."""

    def counted(*args, **kwargs):
        counts[name] += 1
        return step(*args, **kwargs)

    return counted


@pytest.mark.parametrize("spec", [SPEC, POINTS], ids=["image", "points"])
def test_five_critic_steps_per_generator_step(spec, monkeypatch: pytest.MonkeyPatch) -> None:
    model = make(spec)
    counts = {"D": 0, "G": 0}
    for name, opt in model.optimizers().items():
        monkeypatch.setattr(opt, "step", counting(opt.step, counts, name))
    assert model.batches_per_step(Progress()) == 5
    losses = model.train_step(batch_for(model), Progress())
    assert counts == {"D": 5, "G": 1}
    assert losses["loss_D"] == pytest.approx(losses["gradient_penalty"] - losses["wasserstein_estimate"], abs=1e-5)


def test_adam_settings_of_the_paper() -> None:
    model = make()
    for opt in (model.opt_G, model.opt_D):
        group = opt.param_groups[0]
        assert isinstance(opt, torch.optim.Adam)
        assert group["lr"] == pytest.approx(1e-4) and group["betas"] == (0.5, 0.9)
    assert model.config["gp_weight"] == 10.0 and model.config["n_critic"] == 5


def test_unknown_critic_norm_is_refused() -> None:
    with pytest.raises(ValueError, match="critic_norm"):
        make(critic_norm="batch")


def test_toy_points_recipe_keeps_lambda_and_the_critic_ratio() -> None:
    model = build_model("wgan-gp", POINTS)
    assert model.config["lr"] == 1e-3 and model.config["beta1"] == 0.5 and model.config["z_dim"] == 2
    assert model.config["gp_weight"] == 10.0 and model.config["n_critic"] == 5
    assert build_model("wgan-gp", POINTS, {"lr": 1e-4}).config["lr"] == 1e-4


def test_the_penalty_is_taken_at_interpolates_of_that_iterations_real_and_fake(monkeypatch) -> None:
    """Not at the reals, not at the fakes, with weight 10: each penalty point lies on the segment
    between its real sample and its fake, at one eps per sample."""
    import gans.models.wgan_gp as module

    model = make()
    seen: dict[str, list] = {"points": [], "weight": [], "real": [], "fake": []}
    penalty, critic_loss = module.gradient_penalty, model.critic_loss

    def spy_penalty(critic, points, weight):
        seen["points"].append(points.detach().clone())
        seen["weight"].append(weight)
        return penalty(critic, points, weight)

    def spy_loss(real, fake):
        seen["real"].append(real.x.clone())
        seen["fake"].append(fake.detach().clone())
        return critic_loss(real, fake)

    monkeypatch.setattr(module, "gradient_penalty", spy_penalty)
    monkeypatch.setattr(model, "critic_loss", spy_loss)
    model.train_step(batch_for(model), Progress())
    assert seen["weight"] == [10.0] * 5
    for points, real, fake in zip(seen["points"], seen["real"], seen["fake"]):
        span = (real - fake).flatten(1)
        eps = ((points - fake).flatten(1) * span).sum(1) / (span * span).sum(1)
        assert ((eps > 0) & (eps < 1)).all()
        assert torch.allclose(points, fake + eps.view(-1, 1, 1, 1) * (real - fake), atol=1e-5)


def test_every_critic_iteration_gets_its_own_real_minibatch(monkeypatch) -> None:
    model = make()
    batch = batch_for(model)
    reals: list[torch.Tensor] = []
    critic_loss = model.critic_loss
    monkeypatch.setattr(model, "critic_loss", lambda real, fake: reals.append(real.x) or critic_loss(real, fake))
    model.train_step(batch, Progress())
    assert [r.data_ptr() for r in reals] and len(reals) == 5
    for real, expected in zip(reals, batch.chunks(5)):
        assert torch.equal(real, expected.x)


def test_the_critic_output_is_linear_and_unbounded() -> None:
    model = make()
    assert not any(isinstance(m, (nn.Sigmoid, nn.Tanh)) for m in model.D.modules())
    model.D.eval()
    x = torch.rand(4, *model.spec.sample_shape) * 2 - 1
    last = [m for m in model.D.modules() if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        before = model.D(x)
        last.weight.mul_(1000)
        after = model.D(x)
    assert torch.allclose(after, 1000 * before, rtol=1e-4) and after.abs().max() > 1
