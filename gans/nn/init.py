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


WEIGHT_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)


def xavier_init_(module: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases for every conv, linear and embedding layer (SAGAN's
    official TF code); call before spectral normalisation. Returns the module."""
    for m in module.modules():
        if isinstance(m, WEIGHT_LAYERS):
            nn.init.xavier_uniform_(m.weight)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
    return module


def cogan_init_(module: nn.Module, gain: float = 2 ** 0.5, bias: float = 0.1) -> None:
    """CoGAN's init (its official PyTorch code): conv / transposed-conv weights Xavier-uniform with
    `gain`, biases `bias`; linear layers keep PyTorch's default."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.constant_(m.bias, bias)


def orthogonal_init_(module: nn.Module) -> None:
    """Orthogonal weights (Saxe et al. 2014) and zero biases for every conv, linear and embedding
    layer (BigGAN's default G_init / D_init 'ortho'); call before spectral normalisation."""
    for m in module.modules():
        if isinstance(m, WEIGHT_LAYERS):
            nn.init.orthogonal_(m.weight)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def normal_init_(module: nn.Module, std: float = 0.02) -> None:
    """Weights ~ N(0, std) and zero biases for every conv, linear and embedding layer (BigGAN's
    'N02', the init of its official CIFAR script); call before spectral normalisation."""
    for m in module.modules():
        if isinstance(m, WEIGHT_LAYERS):
            nn.init.normal_(m.weight, 0.0, std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
