"""The one rule that turns generator output in [-1, 1] into uint8 pixels, used everywhere."""

from __future__ import annotations

import torch

QUANTIZATION_RULE = "uint8 = clamp(floor(x * 127.5 + 128), 0, 255)  (round half up of (x + 1) * 127.5)"


def quantize_to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Map float images in [-1, 1] to uint8 by rounding; out-of-range values are clamped."""
    return torch.floor(images.detach().float() * 127.5 + 128.0).clamp_(0, 255).to(torch.uint8)


def uint8_to_float(images: torch.Tensor) -> torch.Tensor:
    """Inverse map used for training data: uint8 pixels to float in [-1, 1]."""
    return images.float().div(127.5).sub(1.0)
