"""Progressive growing (ProGAN; StyleGAN v1 from 8x8): the schedule in images shown, the fade-in
blend, the real images shown at the current resolution, and the growth state networks carry.

The schedule is that of the official code: a stable phase at the first resolution, then for
every next resolution a fade-in phase (alpha rising linearly from 0 to 1 in images shown) and a
stable phase (alpha = 1); the last stable phase lasts until the run ends.

Every block exists from the start, as in the official code (which selects layers with its `lod`
variable): a network computes only the blocks up to its current stage, blending the new block
with the previous resolution's path by alpha. The stage and alpha are buffers of each network
(`GrowthState`), so they travel with its weights into checkpoints and final.pt, and the EMA
copy of G, whose buffers follow G's after every step, always samples at G's resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gans.nn.resample import downsample2x, resize_to, upsample2x


@dataclass(frozen=True)
class GrowthPosition:
    """Where a schedule stands: phase index (0 the first stable phase, then fade, stable, fade,
    ...), stage (index of the current resolution, 0 the first) and the new block's alpha."""

    phase: int
    stage: int
    alpha: float

    @property
    def fading(self) -> bool:
        return self.alpha < 1.0


@dataclass(frozen=True)
class GrowthSchedule:
    """Resolutions first_resolution, 2x, ..., final_resolution; phases counted in images."""

    first_resolution: int
    final_resolution: int
    stable_images: int
    fade_images: int

    def __post_init__(self) -> None:
        ratio = self.final_resolution // self.first_resolution
        if self.first_resolution < 4 or ratio < 1 or ratio & (ratio - 1) or \
                self.first_resolution * ratio != self.final_resolution:
            raise ValueError(f"growth from {self.first_resolution} to {self.final_resolution}: "
                             "both must be powers of two, 4 <= first <= final")
        if self.stable_images < 0 or self.fade_images < 0:
            raise ValueError("phase lengths must be >= 0 images")

    @property
    def stages(self) -> int:
        return (self.final_resolution // self.first_resolution).bit_length()

    def resolution(self, stage: int) -> int:
        return self.first_resolution * 2 ** stage

    def at(self, images: int) -> GrowthPosition:
        """The position after `images` images have been shown."""
        if images < self.stable_images or self.stages == 1:
            return GrowthPosition(0, 0, 1.0)
        per_stage = self.fade_images + self.stable_images
        if per_stage == 0:  # no phases at all: straight to the final resolution
            return GrowthPosition(2 * (self.stages - 1), self.stages - 1, 1.0)
        stage, into = divmod(images - self.stable_images, per_stage)
        stage += 1
        if stage >= self.stages:
            return GrowthPosition(2 * (self.stages - 1), self.stages - 1, 1.0)
        if into < self.fade_images:
            return GrowthPosition(2 * stage - 1, stage, into / self.fade_images)
        return GrowthPosition(2 * stage, stage, 1.0)

    def boundaries(self) -> list[int]:
        """Images shown at the start of every phase after the first."""
        starts, images = [], self.stable_images
        for _ in range(1, self.stages):
            starts += [images, images + self.fade_images]
            images += self.fade_images + self.stable_images
        return starts


def fade(old: torch.Tensor, new: torch.Tensor, alpha: torch.Tensor | float) -> torch.Tensor:
    """old + alpha * (new - old): the old path alone at alpha = 0, the new block alone at 1."""
    return torch.lerp(old, new, alpha)


def blend_reals(x: torch.Tensor, resolution: int, alpha: float) -> torch.Tensor:
    """Real images as D sees them at `resolution` during a fade-in: box-filtered down to that
    resolution, then blended by alpha with a copy 2x2-box-filtered once more and upsampled back
    (so at alpha = 0 they carry the previous resolution's detail only, like G's output)."""
    x = resize_to(x, resolution)
    if alpha >= 1.0:
        return x
    return fade(upsample2x(downsample2x(x)), x, alpha)


class GrowthState(nn.Module):
    """A growing network's `level` (index of its top active block, 0 for 4x4) and the alpha of
    that block, as buffers: read by the network's forward, set by the variant each step."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("level", torch.zeros((), dtype=torch.long))
        self.register_buffer("alpha", torch.ones(()))

    def set(self, level: int, alpha: float) -> None:
        if level == 0 and alpha < 1.0:
            raise ValueError("the 4x4 block has nothing to fade in from")
        self.level.fill_(level)
        self.alpha.fill_(alpha)

    def get(self) -> tuple[int, float]:
        """(level, alpha), alpha as the float32 the buffer holds."""
        return int(self.level), float(self.alpha)
