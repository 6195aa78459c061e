"""StyleGAN (v1): Karras, Laine & Aila, "A Style-Based Generator Architecture for Generative
Adversarial Networks" (2018, arXiv:1812.04948; CVPR 2019).

What makes it StyleGAN:
  * a mapping network: pixel-normalised z -> 8 fully connected layers (LeakyReLU 0.2, learning
    rate multiplier 0.01) -> the intermediate latent w;
  * a synthesis network that starts from a learned constant 4x4 input (initialised to ones);
    every layer is conv -> per-pixel noise (N(0, 1), learned per-channel scale initialised to 0)
    -> bias -> LeakyReLU -> instance norm -> style modulation x * (1 + s) + b, with (s, b) from
    a per-layer affine map of w (AdaIN); two layers per resolution; [1, 2, 1] blur after every
    upsampling conv (and before every downsampling conv in D);
  * style mixing regularisation: with probability 0.9 a minibatch takes w from a second latent
    from one crossover layer on, the crossover drawn among the active layers;
  * a tracked average w_avg (beta 0.995) and the truncation trick lerp(w_avg, w, psi) on the
    first 8 layers, at sampling time only (metrics are untruncated unless a suite asks);
  * D of ProGAN's shape with minibatch stddev (group 4); equalized learning rate everywhere;
  * non-saturating logistic loss with R1 on the reals, gamma 10, entered as
    gamma * 0.5 * ||grad D(x)||^2, every step; Adam(1e-3, beta1 0, beta2 0.99, eps 1e-8);
  * progressive growing from 8x8, as v1 trains (gans/models/growing.py), and an EMA of G for
    evaluation.
Choices: the official code updates w_avg from every training batch of w (G's and D's fakes; the
first latents, not the mixing ones), so do we; its EMA of G has a half-life of 10k images, 0.9956
per step at its 32-px minibatch of 64, our default `ema_decay`. The per-pixel noise of evaluation
samples is a fixed function of each latent (drawn from a generator seeded by the latent's bytes),
so a sample depends on its latent alone, like every other model's, and the suite's latent bank
stays the same for every model. Widths follow nf(stage) = min(fmap_base / 2^stage, fmap_max),
512 everywhere at 32 px by default. The learning rate is constant, as in the paper, unless a
suite sets `lr_rampdown`: then it falls to 0 by a half-cosine over that last share of the budget
(a short CPU budget's choice; the report flags it).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, ClassVar, Mapping, Optional, Sequence

import torch
from torch import nn

from gans.models.base import MODELS, Citation, OptimizerFactory
from gans.models.growing import GrowingGAN, level_of
from gans.models.progan import ProGANDiscriminator, adam, feature_widths, lrelu
from gans.nn.equalized import EqualizedConv2d, EqualizedLinear
from gans.nn.growth import GrowthState, fade
from gans.nn.losses import logistic_discriminator_loss, non_saturating_generator_loss
from gans.nn.normalization import instance_norm, pixel_norm
from gans.nn.penalties import r1_penalty
from gans.nn.resample import Blur, resize_to, upsample2x
from gans.spec import Batch, DataSpec, Progress


class MappingNetwork(nn.Module):
    """z -> pixel norm -> `layers` equalized dense layers with LeakyReLU, each at `lr_mul`."""

    def __init__(self, z_dim: int, w_dim: int, width: int, layers: int, lr_mul: float) -> None:
        super().__init__()
        dims = [z_dim] + [width] * (layers - 1) + [w_dim]
        self.layers = nn.ModuleList(EqualizedLinear(a, b, lr_mul=lr_mul) for a, b in zip(dims, dims[1:]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = pixel_norm(z)
        for layer in self.layers:
            x = lrelu(layer(x))
        return x


class StyleLayer(nn.Module):
    """What follows every conv: noise, bias, LeakyReLU, instance norm, style from w (AdaIN)."""

    def __init__(self, channels: int, w_dim: int) -> None:
        super().__init__()
        self.noise_strength = nn.Parameter(torch.zeros(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.affine = EqualizedLinear(w_dim, 2 * channels, gain=1.0)  # w -> (s, b) per channel

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        x = x + noise * self.noise_strength.view(1, -1, 1, 1)
        x = lrelu(x + self.bias.view(1, -1, 1, 1))
        x = instance_norm(x)
        scale, shift = self.affine(w).view(len(w), 2, -1, 1, 1).unbind(1)
        return x * (1 + scale) + shift


class SynthesisBlock(nn.Module):
    """One resolution, two style layers: the learned constant (4x4) or upsample-conv-blur, then
    a style layer, a 3x3 conv and another style layer."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, first: bool) -> None:
        super().__init__()
        if first:
            self.const = nn.Parameter(torch.ones(1, out_channels, 4, 4))
        else:
            self.up_conv = EqualizedConv2d(in_channels, out_channels, 3, bias=False)
            self.blur = Blur()
        self.first = first
        self.style0 = StyleLayer(out_channels, w_dim)
        self.conv = EqualizedConv2d(out_channels, out_channels, 3, bias=False)
        self.style1 = StyleLayer(out_channels, w_dim)

    def forward(self, x: Optional[torch.Tensor], ws: torch.Tensor,
                noise: Sequence[torch.Tensor]) -> torch.Tensor:
        """ws: [N, 2, w_dim], this block's two styles; noise: its two noise maps."""
        if self.first:
            x = self.const.expand(len(ws), -1, -1, -1)
        else:
            x = self.blur(self.up_conv(upsample2x(x)))
        x = self.style0(x, ws[:, 0], noise[0])
        return self.style1(self.conv(x), ws[:, 1], noise[1])


