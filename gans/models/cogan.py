"""CoGAN: Liu & Tuzel, "Coupled Generative Adversarial Networks" (2016, arXiv:1606.07536).

What makes it CoGAN:
  * two GANs, one per domain, that learn a joint distribution from unpaired images by sharing
    weights: the two generators share every layer but the last (the high-level structure is
    decoded once; each domain renders its own pixels), the two discriminators share every layer
    but the first (each domain's pixels are read by its own layer, the judgement is shared).
    Sharing means one set of Parameter objects, not two copies kept in sync;
  * the same z goes to both generators, so one latent gives a pair of corresponding images;
  * the domains are never paired in training: domain A and domain B come from disjoint rows
    (gans.data.domains);
  * the standard GAN loss on a 2-way softmax (real / fake) with the non-saturating G loss; the
    discriminator sees both domains' real and fake images concatenated into one batch;
  * Adam(lr 2e-4, betas 0.5 / 0.999, weight decay 5e-4), batch 64, z ~ N(0, I) of 100 dims,
    Xavier init (gain sqrt 2, biases 0.1), as in the official PyTorch code.

Networks, after the official 28 px code: G is a transposed-conv projection of z to 4x4, then
3x3 stride-2 transposed convs (4 -> 7 -> 13 -> 25), each with BatchNorm (no affine) and PReLU,
then one transposed conv per domain to the image. D is a 5x5 conv and 2x2 max-pool per domain,
then a shared 5x5 conv and max-pool, a conv to 500 units with PReLU and a 1x1 conv to 2 logits.
What we changed: 32 px images (the last G kernel is 8x8 instead of 6x6 with padding 1, so
25 -> 32; the D conv to 500 units spans the 5x5 map left at 32 px); a tanh output, because our
images are in [-1, 1] (the code's sigmoid gives [0, 1]: tanh(x) = 2 sigmoid(2x) - 1); smaller G
widths (`ngf`: 1024, 512, 256, 128 in the code = ngf 128) for the CPU budget.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from gans.models.base import MODELS, Citation, GANVariant, OptimizerFactory
from gans.nn.init import cogan_init_
from gans.spec import Batch, DataSpec, EvalInput, Progress

DOMAINS = ("a", "b")
REAL, FAKE = 1, 0  # the discriminator's two classes


def upsampling_sizes(resolution: int) -> list[int]:
    """Feature-map sizes of G's shared stages: 4, then 2s - 1 (3x3 stride-2 transposed convs with
    padding 1) while that stays below the resolution; the last (per-domain) layer fills the rest."""
    sizes = [4]
    while 2 * sizes[-1] - 1 < resolution:
        sizes.append(2 * sizes[-1] - 1)
    if len(sizes) < 2:
        raise ValueError(f"CoGAN's generator needs a resolution of at least 8, got {resolution}")
    return sizes


class CoupledGenerators(nn.Module):
    """Two generators sharing every layer but the last: `shared` decodes z once, `last[d]` draws
    domain d. `generator(d)` is domain d's generator as one module (shared layers, then its own)."""

    def __init__(self, z_dim: int, channels: int, resolution: int, ngf: int) -> None:
        super().__init__()
        sizes = upsampling_sizes(resolution)
        width = ngf * 2 ** (len(sizes) - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, width, 4, 1, 0),
                                   nn.BatchNorm2d(width, affine=False), nn.PReLU()]
        for _ in sizes[1:]:
            layers += [nn.ConvTranspose2d(width, width // 2, 3, 2, 1),
                       nn.BatchNorm2d(width // 2, affine=False), nn.PReLU()]
            width //= 2
        self.shared = nn.Sequential(*layers)
        kernel = resolution - sizes[-1] + 1
        self.last = nn.ModuleDict({d: nn.Sequential(nn.ConvTranspose2d(width, channels, kernel, 1, 0),
                                                    nn.Tanh()) for d in DOMAINS})

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The pair (domain-A image, domain-B image) of each z: one pass through the shared layers."""
        h = self.shared(z[:, :, None, None])
        return self.last["a"](h), self.last["b"](h)

    def generator(self, domain: str) -> nn.Module:
        """Domain `domain`'s generator: the shared layers (the same modules) and its last layer."""
        return _Chain(Unsqueeze(), self.shared, self.last[domain])


class CoupledDiscriminators(nn.Module):
    """Two discriminators sharing every layer but the first: `first[d]` reads domain d's pixels,
    `shared` judges both. `discriminator(d)` is domain d's discriminator as one module."""

    def __init__(self, channels: int, resolution: int, widths: tuple[int, int, int]) -> None:
        super().__init__()
        conv1, conv2, fc = widths
        self.first = nn.ModuleDict({d: nn.Sequential(nn.Conv2d(channels, conv1, 5), nn.MaxPool2d(2))
                                    for d in DOMAINS})
        left = ((resolution - 4) // 2 - 4) // 2  # the map size after the two conv + pool stages
        if left < 1:
            raise ValueError(f"CoGAN's discriminator needs a resolution of at least 14, got {resolution}")
        self.shared = nn.Sequential(nn.Conv2d(conv1, conv2, 5), nn.MaxPool2d(2),
                                    nn.Conv2d(conv2, fc, left), nn.PReLU(),
                                    nn.Conv2d(fc, 2, 1), nn.Flatten())

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> torch.Tensor:
        """2-way logits of the domain-A batch followed by the domain-B batch (2N x 2)."""
        return self.shared(torch.cat([self.first["a"](x_a), self.first["b"](x_b)]))

    def discriminator(self, domain: str) -> nn.Module:
        """Domain `domain`'s discriminator: its first layer, then the shared layers (the same modules)."""
        return _Chain(self.first[domain], self.shared)


class Unsqueeze(nn.Module):
    """z (N x d) -> N x d x 1 x 1, the input of a transposed-conv projection."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, :, None, None]


class _Chain(nn.Sequential):
    """A view that runs existing modules in order (it owns no Parameters of its own)."""


def coupled_networks(spec: DataSpec, c: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    """The coupled pair of generators and of discriminators, with the official code's init."""
    networks = (CoupledGenerators(c["z_dim"], spec.channels, spec.resolution, c["ngf"]),
                CoupledDiscriminators(spec.channels, spec.resolution, (c["d_conv1"], c["d_conv2"], c["d_fc"])))
    for network in networks:
        cogan_init_(network)
    return networks


@MODELS.register("cogan")
class CoGAN(GANVariant):
    """A pair of GANs with tied weights, trained on two unpaired domains, sampled as pairs."""

    citation = Citation("Liu & Tuzel", 2016, "1606.07536")
    task = "coupled"
    protocol_notes: ClassVar[str] = (
        "Official PyTorch recipe (Adam 2e-4, betas 0.5/0.999, weight decay 5e-4, Xavier init, "
        "2-way softmax loss, shared G trunk / shared D head); 32 px: last G kernel 8x8, tanh output "
        "for [-1, 1] images; G widths ngf*8..ngf (the code: ngf 128).")
    defaults = {"z_dim": 100, "ngf": 128, "d_conv1": 20, "d_conv2": 50, "d_fc": 500,
                "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "weight_decay": 5e-4}

    network_builders = {"image": coupled_networks}

    def optimizer(self, network: str) -> OptimizerFactory:
        c = self.config
        return lambda params: torch.optim.Adam(params, lr=c["lr"], betas=(c["beta1"], c["beta2"]),
                                               weight_decay=c["weight_decay"])

    def train_step(self, batch: Batch, progress: Progress) -> dict[str, float]:
        """D on both domains' real and fake images, then G through D with a new z (as the code)."""
        self.G.train()
        self.D.train()
        n = len(batch)
        with torch.no_grad():
            fake_a, fake_b = self.G(self.draw_latent(n))

        self.opt_D.zero_grad(set_to_none=True)
        loss_D = (_cross_entropy(self.D(batch.x, batch.x_b), REAL)
                  + _cross_entropy(self.D(fake_a, fake_b), FAKE))
        loss_D.backward()
        self.opt_D.step()

        self.opt_G.zero_grad(set_to_none=True)
        loss_G = _cross_entropy(self.D(*self.G(self.draw_latent(n))), REAL)
        loss_G.backward()
        self.opt_G.step()
        return {"loss_D": loss_D.item(), "loss_G": loss_G.item()}

    def generate(self, inputs: EvalInput, truncation: float | None = None) -> dict[str, torch.Tensor]:
        """The pair of each latent: domain A as "a", domain B as "b"."""
        self._refuse_truncation(truncation)
        G = self.evaluation_network("G")
        G.eval()
        a, b = G(inputs.z)
        return {"a": a, "b": b}


def _cross_entropy(logits: torch.Tensor, target: int) -> torch.Tensor:
    """The 2-way softmax loss of every logit row against one class (real or fake)."""
    return F.cross_entropy(logits, torch.full((len(logits),), target, device=logits.device))
