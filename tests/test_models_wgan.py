"""WGAN: weight clipping after every critic update, RMSProp(5e-5), 5 critic steps per G step,
the code's 100-iteration critic warm-up, a linear critic output and the logged W estimate."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gans.models.wgan as wgan_module
from gans.models import build_model
from gans.spec import Batch, DataSpec, Progress

SPEC = DataSpec("synthetic", channels=1, resolution=16, num_classes=4)
POINTS = DataSpec("ring-8", channels=2, resolution=0, num_classes=8, kind="points")
SMALL = {"z_dim": 8, "ngf": 4, "ndf": 4, "points_g_hidden": 16, "points_d_hidden": 16}


def make(spec: DataSpec = SPEC, **overrides):
    torch.manual_seed(0)
    return build_model("wgan", spec, {**SMALL, **overrides})


def batch_for(model, per_minibatch: int = 4, step: int = 0) -> Batch:
    n = per_minibatch * model.batches_per_step(Progress(step=step))
    x = torch.rand(n, *model.spec.sample_shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    return Batch(x, torch.zeros(n, dtype=torch.long))


class ConstantCritic(nn.Module):
    """A stand-in critic that scores its i-th input batch with values[i] everywhere."""

    def __init__(self, values: list[float]) -> None:
        super().__init__()
        self.values = iter(values)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((len(x),), next(self.values), requires_grad=True)


def record_critic_updates(model, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Log every critic optimizer step and every clip, checking the box right after each clip."""
    events: list[str] = []
    step, clip = model.opt_D.step, wgan_module.clip_weights_

    def counted_step(*args, **kwargs):
        events.append("step")
        return step(*args, **kwargs)

    def checked_clip(module, c):
        clip(module, c)
        if module is model.D:
            events.append("clip")
            assert all(p.abs().max() <= 0.01 for p in module.parameters())

    monkeypatch.setattr(model.opt_D, "step", counted_step)
    monkeypatch.setattr(wgan_module, "clip_weights_", checked_clip)
    return events


@pytest.mark.parametrize("spec", [SPEC, POINTS], ids=["image", "points"])
def test_every_critic_update_is_clipped_and_there_are_five_per_g_step(spec, monkeypatch) -> None:
    model = make(spec)
    past_warm_up = Progress(step=30)
    events = record_critic_updates(model, monkeypatch)
    losses = model.train_step(batch_for(model, step=30), past_warm_up)
    assert events == ["step", "clip"] * 5
    assert losses["critic_iters"] == 5.0
    assert all(p.abs().max() <= 0.01 for p in model.D.parameters())


def test_critic_starts_inside_the_clipping_box() -> None:
    model = make()
    assert all(p.abs().max() <= 0.01 for p in model.D.parameters())
    assert max(p.abs().max().item() for p in model.D.parameters()) == pytest.approx(0.01)  # it did clip


def test_warm_up_schedule_of_the_code() -> None:
    model = make()
    iters = [model.critic_iterations(s) for s in (0, 24, 25, 26, 499, 500, 501, 1000)]
    assert iters == [100, 100, 5, 5, 5, 100, 5, 100]
    assert model.batches_per_step(Progress(step=10)) == 100
    off = make(critic_warmup_iters=0)
    assert [off.critic_iterations(s) for s in (0, 24, 500)] == [5, 5, 5]


def test_a_warm_up_step_runs_100_clipped_critic_updates(monkeypatch) -> None:
    model = make(POINTS)
    events = record_critic_updates(model, monkeypatch)
    model.train_step(batch_for(model, per_minibatch=2), Progress())
    assert events == ["step", "clip"] * 100


def test_rmsprop_5e5_without_momentum() -> None:
    model = make()
    for opt in (model.opt_G, model.opt_D):
        assert isinstance(opt, torch.optim.RMSprop)
        group = opt.param_groups[0]
        assert group["lr"] == pytest.approx(5e-5) and group["momentum"] == 0


@pytest.mark.parametrize("spec", [SPEC, POINTS], ids=["image", "points"])
def test_critic_ends_in_a_linear_map_without_activation(spec) -> None:
    model = make(spec)
    last = [m for m in model.D.modules()
            if not isinstance(m, (nn.Sequential, nn.Flatten)) and m is not model.D][-1]
    assert isinstance(last, (nn.Linear, nn.Conv2d))
    assert not any(isinstance(m, nn.Sigmoid) for m in model.D.modules())
    x = torch.rand(16, *spec.sample_shape) * 2 - 1
    model.D.eval()
    with torch.no_grad():  # linear output: scaling the last layer scales the scores
        before = model.D(x)
        for p in last.parameters():
            p.mul_(3)
        assert torch.allclose(model.D(x), 3 * before, atol=1e-7)


def test_wasserstein_estimate_is_minus_the_critic_loss() -> None:
    model = make(critic_warmup_iters=0)
    losses = model.train_step(batch_for(model, step=30), Progress(step=30))
    assert losses["wasserstein_estimate"] == -losses["loss_D"]


def test_critic_loss_has_no_logs(monkeypatch) -> None:
    """loss_D = mean f(fake) - mean f(real): with f returning constants we know its value."""
    model = make(POINTS, critic_warmup_iters=0, n_critic=1)
    # the critic sees real, then fake (critic step), then fake (G step)
    monkeypatch.setattr(model, "D", ConstantCritic([2.0, -1.0, 0.5]))
    monkeypatch.setattr(model.opt_D, "step", lambda: None)
    monkeypatch.setattr(wgan_module, "clip_weights_", lambda module, c: None)
    losses = model.train_step(batch_for(model, step=30), Progress(step=30))
    assert losses["loss_D"] == pytest.approx(-1.0 - 2.0)
    assert losses["loss_G"] == pytest.approx(-0.5)
