"""SAGAN: Zhang, Goodfellow, Metaxas & Odena, "Self-Attention Generative Adversarial Networks"
(2018, arXiv:1805.08318).

What makes it SAGAN:
  * self-attention (gans/nn/attention.py) in G and in D: 1x1 query/key to C/8, value to C/2, keys
    and values max-pooled 2x2, softmax over positions, a 1x1 output conv, residual scale gamma
    initialised to 0 and trained;
  * spectral normalisation of every conv, linear and embedding layer of G *and* D;
  * class-conditional ResNet G with conditional batch norm (a per-class gain and bias: the one-hot
    label through bias-free linear maps, gain 1 + W_g y, bias W_b y) and a projection D (ReLU,
    sum pooling, linear(h) + <embed(y), h>);
  * the hinge loss, one D step per G step, fakes for labels drawn uniformly;
  * TTUR: Adam(beta1 0, beta2 0.999) with lr 1e-4 for G and 4e-4 for D (the official code; beta2
    is TF's default there, the paper prints 0.9).
Small scale (32 px): three G blocks 4 -> 8 -> 16 -> 32 and four D blocks (pooling in the first two),
every G block 4 * gf_dim wide and every D block 2 * df_dim, with attention after G's 16x16 block
and after D's first (16x16) block, the 32-px placement of StudioGAN's and MMGen's CIFAR SAGAN; z is
128-d as in the paper. Weights are Glorot-uniform as in the official TF layers. D scores fakes and
reals in one batch (it has no batch norm, so this equals two calls).

The published CIFAR-10 SAGAN numbers (StudioGAN, MMGen) were trained with another recipe: no TTUR
(lr 2e-4 for both, Adam beta1 0.5) and 5 D steps per G step. We keep the paper's TTUR and 1:1.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from gans.models.base import MODELS, Citation, GANVariant, OptimizerFactory
from gans.nn.attention import SelfAttention
from gans.nn.init import xavier_init_
from gans.nn.losses import hinge_discriminator_loss, hinge_generator_loss
from gans.nn.projection import ProjectionHead
from gans.nn.resblocks import DiscriminatorBlock, GeneratorBlock
from gans.nn.spectral import spectral_norm_all_
from gans.spec import Batch, DataSpec, Progress

BOTTOM = 4  # G starts from a 4x4 map


def upsampling_blocks(resolution: int) -> int:
    """How many 2x generator blocks take 4x4 to `resolution` (a power of two, 8 or more)."""
    blocks = (resolution // BOTTOM).bit_length() - 1
    if resolution < 2 * BOTTOM or BOTTOM * 2 ** blocks != resolution:
        raise ValueError(f"the ResNet generator needs a resolution of 4 * 2^k (8, 16, 32, ...), "
                         f"got {resolution}")
    return blocks


def check_attention_block(where: int, blocks: int, network: str) -> None:
    if not 1 <= where <= blocks:
        raise ValueError(f"{network}: attention after block {where}, but it has blocks 1..{blocks}")


class SAGANGenerator(nn.Module):
    """z -> linear to 4x4 -> conditional ResNet blocks (attention after one) -> BN, ReLU, conv, tanh."""

    def __init__(self, z_dim: int, num_classes: int, channels: int, resolution: int, width: int,
                 attention_block: int) -> None:
        super().__init__()
        self.num_classes, self.width = num_classes, width
        blocks = upsampling_blocks(resolution)
        check_attention_block(attention_block, blocks, "G")
        self.linear = nn.Linear(z_dim, width * BOTTOM * BOTTOM)
        self.blocks = nn.ModuleList(GeneratorBlock(width, width, num_classes) for _ in range(blocks))
        self.attention_block = attention_block
        self.attention = SelfAttention(width)
        self.output = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, channels, 3, padding=1))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = F.one_hot(labels, self.num_classes).to(z.dtype)
        h = self.linear(z).view(-1, self.width, BOTTOM, BOTTOM)
        for index, block in enumerate(self.blocks, start=1):
            h = block(h, y)
            if index == self.attention_block:
                h = self.attention(h)
        return torch.tanh(self.output(h))


class ResNetProjectionDiscriminator(nn.Module):
    """Four ResNet blocks (pooling in the first two), attention after one, projection head.

    The 32-px D of both SAGAN and BigGAN: 32 -> 16 -> 8 -> 8 -> 8, every block `width` wide.
    """

    DOWNSAMPLE = (True, True, False, False)

    def __init__(self, channels: int, num_classes: int, width: int, attention_block: int) -> None:
        super().__init__()
        check_attention_block(attention_block, len(self.DOWNSAMPLE), "D")
        self.blocks = nn.ModuleList(
            DiscriminatorBlock(channels if i == 0 else width, width, down, first=i == 0)
            for i, down in enumerate(self.DOWNSAMPLE))
        self.attention_block = attention_block
        self.attention = SelfAttention(width)
        self.head = ProjectionHead(width, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last block's feature map (before the head's ReLU and pooling)."""
        h = x
        for index, block in enumerate(self.blocks, start=1):
            h = block(h)
            if index == self.attention_block:
                h = self.attention(h)
        return h

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x), labels)


