"""The image pool of Shrivastava et al. (2017), as CycleGAN uses it: a history of generated images.

The discriminator is updated on fakes drawn partly from this history instead of only the newest
generator's, which damps oscillation. Until the pool holds `size` images every fake is stored and
returned as it is; after that each fake, with probability 0.5, is swapped for a random stored one
(the stored one is returned, the new one takes its place), else returned as it is. The draws come
from torch's global RNG, so a seeded run is reproducible, and the stored images are part of the
training state (`state_dict`).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch


class ImagePool:
    """A buffer of up to `size` past fakes; `query` returns a batch mixed from it and the new fakes."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"the pool size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        """The batch the discriminator sees in place of `fakes` (detached, same shape)."""
        fakes = fakes.detach()
        if self.size == 0:
            return fakes
        returned = []
        for image in fakes:
            if len(self.images) < self.size:
                self.images.append(image.clone())
                returned.append(image)
            elif torch.rand(()).item() < 0.5:
                slot = int(torch.randint(self.size, ()).item())
                returned.append(self.images[slot])
                self.images[slot] = image.clone()
            else:
                returned.append(image)
        return torch.stack(returned)

    def state_dict(self) -> dict[str, Any]:
        return {"size": self.size, "images": [image.cpu() for image in self.images]}

    def load_state_dict(self, state: Mapping[str, Any], device: torch.device | str = "cpu") -> None:
        if state["size"] != self.size:
            raise ValueError(f"a pool of {state['size']} cannot be loaded into one of {self.size}")
        self.images = [image.to(device) for image in state["images"]]
