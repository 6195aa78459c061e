"""CGAN: Mirza & Osindero, "Conditional Generative Adversarial Nets" (2014, arXiv:1411.1784).

What makes it CGAN (MODELS.md section 3): the one-hot label y is an input of BOTH networks,
G(z, y) and D(x, y), here as in the paper's MNIST model:
  * G: z (100-d, uniform[-1, 1]) -> 200 ReLU and y -> 1000 ReLU, joined (1200) -> 1200 ReLU
    -> one sigmoid unit per pixel, dropout 0.5 on the hidden layers;
  * D: x -> maxout (240 units x 5 pieces) and y -> maxout (50 x 5), joined (290) -> maxout
    (240 x 4) -> one sigmoid unit (kept as a logit), dropout 0.5 on the hidden layers;
  * SGD, lr 0.1 divided by 1.00004 per update down to 1e-6, momentum 0.5 rising to 0.7;
    BCE losses with the non-saturating G loss, k = 1: the GAN recipe (this class extends `GAN`).
The fakes of a training step are generated for the labels of that step's real minibatch, so D
sees real and fake pairs with the same class mix.

Choices (also in `CGAN.protocol_notes`): as for GAN, alternating updates and G's sigmoid mapped
to 2s - 1 for [-1, 1] images; the paper does not say where G's dropout sits: here after every
hidden layer of G, and after every hidden layer of D (none on D's raw inputs). Init U(-0.05, 0.05)
in G and U(-0.005, 0.005) in D, as for the 2014 GAN.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn

from gans.models.base import MODELS
from gans.models.gan import D_IRANGE, G_IRANGE, GAN
from gans.nn.mlp import Maxout, uniform_init_
from gans.spec import Batch


class ConditionalGenerator(nn.Module):
    """G(z, y): separate ReLU layers for z and for y, a joint ReLU layer, sigmoid pixels in [-1, 1]."""

    def __init__(self, z_dim: int, num_classes: int, sample_shape: tuple[int, ...], z_hidden: int,
                 y_hidden: int, joint_hidden: int, dropout: float) -> None:
        super().__init__()
        self.sample_shape = sample_shape
        self.num_classes = num_classes
        self.z_branch = nn.Sequential(nn.Linear(z_dim, z_hidden), nn.ReLU(), nn.Dropout(dropout))
        self.y_branch = nn.Sequential(nn.Linear(num_classes, y_hidden), nn.ReLU(), nn.Dropout(dropout))
        self.joint = nn.Sequential(nn.Linear(z_hidden + y_hidden, joint_hidden), nn.ReLU(),
                                   nn.Dropout(dropout))
        self.out = nn.Linear(joint_hidden, math.prod(sample_shape))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = F.one_hot(labels, self.num_classes).to(z.dtype)
        h = self.joint(torch.cat([self.z_branch(z), self.y_branch(y)], dim=1))
        return (2 * torch.sigmoid(self.out(h)) - 1).view(-1, *self.sample_shape)


class ConditionalDiscriminator(nn.Module):
    """D(x, y): a maxout layer for x and one for y, a joint maxout layer, one logit."""

    def __init__(self, in_features: int, num_classes: int, x_units: int, y_units: int,
                 joint_units: int, pieces: int, joint_pieces: int, dropout: float) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.x_branch = nn.Sequential(Maxout(in_features, x_units, pieces), nn.Dropout(dropout))
        self.y_branch = nn.Sequential(Maxout(num_classes, y_units, pieces), nn.Dropout(dropout))
        self.joint = nn.Sequential(Maxout(x_units + y_units, joint_units, joint_pieces),
                                   nn.Dropout(dropout), nn.Linear(joint_units, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = F.one_hot(labels, self.num_classes).to(x.dtype)
        return self.joint(torch.cat([self.x_branch(x.flatten(1)), self.y_branch(y)], dim=1)).view(-1)


@MODELS.register("cgan")
class CGAN(GAN):
    """The 2014 GAN with the class label fed to both networks."""

    year = 2014
    paper = "Mirza & Osindero, arXiv:1411.1784"
    task = "conditional"
    data_kinds = ("image",)
    defaults = {
        "z_dim": 100, "g_z_hidden": 200, "g_y_hidden": 1000, "g_hidden": 1200,
        "d_x_units": 240, "d_y_units": 50, "d_joint_units": 240, "d_pieces": 5, "d_joint_pieces": 4,
        "dropout": 0.5,
        "lr": 0.1, "lr_decay": 1.00004, "lr_min": 1e-6,
        "momentum_start": 0.5, "momentum_end": 0.7, "momentum_saturate_steps": 125_000,
        "simultaneous_updates": False, "optimizer": "sgd", "adam_beta1": 0.5,
    }
    kind_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {}  # images only
    protocol_notes: ClassVar[str] = (
        "Paper's MLP model with y fed to G and D; alternating D/G updates; G's sigmoid output s "
        "mapped to 2s-1; dropout after every hidden layer of G and D; fakes use the real batch's labels.")

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        c, spec = self.config, self.spec
        G = ConditionalGenerator(c["z_dim"], spec.num_classes, spec.sample_shape, c["g_z_hidden"],
                                 c["g_y_hidden"], c["g_hidden"], c["dropout"])
        D = ConditionalDiscriminator(math.prod(spec.sample_shape), spec.num_classes, c["d_x_units"],
                                     c["d_y_units"], c["d_joint_units"], c["d_pieces"],
                                     c["d_joint_pieces"], c["dropout"])
        uniform_init_(G, G_IRANGE)
        uniform_init_(D, D_IRANGE)
        return G, D

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
