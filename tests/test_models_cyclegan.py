"""CycleGAN: the generator objective (adversarial + 10 x cycle L1 + 5 x identity L1), LSGAN
criteria against 1/0, pooled fakes for D, patch scores, the networks' norms and padding, the
lr schedule, and the G-then-D order."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from gans.models import build_model
from gans.spec import Batch, DataSpec, EvalInput, Progress

SPEC = DataSpec("synthetic", channels=1, resolution=32, num_classes=10)
SMALL = {"ngf": 4, "ndf": 4, "n_blocks": 2}


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model("cyclegan", SPEC, SMALL)


def batch(n: int = 3, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(torch.rand(n, 1, 32, 32, generator=g) * 2 - 1, None,
                 torch.rand(n, 1, 32, 32, generator=g) * 2 - 1)


def frozen(model) -> None:
    """lr 0 at every step (the schedule scales the configured lr): the weights stay as they are."""
    model.config["lr"] = 0.0


def l1(x: torch.Tensor, y: torch.Tensor) -> float:
    return (x - y).abs().mean().item()


def mse_to(scores: torch.Tensor, target: float) -> float:
    return ((scores - target) ** 2).mean().item()


def test_the_generator_loss_is_adversarial_plus_10_cycle_plus_5_identity(model) -> None:
    frozen(model)
    data = batch()
    a, b = data.x, data.x_b
    with torch.no_grad():
        G, F_, D_A, D_B = model.G, model.F, model.D_A, model.D_B
        cycle = 10 * (l1(F_(G(a)), a) + l1(G(F_(b)), b))
        identity = 5 * (l1(G(b), b) + l1(F_(a), a))
        adversarial = mse_to(D_B(G(a)), 1.0) + mse_to(D_A(F_(b)), 1.0)
    losses = model.train_step(data, Progress(step=0, total_steps=10))
    assert losses["loss_cycle"] == pytest.approx(cycle, rel=1e-5)
    assert losses["loss_identity"] == pytest.approx(identity, rel=1e-5)
    assert losses["loss_G_adversarial"] == pytest.approx(adversarial, rel=1e-5)
    assert losses["loss_G"] == pytest.approx(adversarial + cycle + identity, rel=1e-5)


def test_the_discriminators_are_least_squares_against_1_and_0_halved(model) -> None:
    frozen(model)
    data = batch()
    a, b = data.x, data.x_b
    with torch.no_grad():  # at step 0 the pools are empty, so D sees the newest fakes
        fake_b, fake_a = model.G(a), model.F(b)
        expected = (0.5 * (mse_to(model.D_B(b), 1.0) + mse_to(model.D_B(fake_b), 0.0))
                    + 0.5 * (mse_to(model.D_A(a), 1.0) + mse_to(model.D_A(fake_a), 0.0)))
    losses = model.train_step(data, Progress(step=0, total_steps=10))
    assert losses["loss_D"] == pytest.approx(expected, rel=1e-5)
    assert not any(isinstance(m, nn.Sigmoid) for m in model.D_A.modules())


def test_d_learns_from_pools_of_50_past_fakes(model) -> None:
    assert model.pool_A.size == model.pool_B.size == 50
    for _ in range(17):  # 51 earlier fakes: the pools are full
        model.pool_A.query(torch.rand(3, 1, 32, 32))
        model.pool_B.query(torch.rand(3, 1, 32, 32))
    seen: list[torch.Tensor] = []
    model.D_B.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0]))
    newest: list[torch.Tensor] = []
    model.G.register_forward_hook(lambda m, inputs, out: newest.append(out.detach()))
    torch.manual_seed(0)
    model.train_step(batch(), Progress(step=0, total_steps=10))
    fake_b, judged = newest[0], seen[-1]  # G(a) of this step; what D_B judged as fake
    assert judged.shape == fake_b.shape
    assert any(not any(torch.equal(image, new) for new in fake_b) for image in judged)


def test_the_patchgan_scores_patches_smaller_than_the_image(model) -> None:
    x = torch.zeros(1, 1, 32, 32, requires_grad=True)
    scores = model.D_B(x)
    assert scores.dim() == 4 and scores.shape[:2] == (1, 1) and min(scores.shape[2:]) > 1  # a map
    assert scores.shape[2:] == (14, 14)
    # the convolutions' receptive field of one score: the pixels its gradient reaches once the
    # instance norms (whose statistics span the whole image) are taken out
    convs_only = copy.deepcopy(model.D_B)
    for block in convs_only.modules():
        for name, child in block.named_children():
            if isinstance(child, nn.InstanceNorm2d):
                setattr(block, name, nn.Identity())
    centre = convs_only(x)[0, 0, 7, 7]
    (grad,) = torch.autograd.grad(centre, x)
    rows, cols = torch.nonzero(grad[0, 0].abs() > 0, as_tuple=True)
    assert int(rows.max() - rows.min()) + 1 <= 16 and int(cols.max() - cols.min()) + 1 <= 16
    convs = [m for m in model.D_B.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.kernel_size == (4, 4) for c in convs)
    leaky = [m for m in model.D_B.modules() if isinstance(m, nn.LeakyReLU)]
    assert leaky and all(m.negative_slope == pytest.approx(0.2) for m in leaky)


def test_resnet_generators_with_instance_norm_and_reflect_padding(model) -> None:
    for net in (model.G, model.F, model.D_A, model.D_B):
        assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in net.modules())
        assert any(isinstance(m, nn.InstanceNorm2d) for m in net.modules())
    for net in (model.G, model.F):
        convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
        assert convs[0].kernel_size == convs[-1].kernel_size == (7, 7)
        assert all(c.padding == (0, 0) for c in convs if c.kernel_size != (3, 3) or c.stride == (1, 1))
        assert sum(isinstance(m, nn.ReflectionPad2d) for m in net.modules()) == 2 + 2 * 2  # 2 blocks
        assert isinstance(list(net.modules())[-1], nn.Tanh)
    # each residual block adds its input back
    block = next(m for m in model.G.modules() if type(m).__name__ == "ResidualBlock")
    x = torch.randn(1, block.block[1].in_channels, 8, 8)
    assert torch.allclose(block(x), x + block.block(x))


def test_adam_and_a_constant_then_linear_lr(model) -> None:
    for opt in model.optimizers().values():
        assert isinstance(opt, torch.optim.Adam) and opt.param_groups[0]["betas"][0] == 0.5
    lr = [model.learning_rate(Progress(step=s, total_steps=100)) for s in (0, 49, 50, 75, 99)]
    assert lr[:3] == [pytest.approx(2e-4)] * 3
    assert lr[3] == pytest.approx(1e-4) and 0 < lr[4] < 1e-5
    model.train_step(batch(), Progress(step=75, total_steps=100))
    assert all(opt.param_groups[0]["lr"] == pytest.approx(1e-4) for opt in model.optimizers().values())


def test_g_and_f_step_before_the_discriminators(model, monkeypatch) -> None:
    order: list[str] = []
    for name, opt in model.optimizers().items():
        step = opt.step
        monkeypatch.setattr(opt, "step", lambda *args, n=name, s=step: order.append(n) or s(*args))
    model.train_step(batch(), Progress(step=0, total_steps=4))
    assert order[:2] == ["G", "F"] and set(order[2:]) == {"D_A", "D_B"}


def test_translation_both_ways_and_back(model) -> None:
    data = batch()
    out = model.generate(EvalInput(source=data.x, source_b=data.x_b))
    with torch.no_grad():
        assert torch.equal(out["translated"], model.G(data.x))
        assert torch.equal(out["reconstructed"], model.F(model.G(data.x)))
        assert torch.equal(out["reverse_translated"], model.F(data.x_b))
        assert torch.equal(out["reverse_reconstructed"], model.G(model.F(data.x_b)))


def test_the_pools_resume_with_the_run(model) -> None:
    for step in range(3):
        model.train_step(batch(seed=step), Progress(step=step, total_steps=10))
    torch.manual_seed(1)
    other = build_model("cyclegan", SPEC, SMALL)
    other.load_state_dict(model.state_dict())
    assert len(other.pool_A) == len(model.pool_A) == 9
    assert all(torch.equal(x, y) for x, y in zip(other.pool_B.images, model.pool_B.images))
