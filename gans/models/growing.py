"""The progressive-growing training shared by ProGAN and StyleGAN v1.

Before every step the variant reads where the schedule stands from the images the loop has
shown (`progress.images_seen`), sets G's and D's level and alpha, and shows D the real images at
that resolution, blended with the same alpha (`real_images`). At every phase change (a new
resolution starts fading in, or its fade-in ends) the optimizers start afresh, as the official
code's `reset_opt_for_new_lod` does. Evaluation samples at the level G reached,
nearest-upsampled to the data resolution.

Growing never changes a network's structure: every block is built at the start and a network
computes the blocks up to its level (the official code's `lod` does the same), so a checkpoint
always has the same tensors and nothing is rebuilt on resume. The level and alpha are buffers of
G and D; the EMA copy of G, a full copy made before training, takes G's buffers after every step
(gans/nn/ema.py copies buffers), so it grows with G and averages each new block from its
initial weights on. The phase is the only state outside the networks: it travels in
`extra_state`, so a run resumed in the middle of a fade-in does not reset its optimizers again.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any, Mapping, Optional

import torch

from gans.models.base import GANVariant
from gans.nn.growth import GrowthPosition, GrowthSchedule, blend_reals
from gans.nn.resample import resize_to
from gans.spec import EvalInput, Progress


def level_of(resolution: int) -> int:
    """Index of the block that works at `resolution` (0 for 4x4)."""
    return int(math.log2(resolution)) - 2


class GrowingGAN(GANVariant):
    """A G/D pair grown from `first_resolution` to the data resolution (config keys
    first_resolution, stable_images, fade_images, batch_sizes)."""

    grown_networks = ("G", "D")

    def build(self) -> None:
        super().build()
        sizes = self.config["batch_sizes"]
        if sizes and len(sizes) != self.schedule.stages:
            raise ValueError(f"batch_sizes needs one size per resolution "
                             f"({self.schedule.stages}), got {list(sizes)}")
        self.phase = 0
        self.grow_to(Progress())  # the first resolution (before the EMA copy is made)

    @cached_property
    def schedule(self) -> GrowthSchedule:
        """The growth schedule (config and data resolution are fixed once built; kept, since the
        loop and gans.budget ask it at every step)."""
        c = self.config
        return GrowthSchedule(c["first_resolution"], self.spec.resolution,
                              c["stable_images"], c["fade_images"])

    # ----------------------------------------------------------------- growth
    def grow_to(self, progress: Progress) -> GrowthPosition:
        """Set every grown network to the schedule's position; fresh optimizers at a new phase."""
        position = self.schedule.at(progress.images_seen)
        level = level_of(self.schedule.resolution(position.stage))
        for name in self.grown_networks:
            self.nets[name].growth.set(level, position.alpha)
        if position.phase != self.phase:
            self.phase = position.phase
            self.reset_optimizers()
        return position

    def reset_optimizers(self) -> None:
        for name in self.grown_networks:
            self.set_optimizer(name, self.optimizer(name))

    @property
    def resolution(self) -> int:
        """The resolution G and D work at now."""
        return 4 * 2 ** self.G.growth.get()[0]

    def real_images(self, x: torch.Tensor) -> torch.Tensor:
        """The real minibatch at the current resolution, faded in with G's alpha."""
        return blend_reals(x, self.resolution, self.G.growth.get()[1])

    def growth_logs(self) -> dict[str, float]:
        """Logged every step: the report marks phase boundaries on the training curves."""
        return {"growth_phase": float(self.phase), "resolution": float(self.resolution),
                "alpha": self.G.growth.get()[1]}

    def batch_size(self, progress: Progress) -> int:
        """The minibatch of the current resolution (`batch_sizes`), else the suite's."""
        sizes = self.config["batch_sizes"]
        return int(sizes[self.schedule.at(progress.images_seen).stage]) if sizes else progress.batch_size

    # ----------------------------------------------------------------- evaluation
    def generate(self, inputs: EvalInput, truncation: Optional[float] = None) -> dict[str, torch.Tensor]:
        """Images at G's level, nearest-upsampled to the data resolution and clipped to [-1, 1]
        (G's output is linear, as in the paper; the official code clips when it saves images)."""
        self._refuse_truncation(truncation)
        G = self.evaluation_network("G")
        G.eval()
        images = self.synthesize(G, inputs.z, truncation)
        return {"x": resize_to(images, self.spec.resolution).clamp(-1, 1)}

    def synthesize(self, G: torch.nn.Module, z: torch.Tensor,
                   truncation: Optional[float]) -> torch.Tensor:
        """G's images for evaluation latents z (StyleGAN adds truncation and fixed noise)."""
        return G(z)

    # ----------------------------------------------------------------- state
    def extra_state(self) -> dict[str, Any]:
        return {"phase": self.phase}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.phase = int(state.get("phase", 0))
