"""TensorBoard event files of a training job, for watching a long run while it trains.

Under the run folder's `tensorboard/`: after every step the loss log's values (`train/<column>`)
and images per second so far (`speed/images_per_s`), and every `every` steps and at the last one
an 8x8 grid of the evaluation network's samples (`samples`) from the suite's fixed latent bank:
the latents the `sample` rule's grid starts with, so the last grid is that grid. Models that
translate held-out images (no latents) and toy 2-D data get no grid. `tensorboard --logdir
results/<suite>/runs` shows every run of a suite. The CSV loss log stays the report's source.

Nothing here touches the training state: the grid's latents come from a generator of their
own, no gradients are taken, and every network is put back in the mode it was in, so a run
with this log is bit-identical to one without (tested). A resumed run hides what the killed one
logged after its checkpoint (TensorBoard's purge step); a run that starts afresh deletes the
event files of an earlier one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional

import torch

from gans.models import GANVariant
from gans.quantize import quantize_to_uint8
from gans.sampling import latent_bank_seed, sample_grid
from gans.tasks import TASKS

TENSORBOARD_DIR = "tensorboard"  # inside the run folder
GRID_SAMPLES = 64
EVENT_FILES = "events.out.tfevents.*"


def tensorboard_dir(run_dir: Path | str) -> Path:
    return Path(run_dir) / TENSORBOARD_DIR


class TensorBoardLog:
    """One run's event files: scalars every step, a sample grid every `every` steps."""

    def __init__(self, run_dir: Path | str, every: int, suite: str, seed: int, resumed_step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter  # imports tensorboard: only when asked

        if every < 1:
            raise ValueError(f"the sample grid's interval must be >= 1 step, got {every}")
        log_dir = tensorboard_dir(run_dir)
        if resumed_step == 0:
            for old in log_dir.glob(EVENT_FILES):
                old.unlink()
        self.every, self.suite, self.seed = every, suite, seed
        self.writer = SummaryWriter(str(log_dir), purge_step=resumed_step + 1, flush_secs=30)

    def log(self, step: int, values: Mapping[str, float], images_per_s: float, model: GANVariant,
            last: bool) -> None:
        """The step's loss-log values and speed; the sample grid every `every` steps and at the last."""
        for name, value in values.items():
            self.writer.add_scalar(f"train/{name}", value, step)
        self.writer.add_scalar("speed/images_per_s", images_per_s, step)
        if step % self.every == 0 or last:
            grid = latent_bank_grid(model, self.suite, self.seed)
            if grid is not None:
                self.writer.add_image("samples", grid, step, dataformats="CHW")

    def close(self) -> None:
        self.writer.close()


def latent_bank_grid(model: GANVariant, suite: str, seed: int,
                     n: int = GRID_SAMPLES) -> Optional[torch.Tensor]:
    """The evaluation network's first n samples from the (suite, seed) latent bank as a uint8
    grid, the sample rule's grid for a finished run; None for a model or data without one."""
    task = TASKS.get(model.task)
    if model.spec.kind != "image" or not task.uses_latents:
        return None
    plan = task.plan(n, model.spec)
    inputs = task.draw(model, plan, n, torch.Generator().manual_seed(latent_bank_seed(suite, seed)))
    modules = [module for network in model.networks().values() for module in network.modules()]
    modes = [module.training for module in modules]
    try:
        images = model.sample(inputs)[task.primary]
    finally:
        for module, training in zip(modules, modes):
            module.training = training
    return sample_grid(quantize_to_uint8(images), plan.labels, n)
