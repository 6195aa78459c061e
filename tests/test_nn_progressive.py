"""The shared blocks of ProGAN and StyleGAN: equalized learning rate, pixel and instance norm,
minibatch stddev, resampling and blur, the growth schedule, the fade-in and the real images'
blend, and the two losses StyleGAN adds (logistic D loss, R1)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gans.nn.equalized import EqualizedConv2d, EqualizedLinear
from gans.nn.growth import GrowthPosition, GrowthSchedule, GrowthState, blend_reals, fade
from gans.nn.losses import logistic_discriminator_loss
from gans.nn.normalization import MinibatchStdDev, instance_norm, pixel_norm
from gans.nn.penalties import r1_penalty
from gans.nn.resample import Blur, downsample2x, resize_to, upsample2x


# --------------------------------------------------------------------------- equalized lr
@pytest.mark.parametrize("make, fan_in", [
    (lambda: EqualizedConv2d(64, 128, 3), 64 * 9),
    (lambda: EqualizedLinear(512, 256), 512),
])
def test_stored_weights_are_unit_normal_and_effective_ones_he_scaled(make, fan_in: int) -> None:
    torch.manual_seed(0)
    layer = make()
    assert layer.weight.std().item() == pytest.approx(1.0, rel=0.03)
    assert layer.effective_weight().std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.03)
    assert torch.equal(layer.bias, torch.zeros_like(layer.bias))


def test_equalized_layers_compute_with_the_scaled_weight() -> None:
    torch.manual_seed(0)
    conv, x = EqualizedConv2d(3, 5, 3, gain=1.0), torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        conv.bias.normal_()
    expected = F.conv2d(x, conv.weight / math.sqrt(27), conv.bias, padding=1)
    assert torch.allclose(conv(x), expected, atol=1e-6)
    linear = EqualizedLinear(7, 2, gain=1.0)
    assert torch.allclose(linear(torch.eye(7)), (linear.weight / math.sqrt(7)).t(), atol=1e-6)
    bare_linear, bare_conv = EqualizedLinear(7, 2, bias=False), EqualizedConv2d(3, 5, 1, bias=False)
    assert bare_linear.bias is None and bare_conv.bias is None and bare_conv.padding == 0
    assert torch.allclose(bare_linear(torch.eye(7)), (bare_linear.weight * math.sqrt(2 / 7)).t(), atol=1e-6)
    assert torch.allclose(bare_conv(x), F.conv2d(x, bare_conv.weight * math.sqrt(2 / 3)), atol=1e-6)


def test_lr_multiplier_scales_storage_up_and_run_time_down() -> None:
    """StyleGAN's mapping layers: same effective weights at init, a 100x larger stored weight
    (so Adam's steps move the effective weight 100x less), and a bias scaled by lr_mul."""
    torch.manual_seed(0)
    slow = EqualizedLinear(512, 512, lr_mul=0.01)
    assert (slow.weight * 0.01).std().item() == pytest.approx(1.0, rel=0.03)
    assert slow.effective_weight().std().item() == pytest.approx(math.sqrt(2 / 512), rel=0.03)
    with torch.no_grad():
        slow.bias.fill_(1.0)
    assert torch.allclose(slow(torch.zeros(1, 512)), torch.full((1, 512), 0.01))


# --------------------------------------------------------------------------- normalisations
def test_pixel_norm_gives_unit_mean_square_over_channels_at_every_pixel() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 16, 5, 5) * torch.rand(4, 1, 5, 5) * 10  # a different scale per pixel
    y = pixel_norm(x)
    assert torch.allclose(y.pow(2).mean(dim=1), torch.ones(4, 5, 5), atol=1e-5)
    z = torch.randn(8, 128) * 7  # on latents: over the latent dims
    assert torch.allclose(pixel_norm(z).pow(2).mean(dim=1), torch.ones(8), atol=1e-5)


def test_instance_norm_centres_and_scales_each_feature_map() -> None:
    torch.manual_seed(0)
    y = instance_norm(torch.randn(3, 4, 8, 8) * 5 + 2)
    assert torch.allclose(y.mean(dim=(2, 3)), torch.zeros(3, 4), atol=1e-5)
    assert torch.allclose(y.pow(2).mean(dim=(2, 3)), torch.ones(3, 4), atol=1e-4)


def test_minibatch_stddev_appends_the_group_std_as_one_feature_map() -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 3, 4, 4)
    y = MinibatchStdDev(4)(x)
    assert y.shape == (8, 4, 4, 4) and torch.equal(y[:, :3], x)
    # groups of 4 taken as [4, N/4, ...]: sample i is in group i mod 2
    for group in (0, 1):
        members = x[group::2]
        expected = torch.sqrt(members.var(dim=0, unbiased=False) + 1e-8).mean()
        assert torch.allclose(y[group::2, 3], expected.expand(4, 4, 4), atol=1e-6)
    same = MinibatchStdDev(4)(x[:1].expand(4, -1, -1, -1))
    assert same[:, 3].max().item() < 1e-3  # identical samples: no spread