def sagan_networks(spec: DataSpec, c: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    """SAGAN's G and D for `spec`, Glorot-initialised, then spectrally normalised throughout."""
    G = SAGANGenerator(c["z_dim"], spec.num_classes, spec.channels, spec.resolution,
                       4 * c["gf_dim"], c["g_attention_block"])
    D = ResNetProjectionDiscriminator(spec.channels, spec.num_classes, 2 * c["df_dim"],
                                      c["d_attention_block"])
    G, D = (spectral_norm_all_(xavier_init_(network)) for network in (G, D))
    return G, D


@MODELS.register("sagan")
class SAGAN(GANVariant):
    """Self-attention in a spectrally normalised conditional ResNet GAN, hinge loss, TTUR."""

    citation = Citation("Zhang, Goodfellow, Metaxas & Odena", 2018, "1805.08318")
    task = "conditional"
    defaults: ClassVar[Mapping[str, Any]] = {
        "z_dim": 128, "gf_dim": 64, "df_dim": 64, "g_attention_block": 2, "d_attention_block": 1,
        "g_lr": 1e-4, "d_lr": 4e-4, "beta1": 0.0, "beta2": 0.999, "d_steps": 1,
    }
    protocol_notes: ClassVar[str] = (
        "Paper/official-code recipe: TTUR (G 1e-4, D 4e-4), Adam(0, 0.999), 1:1 steps, hinge loss, "
        "SN in G and D; attention after G's 16x16 block and D's first block (the 32-px placement); "
        "per-class cBN gains under SN. Published CIFAR-10 SAGAN numbers (StudioGAN, MMGen) used "
        "another recipe: lr 2e-4 for both, Adam(0.5, 0.999), 5 D steps.")

    network_builders = {"image": sagan_networks}

    @classmethod
    def deviations(cls, config: Mapping[str, Any]) -> list[str]:
        """Learning rates other than the recipe's (a CPU suite raises them; the report says so)."""
        recipe = (cls.defaults["g_lr"], cls.defaults["d_lr"])
        if (config["g_lr"], config["d_lr"]) == recipe:
            return []
        return [f"learning rates G {config['g_lr']:g}, D {config['d_lr']:g} instead of the "
                f"recipe's {recipe[0]:g} / {recipe[1]:g}"]

    def optimizer(self, network: str) -> OptimizerFactory:
        """Adam with the two time-scale learning rates: g_lr for G, d_lr for D."""
        c = self.config
        lr = c["g_lr"] if network == "G" else c["d_lr"]
        return lambda params: torch.optim.Adam(params, lr=lr, betas=(c["beta1"], c["beta2"]))

    def batches_per_step(self, progress: Progress) -> int:
        return int(self.config["d_steps"])

    def regularize_generator(self) -> None:
        """A hook between G's backward and its optimizer step (BigGAN's orthogonal term)."""

    def train_step(self, batch: Batch, progress: Progress) -> dict[str, float]:
        """d_steps hinge D updates, each on a fresh real minibatch and fresh fakes, then one G update."""
        if batch.y is None:
            raise ValueError(f"{type(self).__name__} trains on labelled batches (batch.y is None)")
        self.G.train()
        self.D.train()
        minibatches = batch.chunks(int(self.config["d_steps"]))
        n = len(minibatches[0])

        losses_D = []
        for real in minibatches:
            with torch.no_grad():
                labels = self.draw_labels(n)
                fake = self.G(self.draw_latent(n), labels)
            scores = self.D(torch.cat([fake, real.x]), torch.cat([labels, real.y]))
            loss_D = hinge_discriminator_loss(scores[n:], scores[:n])
            self.opt_D.zero_grad(set_to_none=True)
            loss_D.backward()
            self.opt_D.step()
            losses_D.append(loss_D.detach())

        self.D.requires_grad_(False)  # the G step needs no D gradients
        self.opt_G.zero_grad(set_to_none=True)
        labels = self.draw_labels(n)
        loss_G = hinge_generator_loss(self.D(self.G(self.draw_latent(n), labels), labels))
        loss_G.backward()
        self.regularize_generator()
        self.opt_G.step()
        self.D.requires_grad_(True)
        return {"loss_D": torch.stack(losses_D).mean().item(), "loss_G": loss_G.item()}
