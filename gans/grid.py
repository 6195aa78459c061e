"""The one image-grid tiler: uint8 images side by side on a border, as torchvision's make_grid
draws them, without importing torchvision (about 3 s of start-up per job)."""

from __future__ import annotations

import math

import torch


def tile_images(images: torch.Tensor, nrow: int, padding: int = 2, pad_value: int = 128) -> torch.Tensor:
    """uint8 N x C x H x W images as one C x H' x W' uint8 grid, `nrow` per row."""
    n, c, h, w = images.shape
    rows = math.ceil(n / nrow)
    grid = torch.full((c, rows * (h + padding) + padding, nrow * (w + padding) + padding), pad_value,
                      dtype=torch.uint8)
    for index, image in enumerate(images):
        top = padding + (index // nrow) * (h + padding)
        left = padding + (index % nrow) * (w + padding)
        grid[:, top:top + h, left:left + w] = image
    return grid
