"""ProGAN: Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved Quality,
Stability, and Variation" (2017, arXiv:1710.10196).

What makes it ProGAN:
  * progressive growing from 4x4 to the data resolution (4 -> 8 -> 16 -> 32 here): every new
    resolution gets a fade-in phase, alpha linear in images shown, then a stable phase
    (gans/models/growing.py, gans/nn/growth.py); the fade-in is applied in G
    (lerp(upsample(toRGB_prev), toRGB_new)), in D (lerp(fromRGB_prev(downsample(x)), new block))
    and to the real images (blended with a 2x2-box-filtered, upsampled copy);
  * nearest-neighbour upsampling, average-pool downsampling;
  * equalized learning rate in every layer (gans/nn/equalized.py): gain sqrt(2), 1 for toRGB,
    sqrt(2)/4 for G's first (dense) layer; biases start at 0;
  * pixelwise feature normalisation on z and after every conv of G; LeakyReLU 0.2; linear output;
  * minibatch standard deviation (group 4) before D's last 3x3 conv;
  * WGAN-GP loss, lambda 10, plus the drift term 0.001 * D(x)^2, one critic step per G step;
  * Adam(lr 1e-3, beta1 0, beta2 0.99, eps 1e-8), its state reset at every phase change;
  * an exponential moving average of G (decay 0.999) for evaluation.
Widths follow the official nf(stage) = min(fmap_base / 2^stage, fmap_max) (block at 2^r pixels
uses nf(r - 1)). Defaults are the Theano CIFAR-10 configuration's sizes (400k + 400k images per
resolution, fmap_base 4096, fmap_max 128, z of 128 dims); its gradient-penalty target of 750 is
not used: we keep the paper's target 1. Not used either: the official learning-rate ramp-up and
the per-resolution learning rates (only above 128 px). Phases are counted in the images the loop
serves, so a suite sets them with the budget; `batch_sizes` can change the minibatch per
resolution.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from gans.models.base import MODELS, Citation, OptimizerFactory
from gans.models.critic import CriticGAN
from gans.models.growing import GrowingGAN, level_of
from gans.nn.equalized import SQRT2, EqualizedConv2d, EqualizedLinear
from gans.nn.growth import GrowthState, fade
from gans.nn.losses import wasserstein_critic_loss
from gans.nn.normalization import MinibatchStdDev, pixel_norm
from gans.nn.penalties import gradient_penalty, interpolates
from gans.nn.resample import Blur, downsample2x, upsample2x
from gans.spec import Batch, DataSpec, Progress

LEAK = 0.2


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, LEAK)


def feature_widths(resolution: int, fmap_base: int, fmap_max: int) -> list[int]:
    """Channels of the block at each level 4, 8, ..., resolution: nf(level + 1), and nf(0)
    (D's dense layer) first: [nf(0), nf(1), ..., nf(levels)]."""
    return [min(fmap_base // 2 ** stage, fmap_max) for stage in range(level_of(resolution) + 2)]


class ProGANGenerator(nn.Module):
    """z -> 4x4 block -> (upsample, conv, conv) per level; one toRGB per level; the top level
    fades in over the previous one's upsampled output."""

    def __init__(self, z_dim: int, channels: int, resolution: int, nf: list[int]) -> None:
        super().__init__()
        self.growth = GrowthState()
        self.start_width = nf[1]
        self.dense = EqualizedLinear(z_dim, 16 * nf[1], gain=SQRT2 / 4)
        self.start_conv = EqualizedConv2d(nf[1], nf[1], 3)
        self.blocks = nn.ModuleList(
            nn.ModuleList([EqualizedConv2d(nf[level], nf[level + 1], 3),
                           EqualizedConv2d(nf[level + 1], nf[level + 1], 3)])
            for level in range(1, level_of(resolution) + 1))
        self.to_rgb = nn.ModuleList(EqualizedConv2d(nf[level + 1], channels, 1, gain=1.0)
                                    for level in range(level_of(resolution) + 1))

    def features(self, z: torch.Tensor, level: int) -> list[torch.Tensor]:
        """The feature maps of levels 0..level (pixel-normalised after every conv)."""
        x = self.dense(pixel_norm(z)).view(-1, self.start_width, 4, 4)
        x = pixel_norm(lrelu(x))
        x = pixel_norm(lrelu(self.start_conv(x)))
        out = [x]
        for conv1, conv2 in self.blocks[:level]:
            x = pixel_norm(lrelu(conv1(upsample2x(x))))
            x = pixel_norm(lrelu(conv2(x)))
            out.append(x)
        return out

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        level, alpha = self.growth.get()
        features = self.features(z, level)
        image = self.to_rgb[level](features[level])
        if alpha < 1.0:
            image = fade(upsample2x(self.to_rgb[level - 1](features[level - 1])), image, alpha)
        return image


class DiscriminatorBlock(nn.Module):
    """conv 3x3, conv 3x3, halve the resolution. ProGAN: LReLU after each conv, then average-
    pool. StyleGAN (`blur`): the second conv sees a [1, 2, 1]-blurred input and is average-pooled
    before its LReLU (the official conv2d_downscale2d)."""

    def __init__(self, in_channels: int, out_channels: int, blur: bool = False) -> None:
        super().__init__()
        self.conv1 = EqualizedConv2d(in_channels, in_channels, 3)
        self.conv2 = EqualizedConv2d(in_channels, out_channels, 3)
        self.blur = Blur() if blur else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = lrelu(self.conv1(x))
        if self.blur is None:
            return downsample2x(lrelu(self.conv2(x)))
        return lrelu(downsample2x(self.conv2(self.blur(x))))


class ProGANDiscriminator(nn.Module):
    """fromRGB at the top level -> blocks down to 4x4 -> minibatch stddev, conv 3x3, dense,
    dense to one score. The top block fades in over fromRGB of the 2x-downsampled input.
    StyleGAN uses it with `blur`."""

    def __init__(self, channels: int, resolution: int, nf: list[int], blur: bool = False,
                 mbstd_group: int = 4) -> None:
        super().__init__()
        self.growth = GrowthState()
        self.from_rgb = nn.ModuleList(EqualizedConv2d(channels, nf[level + 1], 1)
                                      for level in range(level_of(resolution) + 1))
        self.blocks = nn.ModuleList(DiscriminatorBlock(nf[level + 1], nf[level], blur)
                                    for level in range(1, level_of(resolution) + 1))
        self.mbstd = MinibatchStdDev(mbstd_group)
        self.final_conv = EqualizedConv2d(nf[1] + 1, nf[1], 3)
        self.dense = EqualizedLinear(16 * nf[1], nf[0])
        self.out = EqualizedLinear(nf[0], 1, gain=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level, alpha = self.growth.get()
        h = lrelu(self.from_rgb[level](x))
        if level > 0:
            h = self.blocks[level - 1](h)
            if alpha < 1.0:
                h = fade(lrelu(self.from_rgb[level - 1](downsample2x(x))), h, alpha)
        for lower in range(level - 2, -1, -1):
            h = self.blocks[lower](h)
        h = lrelu(self.final_conv(self.mbstd(h)))
        h = lrelu(self.dense(h.flatten(1)))
        return self.out(h).view(-1)


def progan_networks(spec: DataSpec, c: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    nf = feature_widths(spec.resolution, c["fmap_base"], c["fmap_max"])
    return (ProGANGenerator(c["z_dim"], spec.channels, spec.resolution, nf),
            ProGANDiscriminator(spec.channels, spec.resolution, nf))


def adam(c: Mapping[str, Any]) -> OptimizerFactory:
    return lambda params: torch.optim.Adam(params, lr=c["lr"], betas=(c["beta1"], c["beta2"]),
                                           eps=c["adam_eps"])


@MODELS.register("progan")
class ProGAN(GrowingGAN, CriticGAN):
    """Progressively grown G and D with equalized lr, pixel norm and minibatch stddev, trained by
    WGAN-GP with drift, one critic step per G step."""

    citation = Citation("Karras, Aila, Laine & Lehtinen", 2017, "1710.10196")
    defaults = {
        "z_dim": 128, "fmap_base": 4096, "fmap_max": 128,
        "first_resolution": 4, "stable_images": 400_000, "fade_images": 400_000, "batch_sizes": [],
        "lr": 1e-3, "beta1": 0.0, "beta2": 0.99, "adam_eps": 1e-8,
        "n_critic": 1, "gp_weight": 10.0, "drift_weight": 0.001,
        "ema_decay": 0.999, "ema_start": 0,
    }
    protocol_notes: ClassVar[str] = (
        "Gradient-penalty target 1 (the paper's; the Theano CIFAR-10 config used 750); no "
        "learning-rate ramp-up; optimizer state reset at every phase change (fade-in start and "
        "end) as the official code does; evaluation images clipped to [-1, 1] and nearest-"
        "upsampled to 32 px when a run ends below it.")
    critic_logs = ("loss_D", "gradient_penalty", "drift", "wasserstein_estimate")

    network_builders = {"image": progan_networks}

    def optimizer(self, network: str) -> OptimizerFactory:
        return adam(self.config)

    def train_step(self, batch: Batch, progress: Progress) -> dict[str, float]:
        """Grow to the schedule's position, show D the reals at that resolution, then one critic
        and one generator update (CriticGAN)."""
        self.grow_to(progress)
        reals = Batch(self.real_images(batch.x), batch.y)
        return {**super().train_step(reals, progress), **self.growth_logs()}

    def critic_loss(self, real: Batch, fake: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """D(x_tilde) - D(x) + lambda (||grad D(x_hat)|| - 1)^2 + eps_drift D(x)^2."""
        real_scores = self.D(real.x)
        critic_loss = wasserstein_critic_loss(real_scores, self.D(fake))
        penalty = gradient_penalty(self.D, interpolates(real.x, fake), self.config["gp_weight"])
        drift = self.config["drift_weight"] * real_scores.pow(2).mean()
        loss = critic_loss + penalty + drift
        return loss, [loss, penalty, drift, -critic_loss]