def test_minibatch_stddev_refuses_a_batch_its_groups_do_not_divide() -> None:
    with pytest.raises(ValueError, match="groups"):
        MinibatchStdDev(4)(torch.randn(6, 2, 4, 4))
    assert MinibatchStdDev(4)(torch.randn(2, 2, 4, 4)).shape == (2, 3, 4, 4)  # group = batch


# --------------------------------------------------------------------------- resampling
def test_nearest_upsample_and_average_pool_downsample() -> None:
    x = torch.arange(4.0).view(1, 1, 2, 2)
    up = upsample2x(x)
    assert torch.equal(up[0, 0], torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3.0]]))
    assert torch.equal(downsample2x(up), x)
    assert torch.equal(downsample2x(x), torch.full((1, 1, 1, 1), 1.5))
    big = torch.randn(2, 1, 16, 16)
    assert torch.allclose(resize_to(big, 4), downsample2x(downsample2x(big)), atol=1e-6)
    assert torch.equal(resize_to(x, 8), upsample2x(upsample2x(x)))
    assert resize_to(x, 2) is x  # already at the resolution: no resampling, no copy


def test_blur_is_the_normalised_121_filter() -> None:
    impulse = torch.zeros(1, 2, 5, 5)
    impulse[:, :, 2, 2] = 1.0
    response = Blur()(impulse)[0, 0, 1:4, 1:4]
    k = torch.tensor([1.0, 2.0, 1.0])
    assert torch.allclose(response, k[:, None] * k[None, :] / 16)
    flat = torch.full((1, 3, 6, 6), 0.7)
    assert torch.allclose(Blur()(flat)[:, :, 1:-1, 1:-1], flat[:, :, 1:-1, 1:-1])  # gain 1
    assert "kernel" not in Blur().state_dict()  # a constant, not part of any checkpoint


# --------------------------------------------------------------------------- growth
def test_schedule_stable_then_fade_and_stable_per_resolution_in_images() -> None:
    s = GrowthSchedule(4, 32, stable_images=100, fade_images=50)
    assert s.stages == 4 and [s.resolution(k) for k in range(4)] == [4, 8, 16, 32]
    assert s.at(0) == s.at(99) == GrowthPosition(0, 0, 1.0)
    assert s.at(100) == GrowthPosition(1, 1, 0.0)          # 8x8 appears with alpha 0
    assert s.at(125) == GrowthPosition(1, 1, 0.5)          # linear in images
    assert s.at(150) == GrowthPosition(2, 1, 1.0)          # stable 8x8
    assert s.at(250) == GrowthPosition(3, 2, 0.0)
    assert s.at(400) == GrowthPosition(5, 3, 0.0)
    assert s.at(450) == s.at(10 ** 9) == GrowthPosition(6, 3, 1.0)  # the last stable phase lasts
    assert s.boundaries() == [100, 150, 250, 300, 400, 450]
    assert GrowthSchedule(8, 32, 100, 50).at(100) == GrowthPosition(1, 1, 0.0)  # StyleGAN from 8x8


def test_schedule_refuses_resolutions_it_cannot_grow_between() -> None:
    for first, final in [(4, 24), (2, 32), (16, 8)]:
        with pytest.raises(ValueError):
            GrowthSchedule(first, final, 10, 10)


def test_fade_is_the_old_path_at_zero_and_the_new_at_one() -> None:
    old, new = torch.randn(3, 4), torch.randn(3, 4)
    assert torch.equal(fade(old, new, 0.0), old) and torch.equal(fade(old, new, 1.0), new)
    assert torch.allclose(fade(old, new, 0.25), 0.75 * old + 0.25 * new)


def test_real_images_fade_toward_a_box_filtered_upsampled_copy() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 1, 32, 32)
    at16 = F.avg_pool2d(x, 2)
    coarse = upsample2x(F.avg_pool2d(x, 4))
    assert torch.allclose(blend_reals(x, 16, 1.0), at16, atol=1e-6)
    assert torch.allclose(blend_reals(x, 16, 0.0), coarse, atol=1e-6)
    assert torch.allclose(blend_reals(x, 16, 0.3), 0.7 * coarse + 0.3 * at16, atol=1e-6)


def test_growth_state_travels_in_the_state_dict() -> None:
    state = GrowthState()
    state.set(2, 0.375)
    other = GrowthState()
    other.load_state_dict(state.state_dict())
    assert other.get() == (2, 0.375)
    with pytest.raises(ValueError):
        state.set(0, 0.5)


