"""What a model is told about its data: shape, classes and the kind of task it trains on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

TASKS = ("unconditional", "conditional", "two-domain")
DATA_KINDS = ("image", "points")


@dataclass(frozen=True)
class DataSpec:
    """Everything a variant needs to size its networks; it never sees files.

    `kind` is "image" (channels x resolution x resolution, values in [-1, 1]) or "points"
    (vectors of `channels` coordinates, resolution 0). `task` is what the variant trains on:
    unconditional images, images with labels, or two unpaired domains.
    """

    dataset: str
    channels: int
    resolution: int
    num_classes: int
    task: str = "unconditional"
    kind: str = "image"

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
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
