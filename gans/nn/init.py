"""Weight initialisations named by the papers that use them."""

from __future__ import annotations

from torch import nn


def dcgan_init_(module: nn.Module, std: float = 0.02) -> None:
    """DCGAN init (also CycleGAN's): conv/linear weights ~ N(0, std), BN gains ~ N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def xavier_init_(module: nn.Module, gain: float = 2 ** 0.5, bias: float = 0.1) -> None:
    """CoGAN's init: conv / transposed-conv weights Xavier-uniform with `gain`, biases `bias`."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.constant_(m.bias, bias)