# --------------------------------------------------------------------------- StyleGAN's loss terms
def test_r1_is_half_gamma_times_the_squared_gradient_norm_on_reals() -> None:
    critic = nn.Linear(12, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.full((1, 12), 0.5))  # ||w||^2 = 3
    reals = torch.randn(5, 12).requires_grad_(True)
    penalty = r1_penalty(critic(reals).view(-1), reals, gamma=10.0)
    assert penalty.item() == pytest.approx(10.0 * 0.5 * 3.0)
    penalty.backward()  # double backprop: d/dw 5 ||w||^2 = 10 w
    assert torch.allclose(critic.weight.grad, 10 * critic.weight)


def test_logistic_loss_is_the_sum_of_both_softplus_terms() -> None:
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    expected = F.softplus(fake).mean() + F.softplus(-real).mean()
    assert torch.equal(logistic_discriminator_loss(real, fake), expected)


def test_a_two_resolution_schedule_fades_once_and_a_schedule_without_phases_starts_at_the_top() -> None:
    two = GrowthSchedule(4, 8, stable_images=100, fade_images=50)
    assert two.stages == 2
    assert two.at(99) == GrowthPosition(0, 0, 1.0)
    assert two.at(120) == GrowthPosition(1, 1, 0.4)
    assert two.at(150) == GrowthPosition(2, 1, 1.0) == two.at(10_000)
    flat = GrowthSchedule(4, 16, stable_images=0, fade_images=0)
    assert flat.at(0) == GrowthPosition(4, 2, 1.0) and flat.at(500) == GrowthPosition(4, 2, 1.0)
    assert GrowthSchedule(8, 8, 10, 10).at(1000) == GrowthPosition(0, 0, 1.0)


# --------------------------------------------------------------------------- edge cases
def test_minibatch_stddev_groups_samples_by_index_mod_the_number_of_groups() -> None:
    """Group 4 is the papers' default; with 8 samples, samples i and i + 2, i + 4, i + 6 share a
    group (the official reshape), each getting its own group's statistic."""
    assert MinibatchStdDev().group_size == 4
    torch.manual_seed(0)
    x = torch.randn(8, 3, 2, 2)
    out = MinibatchStdDev(4)(x)[:, -1]
    for g in range(2):
        members = x[g::2]
        expected = torch.sqrt(members.var(dim=0, unbiased=False) + 1e-8).mean()
        assert torch.allclose(out[g::2], expected.expand(4, 2, 2), atol=1e-6)
    assert not torch.allclose(out[0], out[1])


def test_the_normalisations_of_an_all_zero_input_stay_finite_zeros() -> None:
    zeros = torch.zeros(2, 3, 4, 4)
    assert torch.equal(pixel_norm(zeros), zeros) and torch.equal(instance_norm(zeros), zeros)


def test_growth_state_holds_an_integer_level_and_lets_4x4_stand_alone() -> None:
    state = GrowthState()
    assert state.level.dtype == torch.long and state.get() == (0, 1.0)
    state.set(0, 1.0)  # the 4x4 block alone, fully in
    state.set(2, 0.25)
    assert state.get() == (2, 0.25)
    with pytest.raises(ValueError, match="nothing to fade in from"):
        state.set(0, 0.5)


def test_reals_at_alpha_1_are_only_resized() -> None:
    x = torch.randn(2, 1, 8, 8)
    same = blend_reals(x, 8, 1.0)
    assert same is x
    assert torch.equal(blend_reals(x, 4, 1.0), resize_to(x, 4))


def test_a_schedule_ends_at_the_final_resolution_from_the_last_boundary_on() -> None:
    schedule = GrowthSchedule(8, 32, stable_images=100, fade_images=50)  # 3 stages
    end = 100 + 2 * 150  # stable 8, fade+stable 16, then 32 reached after its fade+stable
    last = GrowthPosition(4, 2, 1.0)
    assert schedule.at(end) == last and schedule.at(end + 1) == last and schedule.at(10**9) == last
    assert schedule.at(end - 1) == GrowthPosition(4, 2, 1.0)  # stable at 32 px already
    assert schedule.at(100 + 150 + 10) == GrowthPosition(3, 2, 10 / 50)  # fading in 32 px
    for stable, fade in ((-1, 10), (10, -1)):
        with pytest.raises(ValueError, match="phase lengths must be >= 0 images"):
            GrowthSchedule(8, 32, stable, fade)


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_equalized_convolutions_keep_the_image_size(kernel_size: int) -> None:
    """Odd kernels are padded by kernel_size // 2 on each side: the output has the input's size."""
    conv = EqualizedConv2d(2, 3, kernel_size)
    assert conv.padding == kernel_size // 2
    assert conv(torch.randn(1, 2, 8, 8)).shape == (1, 3, 8, 8)
