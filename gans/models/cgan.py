"""CGAN: Mirza & Osindero, "Conditional Generative Adversarial Nets" (2014, arXiv:1411.1784).

What makes it CGAN: the one-hot label y is an input of BOTH networks,
G(z, y) and D(x, y), trained with the GAN losses (BCE, non-saturating G loss, k = 1, alternating;
this class extends `GAN`). The fakes of a training step are generated for the labels of that
step's real minibatch, so D sees real and fake pairs with the same class mix.

Two backbones (`backbone`):
  * "conv" (default), the conditional DCGAN of the official DCGAN code
    (Newmu/dcgan_code, mnist/train_cond_dcgan.py), y concatenated at EVERY layer:
      G: [z, y] -> FC gfc, BN, ReLU -> [., y] -> FC 2ngf x 8 x 8, BN, ReLU -> [., y maps]
         -> ConvT to ngf x 16 x 16, BN, ReLU -> [., y maps] -> ConvT to C x 32 x 32, sigmoid;
      D: [x, y maps] -> conv ndf, LReLU(0.2) -> [., y maps] -> conv 2ndf, BN, LReLU
         -> [flatten, y] -> FC dfc, BN, LReLU -> [., y] -> one logit;
    Adam(2e-4, beta1 0.5), N(0, 0.02) init, z ~ U[-1, 1] (100-d).
  * "mlp", the paper's MNIST model: G: z -> 200 ReLU and y -> 1000 ReLU, joined -> 1200 ReLU
    -> sigmoid pixels; D: x -> maxout 240x5 and y -> maxout 50x5, joined -> maxout 240x4 -> logit;
    dropout 0.5 after every hidden layer of G and D (gans.nn.dropout: the same masks on every
    CPU vendor); SGD lr 0.1 divided by 1.00004 per update
    (floor 1e-6), momentum 0.5 rising to 0.7.

Choices (also in `CGAN.protocol_notes`): the conv backbone is the default because, measured here
on Fashion-MNIST, the paper's MLP did not learn the conditioning within 1000 updates (generated
images classified as their label at chance, 7-13%, with SGD or Adam). The code's 28 px layout
(7 -> 14 -> 28, 5x5 kernels) becomes 8 -> 16 -> 32 with 4x4 kernels, as in our DCGAN; its L2
weight decay is left out. G's sigmoid output s is mapped to 2s - 1 for [-1, 1] images.
"""

from __future__ import annotations

import math
from typing import Any, Callable, ClassVar, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn

from gans.models.base import MODELS, Citation
from gans.models.gan import D_IRANGE, G_IRANGE, GAN
from gans.nn.init import dcgan_init_
from gans.nn.dropout import PortableDropout
from gans.nn.mlp import Maxout, uniform_init_
from gans.spec import Batch, DataSpec