class SynthesisNetwork(nn.Module):
    """Styles per layer -> image at `level`, the top level faded in over the previous one."""

    def __init__(self, w_dim: int, channels: int, resolution: int, nf: list[int]) -> None:
        super().__init__()
        levels = level_of(resolution) + 1
        self.blocks = nn.ModuleList(SynthesisBlock(nf[level], nf[level + 1], w_dim, level == 0)
                                    for level in range(levels))
        self.to_rgb = nn.ModuleList(EqualizedConv2d(nf[level + 1], channels, 1, gain=1.0)
                                    for level in range(levels))
        self.num_layers = 2 * levels

    @staticmethod
    def layer_resolution(layer: int) -> int:
        return 4 * 2 ** (layer // 2)

    def forward(self, ws: torch.Tensor, level: int, alpha: float,
                noise: Optional[Sequence[torch.Tensor]] = None) -> torch.Tensor:
        """ws: [N, num_layers, w_dim]. noise: one [N, 1, H, W] map per layer (at least the active
        ones); None draws fresh N(0, 1) noise from the global RNG, as in training."""
        if noise is None:
            noise = [torch.randn(len(ws), 1, r, r, device=ws.device, dtype=ws.dtype)
                     for r in map(self.layer_resolution, range(2 * level + 2))]
        x, previous = None, None
        for b in range(level + 1):
            previous = x
            x = self.blocks[b](x, ws[:, 2 * b:2 * b + 2], noise[2 * b:2 * b + 2])
        image = self.to_rgb[level](x)
        if alpha < 1.0:
            image = fade(upsample2x(self.to_rgb[level - 1](previous)), image, alpha)
        return image


class StyleGenerator(nn.Module):
    """Mapping network, synthesis network, the tracked w_avg and the growth state."""

    def __init__(self, spec: DataSpec, c: Mapping[str, Any]) -> None:
        super().__init__()
        nf = feature_widths(spec.resolution, c["fmap_base"], c["fmap_max"])
        self.growth = GrowthState()
        self.mapping = MappingNetwork(c["z_dim"], c["w_dim"], c["mapping_width"],
                                      c["mapping_layers"], c["mapping_lr_mul"])
        self.synthesis = SynthesisNetwork(c["w_dim"], spec.channels, spec.resolution, nf)
        self.register_buffer("w_avg", torch.zeros(c["w_dim"]))

    @property
    def num_layers(self) -> int:
        return self.synthesis.num_layers

    def active_layers(self) -> int:
        """Style layers in use at the current level (a fading-in block counts)."""
        return 2 * (self.growth.get()[0] + 1)

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """One w per layer: [N, w_dim] -> [N, num_layers, w_dim]."""
        return w.unsqueeze(1).expand(-1, self.num_layers, -1)

    @torch.no_grad()
    def track_w_avg(self, w: torch.Tensor, beta: float) -> None:
        """w_avg <- lerp(mean of the batch's w, w_avg, beta)."""
        self.w_avg.copy_(torch.lerp(w.mean(0), self.w_avg, beta))

    def truncate(self, ws: torch.Tensor, psi: float, cutoff: int) -> torch.Tensor:
        """lerp(w_avg, w, psi) on the layers before `cutoff`, the rest unchanged."""
        first = torch.arange(self.num_layers, device=ws.device).view(1, -1, 1) < cutoff
        return torch.where(first, torch.lerp(self.w_avg.expand_as(ws), ws, psi), ws)

    def synthesize(self, ws: torch.Tensor, noise: Optional[Sequence[torch.Tensor]] = None) -> torch.Tensor:
        level, alpha = self.growth.get()
        return self.synthesis(ws, level, alpha, noise)

    def forward(self, z: torch.Tensor, psi: Optional[float] = None, cutoff: int = 0,
                noise: Optional[Sequence[torch.Tensor]] = None) -> torch.Tensor:
        """Images for z: one w for every layer, truncated by psi when given."""
        ws = self.broadcast(self.mapping(z))
        if psi is not None:
            ws = self.truncate(ws, psi, cutoff)
        return self.synthesize(ws, noise)


def latent_noise(z: torch.Tensor, resolutions: Sequence[int]) -> list[torch.Tensor]:
    """Evaluation noise maps (one per layer, [N, 1, r, r]) that depend on each latent alone: a
    generator seeded by the bytes of z_i draws sample i's maps."""
    rows = []
    for row in z.detach().to("cpu", torch.float32):
        seed = int.from_bytes(hashlib.sha256(row.numpy().tobytes()).digest()[:8], "little") >> 1
        g = torch.Generator().manual_seed(seed)
        rows.append([torch.randn(1, 1, r, r, generator=g) for r in resolutions])
    return [torch.cat(maps).to(z.device) for maps in zip(*rows)]


def stylegan_networks(spec: DataSpec, c: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    nf = feature_widths(spec.resolution, c["fmap_base"], c["fmap_max"])
    return StyleGenerator(spec, c), ProGANDiscriminator(spec.channels, spec.resolution, nf, blur=True)


@MODELS.register("stylegan")
class StyleGAN(GrowingGAN):
    """A style-based generator (mapping network, constant input, AdaIN, noise, style mixing,
    truncation) against a ProGAN-style D, by the logistic loss with R1, grown from 8x8."""

    citation = Citation("Karras, Laine & Aila", 2019, "1812.04948")
    defaults = {
        "z_dim": 512, "w_dim": 512, "mapping_width": 512, "mapping_layers": 8,
        "mapping_lr_mul": 0.01, "fmap_base": 8192, "fmap_max": 512,
        "first_resolution": 8, "stable_images": 600_000, "fade_images": 600_000, "batch_sizes": [],
        "lr": 1e-3, "beta1": 0.0, "beta2": 0.99, "adam_eps": 1e-8,
        "r1_gamma": 10.0, "style_mixing_prob": 0.9, "w_avg_beta": 0.995, "truncation_cutoff": 8,
        "ema_decay": 0.9956, "ema_start": 0, "lr_rampdown": 0.0,
    }
    network_builders = {"image": stylegan_networks}
    supports_truncation = True
    protocol_notes: ClassVar[str] = (
        "Progressive growing from 8x8 as in v1; w_avg tracked on every training batch of w; "
        "EMA decay 0.9956 (half-life 10k images at minibatch 64); evaluation noise maps fixed "
        "per latent; optimizer state reset at every phase change; evaluation images clipped to "
        "[-1, 1] and nearest-upsampled to 32 px when a run ends below it.")

    @classmethod
    def deviations(cls, config: Mapping[str, Any]) -> list[str]:
        """The paper keeps lr constant; a short CPU budget may let it fall at the end."""
        share = config["lr_rampdown"]
        return ([f"lr ramped down to 0 over the last {share:.0%} of the budget (half-cosine; "
                 f"the paper keeps it constant)"] if share > 0 else [])

    @property
    def uses_budget(self) -> bool:  # type: ignore[override]
        """A ramp-down reads the budget, so a run with one never resumes another budget's."""
        return self.config["lr_rampdown"] > 0

    def optimizer(self, network: str) -> OptimizerFactory:
        return adam(self.config)

    def learning_rate(self, progress: Progress) -> float:
        """`lr`, constant as in the paper, or, with `lr_rampdown` > 0, falling to 0 by a
        half-cosine over that last share of the budget (a short run's last steps settle instead
        of ending mid-oscillation)."""
        share = self.config["lr_rampdown"]
        if share <= 0:
            return self.config["lr"]
        left = min(1.0, (1.0 - progress.fraction) / share)
        return self.config["lr"] * (0.5 - 0.5 * math.cos(math.pi * left))

    # ----------------------------------------------------------------- training
    def training_styles(self, n: int) -> torch.Tensor:
        """[n, layers, w_dim] styles of a training minibatch: w from fresh z (tracked into
        w_avg, as the official code tracks the first latents only); with probability p, w of a
        second z from one crossover among the active layers."""
        G, c = self.G, self.config
        w = G.mapping(self.draw_latent(n))
        G.track_w_avg(w, c["w_avg_beta"])
        ws = G.broadcast(w)
        if torch.rand(()) < c["style_mixing_prob"]:
            crossover = int(torch.randint(1, G.active_layers(), ()))
            w2 = G.mapping(self.draw_latent(n))
            first = torch.arange(G.num_layers, device=w.device).view(1, -1, 1) < crossover
            ws = torch.where(first, ws, G.broadcast(w2))
        return ws

    def fake_images(self, n: int) -> torch.Tensor:
        """G's training images: mixed styles and fresh per-pixel noise."""
        return self.G.synthesize(self.training_styles(n))

    def train_step(self, batch: Batch, progress: Progress) -> dict[str, float]:
        """One D step (logistic loss + R1 on the reals), then one G step (non-saturating)."""
        self.grow_to(progress)
        lr = self.learning_rate(progress)
        self.set_learning_rate(lr)
        self.G.train()
        self.D.train()
        reals = self.real_images(batch.x).detach().requires_grad_(True)
        n = len(reals)

        with torch.no_grad():
            fake = self.fake_images(n)
        self.opt_D.zero_grad(set_to_none=True)
        real_scores = self.D(reals)
        loss = logistic_discriminator_loss(real_scores, self.D(fake))
        r1 = r1_penalty(real_scores, reals, self.config["r1_gamma"])
        (loss + r1).backward()
        self.opt_D.step()

        self.D.requires_grad_(False)  # the G step needs no D gradients
        self.opt_G.zero_grad(set_to_none=True)
        loss_G = non_saturating_generator_loss(self.D(self.fake_images(n)))
        loss_G.backward()
        self.opt_G.step()
        self.D.requires_grad_(True)
        return {"loss_D": (loss + r1).item(), "r1_penalty": r1.item(), "loss_G": loss_G.item(),
                "lr": lr, **self.growth_logs()}

    # ----------------------------------------------------------------- evaluation
    def noise_for(self, G: StyleGenerator, z: torch.Tensor) -> list[torch.Tensor]:
        return latent_noise(z, [G.synthesis.layer_resolution(i) for i in range(G.num_layers)])

    def synthesize(self, G: nn.Module, z: torch.Tensor, truncation: Optional[float]) -> torch.Tensor:
        """Untruncated unless `truncation` (psi) is given; noise fixed per latent."""
        return G(z, truncation, self.config["truncation_cutoff"], self.noise_for(G, z))

    def mix_styles(self, z_coarse: torch.Tensor, z_fine: torch.Tensor,
                   coarse_up_to: int = 8) -> torch.Tensor:
        """Style mixing at evaluation (the paper's Figure 3): images [N, M, C, H, W] taking the
        styles of the layers up to `coarse_up_to` pixels from z_coarse[m] and the rest (and the
        noise) from z_fine[n]; evaluation network, untruncated, in [-1, 1] at the data size."""
        G = self.evaluation_network("G")
        G.eval()
        with torch.no_grad():
            z_coarse, z_fine = z_coarse.to(self.device), z_fine.to(self.device)
            coarse, fine = G.broadcast(G.mapping(z_coarse)), G.broadcast(G.mapping(z_fine))
            n, m = len(z_fine), len(z_coarse)
            crossover = 2 * (level_of(coarse_up_to) + 1)
            first = torch.arange(G.num_layers, device=self.device).view(1, 1, -1, 1) < crossover
            ws = torch.where(first, coarse.unsqueeze(0), fine.unsqueeze(1)).flatten(0, 1)
            noise = [maps.repeat_interleave(m, 0) for maps in self.noise_for(G, z_fine)]
            images = resize_to(G.synthesize(ws, noise), self.spec.resolution).clamp(-1, 1)
        return images.view(n, m, *images.shape[1:]).float().cpu()
