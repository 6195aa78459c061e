"""ProGAN: the fade-in in G, D and the real images; equalized lr and pixel norm in the networks;
minibatch stddev; WGAN-GP with drift, one critic step; Adam reset per phase; the EMA generator
growing with G; and a run killed in the middle of a fade-in that resumes bit for bit."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from gans.models import build_model
from gans.models.progan import ProGAN
from gans.nn.equalized import EqualizedConv2d, EqualizedLinear
from gans.nn.growth import blend_reals
from gans.nn.resample import downsample2x, upsample2x
from gans.spec import Batch, DataSpec, EvalInput, Progress
from gans.train import TrainSettings, load_trained, train

SPEC = DataSpec("synthetic", channels=1, resolution=16, num_classes=4)
SMALL = {"z_dim": 16, "fmap_base": 64, "fmap_max": 16, "stable_images": 32, "fade_images": 32}


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: these small networks run ~10x faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(**overrides) -> ProGAN:
    torch.manual_seed(0)
    return build_model("progan", SPEC, {**SMALL, **overrides})


def reals(n: int = 8, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def perturb_(module: nn.Module) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p))


# --------------------------------------------------------------------------- the fade-in
@pytest.mark.parametrize("level", [1, 2])
def test_new_generator_block_at_alpha_0_is_the_upsampled_previous_output(level: int) -> None:
    G, z = make().G, torch.randn(8, 16)
    G.growth.set(level - 1, 1.0)
    previous = G(z)
    G.growth.set(level, 0.0)
    assert torch.equal(G(z), upsample2x(previous))


def test_old_generator_path_has_no_effect_at_alpha_1_and_some_in_between() -> None:
    G, z = make().G, torch.randn(8, 16)
    G.growth.set(2, 1.0)
    before = G(z)
    G.growth.set(2, 0.5)
    half = G(z)
    perturb_(G.to_rgb[1])  # the previous resolution's toRGB: the old path
    assert not torch.allclose(G(z), half)
    G.growth.set(2, 1.0)
    assert torch.equal(G(z), before)


@pytest.mark.parametrize("level", [1, 2])
def test_new_discriminator_block_at_alpha_0_scores_the_downsampled_input(level: int) -> None:
    D, x = make().D, reals()
    D.growth.set(level - 1, 1.0)
    previous = D(downsample2x(resize(x, level)))
    D.growth.set(level, 0.0)
    assert torch.equal(D(resize(x, level)), previous)


def test_old_discriminator_path_has_no_effect_at_alpha_1() -> None:
    D, x = make().D, reals()
    D.growth.set(2, 1.0)
    before = D(x)
    D.growth.set(2, 0.5)
    half = D(x)
    perturb_(D.from_rgb[1])
    assert not torch.allclose(D(x), half)
    D.growth.set(2, 1.0)
    assert torch.equal(D(x), before)


def resize(x: torch.Tensor, level: int) -> torch.Tensor:
    return torch.nn.functional.avg_pool2d(x, 16 // (4 * 2 ** level))


def test_reals_g_and_d_share_the_schedule_alpha_within_a_fade_in(monkeypatch) -> None:
    model = make()
    seen: list[torch.Tensor] = []
    scores = model.D.forward
    monkeypatch.setattr(model.D, "forward", lambda x: seen.append(x.detach().clone()) or scores(x))
    x = reals()
    logs = model.train_step(Batch(x), Progress(step=5, images_seen=40))  # 8 images into the fade-in
    assert model.G.growth.get() == model.D.growth.get() == (1, 0.25)
    assert logs["alpha"] == 0.25 and logs["resolution"] == 8
    assert torch.equal(seen[0], blend_reals(x, 8, 0.25))  # the critic's first look: the reals
    assert not torch.equal(seen[0], blend_reals(x, 8, 1.0))


# --------------------------------------------------------------------------- layers
def test_every_layer_has_equalized_lr_with_the_papers_gains() -> None:
    model = make(fmap_base=512, fmap_max=256)
    layers = [m for net in (model.G, model.D) for m in net.modules()
              if isinstance(m, (EqualizedConv2d, EqualizedLinear))]
    assert not [m for net in (model.G, model.D) for m in net.modules()
                if isinstance(m, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d))]
    for layer in layers:
        fan_in = layer.weight[0].numel()
        gain = layer.scale * math.sqrt(fan_in)
        expected = {id(model.G.dense): math.sqrt(2) / 4, id(model.D.out): 1.0,
                    **{id(m): 1.0 for m in model.G.to_rgb}}.get(id(layer), math.sqrt(2))
        assert gain == pytest.approx(expected)
    big = model.G.blocks[0][0]
    assert big.weight.std().item() == pytest.approx(1.0, rel=0.05)
    assert big.effective_weight().std().item() == pytest.approx(math.sqrt(2 / big.weight[0].numel()), rel=0.05)


def test_generator_pixel_normalises_z_and_every_conv_output() -> None:
    G = make().G
    G.growth.set(2, 1.0)
    z = torch.randn(4, 16)
    with torch.no_grad():
        G.dense.bias.normal_()  # a bias, so only a normalised z makes G blind to z's scale
    assert torch.allclose(G(z), G(z * 7.5), atol=1e-5)  # z is pixel-normalised first
    for x in G.features(z, 2):
        assert torch.allclose(x.pow(2).mean(dim=1), torch.ones_like(x[:, 0]), atol=1e-4)


def test_discriminator_sees_the_minibatch_spread_before_its_last_conv() -> None:
    D, x = make().D, reals(8)
    D.growth.set(2, 1.0)
    assert D.final_conv.weight.shape[1] == D.dense.weight.shape[1] // 16 + 1  # + the stddev map
    changed = x.clone()
    changed[2] = -changed[2]   # another member of sample 0's group (i mod 2)
    assert not torch.allclose(D(changed)[0], D(x)[0])
    changed = x.clone()
    changed[1] = -changed[1]   # a sample of the other group
    assert torch.allclose(D(changed)[0], D(x)[0], atol=1e-6)


# --------------------------------------------------------------------------- loss and optimizer
def test_critic_loss_is_wgan_gp_plus_drift() -> None:
    model = make()

    class Linear(nn.Module):  # ||grad|| = 2 everywhere
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.full((256,), 2.0 / 16)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1) @ self.w

    model.nets["D"] = Linear()
    real, fake = reals(), reals(seed=2)
    loss, (logged, penalty, drift, estimate) = model.critic_loss(Batch(real), fake)
    r, f = model.D(real), model.D(fake)
    assert penalty.item() == pytest.approx(10.0 * (2 - 1) ** 2, rel=1e-5)
    assert drift.item() == pytest.approx(0.001 * (r ** 2).mean().item(), rel=1e-5)
    assert loss.item() == pytest.approx((f.mean() - r.mean()).item() + 10.0 + drift.item(), rel=1e-5)
    assert estimate.item() == pytest.approx((r.mean() - f.mean()).item(), rel=1e-5)


def test_adam_settings_one_critic_step_and_ema() -> None:
    model = make()
    for opt in (model.opt_G, model.opt_D):
        group = opt.param_groups[0]
        assert (group["lr"], group["betas"], group["eps"]) == (1e-3, (0.0, 0.99), 1e-8)
    assert model.batches_per_step(Progress()) == 1
    assert model.ema_decay == 0.999 and "G_ema" in model.networks()


def test_optimizer_state_restarts_at_every_phase_change_and_only_then() -> None:
    model = make()
    x = reals()
    for step in range(4):  # stable 4x4: 4 steps of 8 images
        model.train_step(Batch(x), Progress(step=step, images_seen=8 * step))
    assert adam_steps(model.opt_G) == 4
    model.train_step(Batch(x), Progress(step=4, images_seen=32))  # the 8x8 fade-in begins
    assert adam_steps(model.opt_G) == adam_steps(model.opt_D) == 1
    model.train_step(Batch(x), Progress(step=5, images_seen=40))
    assert adam_steps(model.opt_G) == 2
    model.train_step(Batch(x), Progress(step=8, images_seen=64))  # stable 8x8
    assert adam_steps(model.opt_G) == 1


def adam_steps(opt: torch.optim.Optimizer) -> int:
    return max(int(s["step"]) for s in opt.state.values())


def test_batch_size_per_resolution() -> None:
    model = make(batch_sizes=[16, 8, 4])
    assert [model.batch_size(Progress(images_seen=n, batch_size=64)) for n in (0, 40, 100)] == [16, 8, 4]
    assert make().batch_size(Progress(images_seen=40, batch_size=12)) == 12
    with pytest.raises(ValueError, match="one size per resolution"):
        make(batch_sizes=[16, 8])


# --------------------------------------------------------------------------- EMA and sampling
def test_ema_generator_grows_with_g_and_averages_the_new_block() -> None:
    """Every block exists from the start in G and in its EMA copy; the copy takes G's level and
    alpha after every step, and averages the new block from its initial weights on."""
    model = make()
    x = reals()

    def step(k: int) -> None:
        model.train_step(Batch(x), Progress(step=k, images_seen=8 * k))
        model.update_ema(Progress(step=k + 1, images_seen=8 * k + 8))

    for k in range(4):  # stable 4x4
        step(k)
    ema, G = model.evaluation_network("G"), model.G
    assert ema is model.G_ema and ema.growth.get() == (0, 1.0)
    new_block = list(G.blocks[0].parameters()) + list(G.to_rgb[1].parameters())
    ema_block = list(ema.blocks[0].parameters()) + list(ema.to_rgb[1].parameters())
    initial = [p.detach().clone() for p in new_block]  # unused at 4x4: still as built
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(ema_block, initial))

    step(4)  # 8x8 appears at alpha 0 (its gradients are 0 there)
    assert ema.growth.get() == G.growth.get() == (1, 0.0)
    step(5)  # alpha 0.25: the new block trains
    assert ema.growth.get() == (1, 0.25)
    assert any(not torch.equal(p, q) for p, q in zip(new_block, initial))
    for avg, before, now in zip(ema_block, initial, new_block):
        assert torch.allclose(avg, 0.999 * before + 0.001 * now.detach(), atol=1e-6)
    z = torch.randn(4, 16)
    with torch.no_grad():
        ema.growth.set(0, 1.0)
        coarse = ema(z)
        ema.growth.set(1, 0.0)
        assert torch.equal(ema(z), upsample2x(coarse))


def test_samples_come_at_the_data_resolution_from_the_ema_generator() -> None:
    model = make()
    z = torch.randn(5, 16)
    out = model.sample(EvalInput(z=z))["x"]
    assert out.shape == (5, 1, 16, 16) and out.min() >= -1 and out.max() <= 1
    with torch.no_grad():
        coarse = model.G_ema(z).clamp(-1, 1)  # 4x4 at the start
    assert torch.equal(out, upsample2x(upsample2x(coarse)))


# --------------------------------------------------------------------------- resume in a fade-in
def run_settings(data: Path, out: Path, model: str, config: dict, **kw) -> TrainSettings:
    base = dict(model=model, data=str(data), out_dir=str(out / "run"), checkpoint_dir=str(out / "ckpt"),
                seed=3, batch_size=8, checkpoint_every=5, model_config=config, log_every=100)
    base.update(kw)
    return TrainSettings(**base)


def assert_resume_in_fade_in_is_bit_identical(data: Path, tmp: Path, model: str, config: dict) -> None:
    """Stable 32 images, fade-in 32 images at batch 8: step 5 (40 images) is inside the first
    fade-in (alpha 0.25), where the cut run's last checkpoint is."""
    whole = train(run_settings(data, tmp / "whole", model, config, steps=14))
    train(run_settings(data, tmp / "cut", model, config, steps=6))
    stopped = load_trained(tmp / "cut" / "run")  # its final.pt samples inside the fade-in
    assert stopped.evaluation_network("G").growth.get()[1] == 0.25
    resumed = train(run_settings(data, tmp / "cut", model, config, steps=14))
    assert whole["steps_done"] == resumed["steps_done"] == 14
    a = torch.load(tmp / "whole" / "run" / "final.pt", weights_only=False)
    b = torch.load(tmp / "cut" / "run" / "final.pt", weights_only=False)
    assert a["networks"].keys() == b["networks"].keys() and a["extra"] == b["extra"]
    for net in a["networks"]:
        for key, value in a["networks"][net].items():
            assert torch.equal(value, b["networks"][net][key]), f"{net}.{key}"
    strip = lambda path: [line.split(",", 2)[::2] for line in path.read_text().splitlines()]  # noqa: E731
    assert strip(tmp / "whole" / "run" / "losses.csv") == strip(tmp / "cut" / "run" / "losses.csv")
    grown = load_trained(tmp / "whole" / "run")
    assert grown.evaluation_network("G").growth.get()[0] == 2  # it grew past the fade-in


def test_a_run_killed_in_a_fade_in_resumes_bit_identically(tiny_data: Path, tmp_path: Path) -> None:
    assert_resume_in_fade_in_is_bit_identical(tiny_data, tmp_path, "progan", SMALL)
