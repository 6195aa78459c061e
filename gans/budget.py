"""What a suite's run costs in images: the training loop's arithmetic, replayed without training.

A suite's budget is written in generator steps (`budget.steps`, `budget.model_steps`), but the
models of one suite take different numbers of real minibatches per step (a critic's n_critic,
BigGAN's D steps, WGAN's critic warm-up) and of different sizes (a growing model's minibatch per
resolution). The GPU suites share one budget in images seen, so their step counts are sized to
it; `run_images` says how many real images a run of the suite serves (what the loop counts as
`images_seen`), which the suite tests check against the shared budget and the GPU check divides
by its measured images per second.
"""

from __future__ import annotations

from typing import Any, Mapping

from gans.data import DATASETS
from gans.models import GANVariant, build_model
from gans.spec import DataSpec, Progress
from gans.suite import model_config_for, steps_for


def images_served(model: GANVariant, steps: int, batch_size: int) -> int:
    """The real images the loop serves in `steps` generator updates of `model` (as gans.train.train
    counts them: minibatches per step times the step's minibatch size)."""
    images = 0
    for step in range(steps):
        progress = Progress(step, images, steps, batch_size)
        images += model.batches_per_step(progress) * model.batch_size(progress)
    return images


def dataset_spec(dataset: str) -> DataSpec:
    """The shape a prepared split of a registered dataset has at its default resolution."""
    source = DATASETS.get(dataset)
    return DataSpec(dataset, source.channels, source.default_resolution, source.num_classes,
                    kind=source.kind)


def run_images(suite: Mapping[str, Any], model: str, dataset: str) -> int:
    """Real images one run of `model` on `dataset` serves under the suite's steps and config (the
    model is built on the CPU at the suite's widths to ask it; nothing is trained)."""
    built = build_model(model, dataset_spec(dataset), model_config_for(dict(suite), model), "cpu")
    return images_served(built, steps_for(dict(suite), model), int(suite["budget"]["batch_size"]))
