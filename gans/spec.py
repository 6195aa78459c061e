"""What a model is told about its data: shape, classes and the kind of task it trains on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

DATA_KINDS = ("image", "points")


@dataclass(frozen=True)
class DataSpec:
    """Everything a variant needs to size its networks; it never sees files.

    `kind` is "image" (channels x resolution x resolution, values in [-1, 1]) or "points"
    (vectors of `channels` coordinates, resolution 0). `task` names an entry of the task registry
    (gans/tasks.py): what the variant trains on and what it is evaluated on.
    """

    dataset: str
    channels: int
    resolution: int
    num_classes: int
    task: str = "unconditional"
    kind: str = "image"

    def __post_init__(self) -> None:
        from gans.tasks import TASKS  # the task registry; imported late (it imports this module)

        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS.names())}, got {self.task!r}")
        if self.kind not in DATA_KINDS:
            raise ValueError(f"kind must be one of {DATA_KINDS}, got {self.kind!r}")

    @property
    def sample_shape(self) -> tuple[int, ...]:
        if self.kind == "points":
            return (self.channels,)
        return (self.channels, self.resolution, self.resolution)


@dataclass
class Batch:
    """One training minibatch on the training device.

    x: images in [-1, 1] (or points); y: integer labels (always present when the dataset has
    them; unconditional variants ignore them); x_b: the second, unpaired domain for two-domain tasks.
    """

    x: torch.Tensor
    y: Optional[torch.Tensor] = None
    x_b: Optional[torch.Tensor] = None

    def __len__(self) -> int:
        return self.x.shape[0]

    def chunks(self, n: int) -> list["Batch"]:
        """Split into n equal minibatches (for variants that take several per step)."""
        if len(self) % n:
            raise ValueError(f"a batch of {len(self)} does not split into {n} equal minibatches")
        size = len(self) // n

        def part(t: Optional[torch.Tensor], i: int) -> Optional[torch.Tensor]:
            return None if t is None else t[i * size:(i + 1) * size]

        return [Batch(part(self.x, i), part(self.y, i), part(self.x_b, i)) for i in range(n)]


@dataclass(frozen=True)
class Progress:
    """Where the run stands when the loop hands a variant its next step.

    The loop owns these counts: a variant reads them (schedules, growth, warm-ups) and never
    keeps its own. `step` counts generator updates already done (0 at the first step);
    `images_seen` counts the real images served so far; the budget is `total_steps` generator
    updates of the suite's `batch_size`, so `images_total` is the nominal number of images one
    minibatch per update would show (growth schedules are written in images, as in ProGAN).
    """

    step: int = 0
    images_seen: int = 0
    total_steps: int = 1
    batch_size: int = 64

    @property
    def images_total(self) -> int:
        return self.total_steps * self.batch_size

    @property
    def fraction(self) -> float:
        """Share of the budget done before this step, in [0, 1)."""
        return self.step / self.total_steps


@dataclass
class EvalInput:
    """What an evaluation generator is given: latents, labels, or held-out source images.

    Which fields are set depends on the task (gans/tasks.py): latents for unconditional and
    coupled models, latents and labels for conditional ones, source images for translation
    (`source` from domain A; `source_b` from domain B for a task that translates both ways).
    """

    z: Optional[torch.Tensor] = None
    labels: Optional[torch.Tensor] = None
    source: Optional[torch.Tensor] = None
    source_b: Optional[torch.Tensor] = None

    def __len__(self) -> int:
        for t in (self.z, self.labels, self.source, self.source_b):
            if t is not None:
                return int(t.shape[0])
        return 0

    def to(self, device: torch.device | str) -> "EvalInput":
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return EvalInput(move(self.z), move(self.labels), move(self.source), move(self.source_b))

    def part(self, start: int, stop: int) -> "EvalInput":
        cut = lambda t: None if t is None else t[start:stop]  # noqa: E731
        return EvalInput(cut(self.z), cut(self.labels), cut(self.source), cut(self.source_b))
