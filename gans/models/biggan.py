"""BigGAN: Brock, Donahue & Simonyan, "Large Scale GAN Training for High Fidelity Natural Image
Synthesis" (2018, arXiv:1809.11096).

BigGAN is SAGAN scaled up plus four things of its own, all kept here:
  * a shared class embedding (`G.shared`, not spectrally normalised, as the official code) read by
    the conditional batch norm of every G block (gain 1 + linear(e), bias linear(e));
  * hierarchical z: z is split into one chunk per G block plus one; chunk 0 feeds the first linear
    layer, chunk i is joined with the embedding to condition block i;
  * the modified orthogonal regularisation of G, beta = 1e-4 (gradient 2 (W W^T * (1 - I)) W,
    the shared embedding left out; `ortho_reg: 0` turns it off and the report flags it);
  * an exponential moving average of G's weights (decay 0.9999 from `ema_start`, before which it
    copies G) that every evaluation uses, and the truncation trick at sampling time only: entries
    of z beyond the threshold are redrawn (`sample_latent`); metrics are untruncated unless a
    suite asks.
From SAGAN (gans/models/sagan.py): the ResNet G and projection D with self-attention, spectral
normalisation of every conv and linear layer of G and D (and of D's embedding), the hinge loss,
fakes for uniformly drawn labels.

Optimisation (choice, also in `BigGAN.protocol_notes`): StudioGAN's CIFAR-10 config, 5 D steps per
G step, lr 2e-4 for both, Adam(0.5, 0.999), batch 64. Why: it is the recipe tuned for our setting
(32 px, batch 64; the paper's is for ImageNet at batch 2048), and at the default suite's CPU budget
it trained faster here: seed 0, about 220 CPU-s each, last G, FID 147 after 240 steps against 180
after 450 steps of the paper's (2 D steps, lr 5e-5 for G and 2e-4 for D, Adam(0, 0.999):
`d_steps: 2, g_lr: 5e-5, beta1: 0`). The repository's own scripts use yet other recipes.
Init (`init`): orthogonal by default, the paper's and StudioGAN's; 'N02' (weights ~ N(0, 0.02)) is
the official CIFAR script's. Measured here at small widths, orthogonal init trains much slower
(FID 281 against 208 after the same 240 steps), so the CPU default suite sets 'N02' and the report
flags it. EMA: decay 0.9999 from step 1000 (StudioGAN's CIFAR config; suites with short budgets
scale it).
Small scale (32 px): the code's G_arch[32] / D_arch[32] (three G blocks and four D blocks, all
4 * ch wide) with StudioGAN's CIFAR structure: z 80 in 4 chunks of 20, shared embedding 128-d,
attention after G's 16x16 block and D's first block; ch shrunk in suites.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Mapping, Optional

import torch
from torch import nn

from gans.models.base import MODELS, Citation
from gans.models.sagan import (BOTTOM, SAGAN, ResNetProjectionDiscriminator, check_attention_block,
                               upsampling_blocks)
from gans.nn.attention import SelfAttention
from gans.nn.init import normal_init_, orthogonal_init_, xavier_init_
from gans.nn.latents import resample_beyond
from gans.nn.orthogonal import add_orthogonal_regularization_
from gans.nn.resblocks import GeneratorBlock
from gans.nn.spectral import spectral_norm_all_
from gans.spec import DataSpec


class BigGANGenerator(nn.Module):
    """G(z, y): shared embedding + hierarchical z into every conditional block."""

    def __init__(self, z_dim: int, shared_dim: int, num_classes: int, channels: int, resolution: int,
                 width: int, attention_block: int) -> None:
        super().__init__()
        blocks = upsampling_blocks(resolution)
        check_attention_block(attention_block, blocks, "G")
        if z_dim % (blocks + 1):
            raise ValueError(f"hierarchical z: z_dim {z_dim} does not split into {blocks + 1} equal "
                             f"chunks ({blocks} blocks + 1)")
        self.width, self.chunk = width, z_dim // (blocks + 1)
        self.shared = nn.Embedding(num_classes, shared_dim)
        self.linear = nn.Linear(self.chunk, width * BOTTOM * BOTTOM)
        self.blocks = nn.ModuleList(GeneratorBlock(width, width, shared_dim + self.chunk)
                                    for _ in range(blocks))
        self.attention_block = attention_block
        self.attention = SelfAttention(width)
        self.output = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, channels, 3, padding=1))

    def split_latent(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """z -> one chunk for the first linear layer and one per block."""
        return torch.split(z, self.chunk, dim=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        embedding = self.shared(labels)
        first, *per_block = self.split_latent(z)
        h = self.linear(first).view(-1, self.width, BOTTOM, BOTTOM)
        for index, (block, chunk) in enumerate(zip(self.blocks, per_block), start=1):
            h = block(h, torch.cat([embedding, chunk], dim=1))
            if index == self.attention_block:
                h = self.attention(h)
        return torch.tanh(self.output(h))


# The code's G_init / D_init choices: 'ortho' (its default, the paper's), 'N02' (its CIFAR script).
INITIALISATIONS: dict[str, Callable[[nn.Module], None]] = {
    "ortho": orthogonal_init_, "N02": normal_init_, "xavier": xavier_init_}


def biggan_networks(spec: DataSpec, c: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    """BigGAN's G and D for `spec`: initialised (`init`), then SN everywhere but G's shared embedding."""
    G = BigGANGenerator(c["z_dim"], c["shared_dim"], spec.num_classes, spec.channels, spec.resolution,
                        4 * c["G_ch"], c["g_attention_block"])
    D = ResNetProjectionDiscriminator(spec.channels, spec.num_classes, 4 * c["D_ch"], c["d_attention_block"])
    for network in (G, D):
        INITIALISATIONS[c["init"]](network)
    spectral_norm_all_(G, exclude=[G.shared])
    spectral_norm_all_(D)
    return G, D


@MODELS.register("biggan")
class BigGAN(SAGAN):
    """SAGAN with a shared embedding, hierarchical z, orthogonal regularisation, EMA and truncation."""

    citation = Citation("Brock, Donahue & Simonyan", 2018, "1809.11096")
    supports_truncation = True
    defaults: ClassVar[Mapping[str, Any]] = {
        "z_dim": 80, "shared_dim": 128, "G_ch": 96, "D_ch": 96,
        "g_attention_block": 2, "d_attention_block": 1,
        "g_lr": 2e-4, "d_lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "d_steps": 5,
        "ortho_reg": 1e-4, "ema_decay": 0.9999, "ema_start": 1000, "init": "ortho",
    }
    choice_defaults = {"init": {name: {} for name in INITIALISATIONS}}  # names the valid inits
    protocol_notes: ClassVar[str] = (
        "StudioGAN's CIFAR-10 optimisation (5 D steps, lr 2e-4 for G and D, Adam(0.5, 0.999)), "
        "chosen over the paper's (2 D steps, G 5e-5 / D 2e-4, Adam(0, 0.999)) because it trained "
        "faster at this budget; StudioGAN's CIFAR structure (shared embedding 128, z 80 in 4 "
        "chunks, attention after G block 2 / D block 1); orthogonal regularisation 1e-4; evaluated "
        "with the EMA generator, untruncated unless stated.")

    network_builders = {"image": biggan_networks}

    @classmethod
    def deviations(cls, config: Mapping[str, Any]) -> list[str]:
        """The paper's own choices a config switches off: the orthogonal term, the EMA, the init."""
        off = super().deviations(config)
        if config["ortho_reg"] == 0:
            off.append("orthogonal regularisation off (ortho_reg 0; the paper uses 1e-4)")
        if config["ema_decay"] == 0:
            off.append("EMA of G off (ema_decay 0: evaluation uses the last G)")
        if config["init"] != "ortho":
            off.append(f"{config['init']} initialisation instead of the paper's orthogonal one")
        return off

    def regularize_generator(self) -> None:
        """The modified orthogonal regularisation of every G weight but the shared embedding."""
        add_orthogonal_regularization_(self.G, self.config["ortho_reg"],
                                       exclude=self.G.shared.parameters())

    def sample_latent(self, n: int, generator: torch.Generator,
                      truncation: Optional[float] = None) -> torch.Tensor:
        """Evaluation z ~ N(0, I); with a truncation threshold, entries beyond it are redrawn."""
        z = super().sample_latent(n, generator)
        return z if truncation is None else resample_beyond(z, truncation, generator)