def one_hot(labels: torch.Tensor, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    return F.one_hot(labels, num_classes).to(like.dtype)


def with_label_maps(h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """dcgan_code's conv_cond_concat: append y as constant feature maps to h (N x C x H x W)."""
    maps = y[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
    return torch.cat([h, maps], dim=1)


# --------------------------------------------------------------------------- conv backbone
class ConvConditionalGenerator(nn.Module):
    """G(z, y) of the conditional DCGAN code: two FC layers, two transposed convs, y at each."""

    def __init__(self, z_dim: int, num_classes: int, channels: int, resolution: int,
                 ngf: int, gfc: int) -> None:
        super().__init__()
        if resolution % 4:
            raise ValueError(f"the conv CGAN needs a resolution divisible by 4, got {resolution}")
        self.num_classes, self.ngf, self.base = num_classes, ngf, resolution // 4
        k = num_classes
        self.fc1 = nn.Sequential(nn.Linear(z_dim + k, gfc), nn.BatchNorm1d(gfc), nn.ReLU())
        self.fc2 = nn.Sequential(nn.Linear(gfc + k, 2 * ngf * self.base ** 2),
                                 nn.BatchNorm1d(2 * ngf * self.base ** 2), nn.ReLU())
        self.up1 = nn.Sequential(nn.ConvTranspose2d(2 * ngf + k, ngf, 4, 2, 1),
                                 nn.BatchNorm2d(ngf), nn.ReLU())
        self.up2 = nn.ConvTranspose2d(ngf + k, channels, 4, 2, 1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = one_hot(labels, self.num_classes, z)
        h = self.fc1(torch.cat([z, y], dim=1))
        h = self.fc2(torch.cat([h, y], dim=1)).view(-1, 2 * self.ngf, self.base, self.base)
        h = self.up1(with_label_maps(h, y))
        return 2 * torch.sigmoid(self.up2(with_label_maps(h, y))) - 1


class ConvConditionalDiscriminator(nn.Module):
    """D(x, y) of the conditional DCGAN code: two strided convs, one FC layer, y at each."""

    def __init__(self, num_classes: int, channels: int, resolution: int, ndf: int, dfc: int) -> None:
        super().__init__()
        if resolution % 4:
            raise ValueError(f"the conv CGAN needs a resolution divisible by 4, got {resolution}")
        self.num_classes = num_classes
        k, side = num_classes, resolution // 4
        self.down1 = nn.Sequential(nn.Conv2d(channels + k, ndf, 4, 2, 1), nn.LeakyReLU(0.2))
        self.down2 = nn.Sequential(nn.Conv2d(ndf + k, 2 * ndf, 4, 2, 1), nn.BatchNorm2d(2 * ndf),
                                   nn.LeakyReLU(0.2))
        self.fc = nn.Sequential(nn.Linear(2 * ndf * side ** 2 + k, dfc), nn.BatchNorm1d(dfc),
                                nn.LeakyReLU(0.2))
        self.out = nn.Linear(dfc + k, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = one_hot(labels, self.num_classes, x)
        h = self.down1(with_label_maps(x, y))
        h = self.down2(with_label_maps(h, y)).flatten(1)
        h = self.fc(torch.cat([h, y], dim=1))
        return self.out(torch.cat([h, y], dim=1)).view(-1)


# --------------------------------------------------------------------------- MLP backbone
class MLPConditionalGenerator(nn.Module):
    """The paper's G(z, y): separate ReLU layers for z and y, a joint layer, sigmoid pixels."""

    def __init__(self, z_dim: int, num_classes: int, sample_shape: tuple[int, ...], z_hidden: int,
                 y_hidden: int, joint_hidden: int, dropout: float) -> None:
        super().__init__()
        self.sample_shape = sample_shape
        self.num_classes = num_classes
        self.z_branch = nn.Sequential(nn.Linear(z_dim, z_hidden), nn.ReLU(), PortableDropout(dropout))
        self.y_branch = nn.Sequential(nn.Linear(num_classes, y_hidden), nn.ReLU(), PortableDropout(dropout))
        self.joint = nn.Sequential(nn.Linear(z_hidden + y_hidden, joint_hidden), nn.ReLU(),
                                   PortableDropout(dropout))
        self.out = nn.Linear(joint_hidden, math.prod(sample_shape))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = one_hot(labels, self.num_classes, z)
        h = self.joint(torch.cat([self.z_branch(z), self.y_branch(y)], dim=1))
        return (2 * torch.sigmoid(self.out(h)) - 1).view(-1, *self.sample_shape)


class MLPConditionalDiscriminator(nn.Module):
    """The paper's D(x, y): a maxout layer for x and one for y, a joint maxout layer, one logit."""

    def __init__(self, in_features: int, num_classes: int, x_units: int, y_units: int,
                 joint_units: int, pieces: int, joint_pieces: int, dropout: float) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.x_branch = nn.Sequential(Maxout(in_features, x_units, pieces), PortableDropout(dropout))
        self.y_branch = nn.Sequential(Maxout(num_classes, y_units, pieces), PortableDropout(dropout))
        self.joint = nn.Sequential(Maxout(x_units + y_units, joint_units, joint_pieces),
                                   PortableDropout(dropout), nn.Linear(joint_units, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = one_hot(labels, self.num_classes, x)
        return self.joint(torch.cat([self.x_branch(x.flatten(1)), self.y_branch(y)], dim=1)).view(-1)


def _conv_networks(spec: DataSpec, c: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    G = ConvConditionalGenerator(c["z_dim"], spec.num_classes, spec.channels, spec.resolution,
                                 c["ngf"], c["gfc"])
    D = ConvConditionalDiscriminator(spec.num_classes, spec.channels, spec.resolution, c["ndf"], c["dfc"])
    dcgan_init_(G)
    dcgan_init_(D)
    return G, D


def _mlp_networks(spec: DataSpec, c: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    G = MLPConditionalGenerator(c["z_dim"], spec.num_classes, spec.sample_shape, c["g_z_hidden"],
                                c["g_y_hidden"], c["g_hidden"], c["dropout"])
    D = MLPConditionalDiscriminator(math.prod(spec.sample_shape), spec.num_classes, c["d_x_units"],
                                    c["d_y_units"], c["d_joint_units"], c["d_pieces"],
                                    c["d_joint_pieces"], c["dropout"])
    uniform_init_(G, G_IRANGE)
    uniform_init_(D, D_IRANGE)
    return G, D


BACKBONES: dict[str, Callable[[DataSpec, dict[str, Any]], tuple[nn.Module, nn.Module]]] = {
    "conv": _conv_networks,
    "mlp": _mlp_networks,
}


@MODELS.register("cgan")
class CGAN(GAN):
    """The GAN game with the class label fed to both networks."""

    citation = Citation("Mirza & Osindero", 2014, "1411.1784")
    task = "conditional"
    defaults = {
        "backbone": "conv", "z_dim": 100,
        # conv backbone (dcgan_code, train_cond_dcgan.py)
        "ngf": 64, "ndf": 64, "gfc": 1024, "dfc": 1024,
        # MLP backbone (the paper)
        "g_z_hidden": 200, "g_y_hidden": 1000, "g_hidden": 1200,
        "d_x_units": 240, "d_y_units": 50, "d_joint_units": 240, "d_pieces": 5, "d_joint_pieces": 4,
        "dropout": 0.5,
        # optimisation (the conv backbone's; backbone_defaults holds the paper's SGD for the MLP)
        "optimizer": "adam", "lr": 2e-4, "adam_beta1": 0.5, "lr_decay": 1.0, "lr_min": 0.0,
        "momentum_start": 0.5, "momentum_end": 0.7, "momentum_saturate_steps": 125_000,
        "simultaneous_updates": False, "d_lr_scale": 1.0,
    }
    choice_defaults: ClassVar[Mapping[str, Mapping[Any, Mapping[str, Any]]]] = {
        "backbone": {
            "conv": {},
            "mlp": {"optimizer": "sgd", "lr": 0.1, "lr_decay": 1.00004, "lr_min": 1e-6},
        },
        # the optimizer names, checked after the backbone set its own
        "optimizer": GAN.choice_defaults["optimizer"],
    }
    data_kinds = ("image",)  # GAN's toy 2-D recipe does not apply
    protocol_notes: ClassVar[str] = (
        "Conditional DCGAN of the official DCGAN code (y concatenated at every G and D layer, "
        "Adam 2e-4/0.5) by default; the paper's MLP with SGD is backbone 'mlp' (it did not learn "
        "the conditioning within 1000 updates here). G's sigmoid output s mapped to 2s-1; fakes "
        "use the real batch's labels.")

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        return BACKBONES[self.config["backbone"]](self.spec, self.config)

    def generator_output(self, z: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
        if labels is None:
            raise ValueError("CGAN generates for given labels: pass labels")
        return self.G(z, labels)

    def discriminator_logits(self, x: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
        if labels is None:
            raise ValueError("CGAN's discriminator scores (image, label) pairs: pass labels")
        return self.D(x, labels)

    def fake_labels(self, batch: Batch) -> Optional[torch.Tensor]:
        if batch.y is None:
            raise ValueError("CGAN trains on labelled batches (batch.y is None)")
        return batch.y
