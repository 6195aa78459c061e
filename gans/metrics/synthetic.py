"""Small labelled image sets with a known structure, for the metric tests and for the speed
benchmark when no prepared data is at hand: class c is a bright bar (horizontal for the first
half of the classes, vertical for the rest, at a class-specific position) on a noisy background."""

from __future__ import annotations

from typing import Any

import torch

from gans.data import content_sha256


def pattern_images(n: int, num_classes: int = 10, resolution: int = 32, channels: int = 1,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 n x channels x resolution x resolution images and their int64 labels."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % num_classes
    labels = labels[torch.randperm(n, generator=g)]
    images = torch.randint(0, 60, (n, channels, resolution, resolution), generator=g)
    per_orientation = -(-num_classes // 2)
    spacing = resolution // (per_orientation + 1)
    jitter = torch.randint(-1, 2, (n,), generator=g)
    for i in range(n):
        c = int(labels[i])
        start = spacing * (c % per_orientation + 1) - 1 + int(jitter[i])
        if c < per_orientation:
            images[i, :, start:start + 3, :] = 230
        else:
            images[i, :, :, start:start + 3] = 230
    return images.to(torch.uint8), labels


def prepared_split(images: torch.Tensor, labels: torch.Tensor, split: str, dataset: str = "patterns",
                   num_classes: int | None = None) -> dict[str, Any]:
    """The images in the prepared-split file format (what `python -m gans prepare` writes)."""
    return {"data": images, "labels": labels,
            "num_classes": int(num_classes or int(labels.max()) + 1), "dataset": dataset,
            "split": split, "resolution": int(images.shape[-1]), "kind": "image",
            "sha256": content_sha256(images, labels)}
