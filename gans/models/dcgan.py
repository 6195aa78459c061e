"""DCGAN: Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks" (2015, arXiv:1511.06434).

What makes it DCGAN:
  * no pooling: strided convolutions in D, fractionally strided (transposed) ones in G;
  * no fully connected hidden layers: G's first layer projects z to a 4x4 map, D ends in one logit;
  * BatchNorm in every G layer but the output, and in every D layer but the first;
  * ReLU + Tanh output in G, LeakyReLU(0.2) in D;
  * weights ~ N(0, 0.02), BN gains ~ N(1, 0.02); Adam(lr 2e-4, beta1 0.5); BCE with the
    non-saturating G loss; alternating 1:1 D/G updates.

Choices where the Theano code and the PyTorch port differ (recorded in the report's protocol
notes): we follow the PyTorch port (floydhub/dcgan): 4x4 kernels, z ~ N(0, 1) of 100 dims, and
no L2 weight decay. Small scale: three stride-2 stages 4 -> 8 -> 16 -> 32 with ngf = ndf = 64.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Mapping

import torch
from torch import nn

from gans.models.base import MODELS, Citation, GANVariant, OptimizerFactory
from gans.nn.init import dcgan_init_
from gans.nn.losses import bce_discriminator_loss, non_saturating_generator_loss
from gans.spec import Batch, DataSpec, Progress


class DCGANGenerator(nn.Module):
    """z -> 4x4 projection -> transposed-conv stages doubling the resolution -> Tanh."""

    def __init__(self, z_dim: int, channels: int, resolution: int, ngf: int) -> None:
        super().__init__()
        n_up = _stride2_stages(resolution)
        width = ngf * 2 ** (n_up - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, width, 4, 1, 0, bias=False),  # the projection to 4x4
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """Strided convs halving the resolution to 4x4, then one 4x4 conv to a single logit.

    `norm` builds the normalisation after every conv but the first (BatchNorm in DCGAN and WGAN;
    WGAN-GP's critic swaps it for a per-sample one, since BN breaks the per-sample gradient penalty).
    """

    def __init__(self, channels: int, resolution: int, ndf: int,
                 norm: Callable[[int], nn.Module] = nn.BatchNorm2d) -> None:
        super().__init__()
        n_down = _stride2_stages(resolution)
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, True)]  # no BN after the first conv
        width = ndf
        for _ in range(n_down - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                       norm(width * 2), nn.LeakyReLU(0.2, True)]
            width *= 2
        layers += [nn.Conv2d(width, 1, 4, 1, 0, bias=False), nn.Flatten()]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1)


def _stride2_stages(resolution: int) -> int:
    """How many stride-2 stages take 4x4 to `resolution` (which must be 4 * 2^k, k >= 1)."""
    stages = (resolution // 4).bit_length() - 1
    if resolution < 8 or 4 * 2 ** stages != resolution:
        raise ValueError(f"DCGAN needs a resolution of 4 * 2^k (8, 16, 32, 64, ...), got {resolution}")
    return stages


def dcgan_networks(spec: DataSpec, c: Mapping[str, Any],
                   norm: Callable[[int], nn.Module] = nn.BatchNorm2d) -> tuple[nn.Module, nn.Module]:
    """The DCGAN generator and discriminator for `spec` (widths `ngf`, `ndf`, noise `z_dim`), with
    DCGAN init. WGAN reuses them as they are; WGAN-GP passes its critic's `norm`."""
    G = DCGANGenerator(c["z_dim"], spec.channels, spec.resolution, c["ngf"])
    D = DCGANDiscriminator(spec.channels, spec.resolution, c["ndf"], norm=norm)
    dcgan_init_(G)
    dcgan_init_(D)
    return G, D


@MODELS.register("dcgan")
class DCGAN(GANVariant):
    """Convolutional G and D under the DCGAN rules, trained with the GAN losses, 1:1, by Adam."""

    citation = Citation("Radford, Metz & Chintala", 2015, "1511.06434")
    protocol_notes: ClassVar[str] = (
        "PyTorch-port choices: 4x4 kernels, z ~ N(0, 1), no L2 weight decay; three stride-2 "
        "stages for 32 px.")
    defaults = {"z_dim": 100, "ngf": 64, "ndf": 64, "lr": 2e-4, "beta1": 0.5, "beta2": 0.999}

    network_builders = {"image": dcgan_networks}

    def optimizer(self, network: str) -> OptimizerFactory:
        c = self.config
        return lambda params: torch.optim.Adam(params, lr=c["lr"], betas=(c["beta1"], c["beta2"]))

    def train_step(self, batch: Batch, progress: Progress) -> dict[str, float]:
        """D on a real and a fake minibatch, then G through the updated D on the same fakes."""
        self.G.train()
        self.D.train()
        fake = self.G(self.draw_latent(len(batch)))

        self.opt_D.zero_grad(set_to_none=True)
        loss_D = bce_discriminator_loss(self.D(batch.x), self.D(fake.detach()))
        loss_D.backward()
        self.opt_D.step()

        self.opt_G.zero_grad(set_to_none=True)
        loss_G = non_saturating_generator_loss(self.D(fake))
        loss_G.backward()
        self.opt_G.step()
        return {"loss_D": loss_D.item(), "loss_G": loss_G.item()}
