"""StyleGAN: mapping network, constant input, noise inputs (scales from 0), AdaIN, style mixing
over the active layers, tracked w_avg and truncation, the logistic loss with R1, growth from 8x8,
and a run killed in the middle of a fade-in that resumes bit for bit."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gans.models import build_model
from gans.models import stylegan as stylegan_module
from gans.models.stylegan import StyleGAN, latent_noise
from gans.nn.equalized import EqualizedLinear
from gans.nn.growth import blend_reals
from gans.nn.resample import upsample2x
from gans.spec import Batch, DataSpec, EvalInput, Progress
from gans.train import run_identity, train
from test_models_progan import assert_resume_in_fade_in_is_bit_identical, run_settings

SPEC = DataSpec("synthetic", channels=1, resolution=16, num_classes=4)
SMALL = {"z_dim": 16, "w_dim": 16, "mapping_width": 16, "fmap_base": 64, "fmap_max": 16,
         "stable_images": 32, "fade_images": 32}


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: these small networks run ~10x faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(**overrides) -> StyleGAN:
    torch.manual_seed(0)
    return build_model("stylegan", SPEC, {**SMALL, **overrides})


def reals(n: int = 8, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def fixed_noise(G, n: int, seed: int = 5) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 1, r, r, generator=g)
            for r in map(G.synthesis.layer_resolution, range(G.num_layers))]


def with_noise_strength(G, value: float) -> None:
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(value)


# --------------------------------------------------------------------------- mapping and synthesis
def test_mapping_network_is_8_slow_layers_on_normalised_z_and_z_changes_w() -> None:
    G = make().G
    layers = list(G.mapping.layers)
    assert len(layers) == 8 and all(isinstance(m, EqualizedLinear) and m.lr_mul == 0.01 for m in layers)
    z = torch.randn(4, 16)
    w = G.mapping(z)
    assert not torch.allclose(G.mapping(torch.randn(4, 16)), w)
    assert torch.allclose(G.mapping(z * 3), w, atol=1e-5)  # pixel-normalised z
    assert (layers[0].weight * 0.01).std().item() == pytest.approx(1.0, rel=0.2)


def test_constant_input_starts_at_ones_and_noise_scales_at_zero() -> None:
    G = make().G
    assert torch.equal(G.synthesis.blocks[0].const, torch.ones_like(G.synthesis.blocks[0].const))
    strengths = [p for n, p in G.named_parameters() if n.endswith("noise_strength")]
    assert len(strengths) == G.num_layers == 6 and all(torch.equal(s, torch.zeros_like(s)) for s in strengths)


def test_synthesis_with_fixed_noise_is_bit_identical_and_fresh_noise_is_not() -> None:
    G = make().G
    with_noise_strength(G, 0.5)
    G.growth.set(2, 1.0)
    z = torch.randn(4, 16)
    noise = fixed_noise(G, 4)
    assert torch.equal(G(z, noise=noise), G(z, noise=noise))
    assert not torch.equal(G(z), G(z))  # fresh per-pixel noise each call (training)


def test_resampled_noise_changes_pixels_less_than_a_new_latent() -> None:
    G = make().G
    with_noise_strength(G, 0.1)
    G.growth.set(2, 1.0)
    z = torch.randn(16, 16)
    base = G(z, noise=fixed_noise(G, 16, 1))
    by_noise = (G(z, noise=fixed_noise(G, 16, 2)) - base).abs().mean()
    by_latent = (G(torch.randn(16, 16), noise=fixed_noise(G, 16, 1)) - base).abs().mean()
    assert 0 < by_noise < by_latent


def test_each_layer_is_modulated_by_its_own_style() -> None:
    """AdaIN per layer: changing w of one layer only changes the image through that layer."""
    G = make().G
    G.growth.set(2, 1.0)
    z = torch.randn(2, 16)
    noise = fixed_noise(G, 2)
    ws = G.broadcast(G.mapping(z)).clone()
    image = G.synthesize(ws, noise)
    for layer in range(G.num_layers):
        changed = ws.clone()
        changed[:, layer] = torch.randn_like(changed[:, layer])
        assert not torch.allclose(G.synthesize(changed, noise), image), layer
    # and a style is x * (1 + s) + b on the instance-normalised features
    style = G.synthesis.blocks[0].style0
    x, w = torch.randn(2, 16, 4, 4), torch.randn(2, 16)
    s, b = style.affine(w).view(2, 2, 16, 1, 1).unbind(1)
    normed = stylegan_module.instance_norm(F.leaky_relu(x, 0.2))
    assert torch.allclose(style(x, w, torch.zeros(2, 1, 4, 4)), normed * (1 + s) + b, atol=1e-5)


# --------------------------------------------------------------------------- w_avg, truncation
def test_psi_0_gives_every_latent_the_same_image() -> None:
    G = make().G
    with_noise_strength(G, 0.3)
    G.growth.set(2, 1.0)
    with torch.no_grad():
        G.w_avg.normal_()
    noise = [n[:1].expand(6, -1, -1, -1) for n in fixed_noise(G, 1)]
    images = G(torch.randn(6, 16), psi=0.0, cutoff=G.num_layers, noise=noise)
    assert torch.allclose(images, images[:1].expand_as(images), atol=1e-5)
    assert not torch.allclose(G(torch.randn(6, 16), noise=noise)[0], images[0])


def test_truncation_pulls_the_first_layers_toward_w_avg_and_only_when_sampling() -> None:
    model = make(truncation_cutoff=2)
    G = model.G
    with torch.no_grad():
        G.w_avg.normal_()
    w = G.mapping(torch.randn(3, 16))
    ws = G.truncate(G.broadcast(w), 0.7, 2)
    assert torch.allclose(ws[:, :2], G.w_avg + 0.7 * (w[:, None] - G.w_avg), atol=1e-6)
    assert torch.equal(ws[:, 2:], G.broadcast(w)[:, 2:])
    z = torch.randn(5, 16)
    plain, truncated = model.sample(EvalInput(z=z)), model.sample(EvalInput(z=z), truncation=0.5)
    assert torch.equal(plain["x"], model.sample(EvalInput(z=z), truncation=1.0)["x"])
    assert not torch.equal(plain["x"], truncated["x"])
    assert model.supports_truncation


def test_w_avg_tracks_the_training_ws_with_beta_0995() -> None:
    model = make(style_mixing_prob=0.0)
    G = model.G
    before = G.w_avg.clone()
    torch.manual_seed(4)
    z = model.draw_latent(8)
    torch.manual_seed(4)
    model.fake_images(8)
    expected = torch.lerp(G.mapping(z).mean(0), before, 0.995)
    assert torch.allclose(G.w_avg, expected, atol=1e-6) and not torch.equal(G.w_avg, before)
    mixing = make(style_mixing_prob=1.0)  # the mixing latents are not tracked
    torch.manual_seed(4)
    z = mixing.draw_latent(8)
    torch.manual_seed(4)
    mixing.training_styles(8)
    assert torch.allclose(mixing.G.w_avg, 0.005 * mixing.G.mapping(z).mean(0), atol=1e-6)


# --------------------------------------------------------------------------- style mixing
def test_style_mixing_takes_a_second_w_from_one_crossover_among_active_layers() -> None:
    model = make(style_mixing_prob=1.0)
    for level, active in [(1, 4), (2, 6)]:
        model.G.growth.set(level, 1.0)
        crossovers = set()
        for _ in range(40):
            ws = model.training_styles(4)
            differs = [not torch.equal(ws[:, 0], ws[:, k]) for k in range(model.G.num_layers)]
            crossover = differs.index(True)
            assert all(differs[crossover:]) and not any(differs[:crossover])  # one switch
            crossovers.add(crossover)
        assert crossovers == set(range(1, active))  # drawn among the active layers only


def test_no_mixing_at_probability_0_and_mixing_at_about_90_percent(monkeypatch) -> None:
    model = make(style_mixing_prob=0.0)
    ws = model.training_styles(4)
    assert all(torch.equal(ws[:, 0], ws[:, k]) for k in range(model.G.num_layers))
    model = make()
    assert model.config["style_mixing_prob"] == 0.9
    styles = [model.training_styles(2) for _ in range(200)]
    mixed = sum(not torch.equal(ws[:, 0], ws[:, -1]) for ws in styles)
    assert 160 <= mixed <= 195
    synthesized = []
    monkeypatch.setattr(model.G, "synthesize", lambda ws, noise=None: synthesized.append(ws))
    torch.manual_seed(9)
    model.fake_images(2)
    torch.manual_seed(9)
    assert torch.equal(synthesized[0], model.training_styles(2))  # G's fakes use these styles


def test_mix_styles_takes_coarse_layers_from_one_latent_and_fine_from_the_other() -> None:
    model = make(stable_images=0, fade_images=0)
    model.train_step(Batch(reals()), Progress())  # at the top level (16x16: 6 layers)
    model.update_ema(Progress(step=1))
    with_noise_strength(model.G_ema, 0.2)
    sources, destinations = torch.randn(3, 16), torch.randn(2, 16)
    grid = model.mix_styles(sources, destinations)
    assert grid.shape == (2, 3, 1, 16, 16)
    own = model.sample(EvalInput(z=destinations))["x"]
    assert torch.allclose(model.mix_styles(destinations, destinations)[[0, 1], [0, 1]], own, atol=1e-5)
    assert not torch.allclose(grid[0, 0], grid[0, 1]) and not torch.allclose(grid[0, 0], grid[1, 0])


def test_evaluation_noise_is_a_function_of_each_latent_alone() -> None:
    z = torch.randn(4, 16)
    maps = latent_noise(z, [4, 8])
    again = latent_noise(torch.cat([z[2:3], torch.randn(1, 16)]), [4, 8])
    assert [m.shape for m in maps] == [(4, 1, 4, 4), (4, 1, 8, 8)]
    assert torch.equal(again[0][0], maps[0][2]) and torch.equal(again[1][0], maps[1][2])
    assert not torch.equal(maps[0][0], maps[0][1])


# --------------------------------------------------------------------------- loss, growth
def test_d_loss_is_logistic_plus_r1_on_the_faded_in_reals(monkeypatch) -> None:
    model = make()
    calls = []
    r1 = stylegan_module.r1_penalty

    def spy(scores, points, gamma):
        value = r1(scores, points, gamma)
        (grad,) = torch.autograd.grad(scores.sum(), points, retain_graph=True)
        calls.append((points.detach().clone(), gamma, value.item(), grad.pow(2).flatten(1).sum(1).mean().item()))
        return value

    monkeypatch.setattr(stylegan_module, "r1_penalty", spy)
    x = reals()
    logs = model.train_step(Batch(x), Progress(step=5, images_seen=40))  # 16x16 fading in at 0.25
    (points, gamma, value, squared_norm), = calls
    assert gamma == 10.0 and value == pytest.approx(gamma / 2 * squared_norm, rel=1e-5)
    assert torch.equal(points, blend_reals(x, 16, 0.25))
    assert logs["r1_penalty"] == pytest.approx(value) and logs["loss_D"] > value
    assert model.G.growth.get() == model.D.growth.get() == (2, 0.25)


def test_grows_from_8x8_and_d_blurs_before_downsampling() -> None:
    model = make()
    model.train_step(Batch(reals()), Progress())
    assert model.G.growth.get() == (1, 1.0) and model.resolution == 8
    assert all(block.blur is not None for block in model.D.blocks)
    for opt in (model.opt_G, model.opt_D):
        group = opt.param_groups[0]
        assert (group["lr"], group["betas"], group["eps"]) == (1e-3, (0.0, 0.99), 1e-8)
    z = torch.randn(3, 16)
    model.G_ema.growth.set(1, 1.0)
    with torch.no_grad():
        coarse = model.G_ema(z, noise=model.noise_for(model.G_ema, z))
    assert torch.equal(model.sample(EvalInput(z=z))["x"], upsample2x(coarse).clamp(-1, 1))


def test_ema_copy_tracks_g_growth_and_w_avg() -> None:
    model = make()
    x = reals()
    for k in range(6):
        model.train_step(Batch(x), Progress(step=k, images_seen=8 * k))
        model.update_ema(Progress(step=k + 1, images_seen=8 * k + 8))
    assert model.G_ema.growth.get() == model.G.growth.get() == (2, 0.25)
    assert torch.equal(model.G_ema.w_avg, model.G.w_avg)
    assert math.isclose(model.ema_decay, 0.5 ** (64 / 10_000), rel_tol=1e-4)


def test_a_run_killed_in_a_fade_in_resumes_bit_identically(tiny_data: Path, tmp_path: Path) -> None:
    assert_resume_in_fade_in_is_bit_identical(tiny_data, tmp_path, "stylegan", SMALL)


# --------------------------------------------------------------------------- lr ramp-down (a suite option)
def test_lr_is_constant_by_default_and_ramps_to_0_over_the_last_share_when_asked() -> None:
    paper = make()
    assert paper.config["lr_rampdown"] == 0 and not paper.uses_budget and StyleGAN.deviations(paper.config) == []
    assert {paper.learning_rate(Progress(step=k, total_steps=200)) for k in (0, 150, 199)} == {1e-3}
    ramped = make(lr_rampdown=0.25)  # over the last 50 of 200 steps
    lr = [ramped.learning_rate(Progress(step=k, total_steps=200)) for k in range(200)]
    assert set(lr[:151]) == {1e-3}  # constant up to where the ramp starts
    assert lr[175] == pytest.approx(0.5e-3, rel=1e-12)  # half-way down the half-cosine
    assert lr[199] == pytest.approx(1e-3 * (0.5 - 0.5 * math.cos(math.pi / 50)), rel=1e-12)
    assert all(a > b for a, b in zip(lr[150:], lr[151:]))
    assert ramped.uses_budget and "lr ramped down to 0 over the last 25%" in StyleGAN.deviations(ramped.config)[0]


def test_a_training_step_applies_the_ramped_lr_to_both_optimizers() -> None:
    model = make(lr_rampdown=0.5)
    logs = model.train_step(Batch(reals()), Progress(step=15, images_seen=120, total_steps=20, batch_size=8))
    expected = 1e-3 * (0.5 - 0.5 * math.cos(math.pi * 0.5))
    assert logs["lr"] == expected
    assert [opt.param_groups[0]["lr"] for opt in (model.opt_G, model.opt_D)] == [expected, expected]


def test_a_ramped_run_resumes_bit_identically_and_never_resumes_another_budget(
        tiny_data: Path, tmp_path: Path, capsys) -> None:
    """Killed after its step-10 checkpoint, inside the ramp (steps 7 to 14), the rerun ends equal to
    the whole run; a run of another budget has another identity, so it starts from step 0."""
    config = {**SMALL, "lr_rampdown": 0.5}
    run = tmp_path / "run"
    train(run_settings(tiny_data, tmp_path, "stylegan", config, steps=14))
    whole = torch.load(run / "final.pt", weights_only=False)
    for name in ("final.pt", "status.json"):  # what the run wrote after its last checkpoint
        (run / name).unlink()
    capsys.readouterr()
    train(run_settings(tiny_data, tmp_path, "stylegan", config, steps=14))
    assert "resumed from step 10" in capsys.readouterr().out
    again = torch.load(run / "final.pt", weights_only=False)
    for net in whole["networks"]:
        for key, value in whole["networks"][net].items():
            assert torch.equal(value, again["networks"][net][key]), f"{net}.{key}"
    model = build_model("stylegan", SPEC, config)
    ids = {steps: run_identity(run_settings(tiny_data, tmp_path, "stylegan", config, steps=steps), model, "d")
           for steps in (14, 20)}
    assert ids[14] != ids[20]
    train(run_settings(tiny_data, tmp_path, "stylegan", config, steps=20))
    assert "resumed from" not in capsys.readouterr().out
