"""WGAN: Arjovsky, Chintala & Bottou, "Wasserstein GAN" (2017, arXiv:1701.07875), with the
official code's schedule (martinarjovsky/WassersteinGAN, main.py).

What makes it WGAN (MODELS.md section 7):
  * a critic f with a linear output (no sigmoid, no logs): critic loss mean f(G(z)) - mean f(x),
    generator loss -mean f(G(z)); -critic loss is the Wasserstein estimate, logged every step as
    "wasserstein_estimate" (the paper's main curve);
  * every critic parameter clipped to [-c, c], c = 0.01;
  * RMSProp, lr 5e-5, no momentum; batch 64; n_critic = 5, each critic iteration on a new real
    minibatch and new noise;
  * the code's critic warm-up: 100 critic iterations for the first 25 G iterations and at every
    500th G iteration (`critic_warmup_iters`, `critic_warmup_steps`, `critic_warmup_every`;
    `critic_warmup_iters: 0` turns it off);
  * DCGAN backbone (BN in G and the critic), DCGAN init, z ~ N(0, 1).

Choice (also in `WGAN.protocol_notes`): weights are clipped *after* each critic update, as in
the paper's Algorithm 1 (the code clamps at the start of each critic iteration, so its G step
sees an unclipped critic); the critic is also clipped once at construction, so it always lies in
the box. The warm-up is kept by default; at a budget of ~1000 G steps it costs ~50% more critic
iterations and, measured on Fashion-MNIST, gave worse samples, so short CPU suites turn it off.
Toy 2-D data (spec.kind == "points", `kind_defaults`): ReLU MLPs for G and the critic, 2-d noise;
lr, clipping and n_critic unchanged (the clipped critic only learns a blurred ring there).
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping, Optional

import torch
from torch import nn

from gans.models.base import MODELS, GANVariant
from gans.models.dcgan import dcgan_networks
from gans.nn.losses import wasserstein_critic_loss, wasserstein_generator_loss
from gans.nn.mlp import points_networks
from gans.nn.penalties import clip_weights_
from gans.spec import Batch, DataSpec


NETWORKS = {"image": dcgan_networks, "points": points_networks}


@MODELS.register("wgan")
class WGAN(GANVariant):
    """Critic trained n_critic times per G step under weight clipping, RMSProp."""

    year = 2017
    paper = "Arjovsky et al., arXiv:1701.07875"
    data_kinds = ("image", "points")
    defaults = {
        "z_dim": 100, "ngf": 64, "ndf": 64, "lr": 5e-5, "clip": 0.01, "n_critic": 5,
        "critic_warmup_iters": 100, "critic_warmup_steps": 25, "critic_warmup_every": 500,
        "points_hidden": 128, "points_layers": 3,
    }
    # Toy 2-D recipe: 2-d noise, as in the WGAN-GP toy code; lr, clipping and n_critic unchanged.
    kind_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {"points": {"z_dim": 2}}
    protocol_notes: ClassVar[str] = (
        "Weights clipped after each critic update (paper Algorithm 1; the code clamps before). "
        "The code's critic warm-up (100 critic iterations for the first 25 G steps and every 500th) "
        "is on unless critic_warmup_iters is 0 (the CPU default suite turns it off).")

    def __init__(self, spec: DataSpec, config=None, device="cpu") -> None:
        super().__init__(spec, {**self.kind_defaults.get(spec.kind, {}), **(config or {})}, device)
        G, D = NETWORKS[spec.kind](spec, self.config)
        self.G, self.D = G.to(self.device), D.to(self.device)
        clip_weights_(self.D, self.config["clip"])
        self.opt_G = torch.optim.RMSprop(self.G.parameters(), lr=self.config["lr"])
        self.opt_D = torch.optim.RMSprop(self.D.parameters(), lr=self.config["lr"])

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt_G, "D": self.opt_D}

    def critic_iterations(self, step: int) -> int:
        """n_critic, or the warm-up count for the first G steps and every `critic_warmup_every`th."""
        c = self.config
        warm = step < c["critic_warmup_steps"] or (c["critic_warmup_every"] > 0
                                                    and step % c["critic_warmup_every"] == 0)
        return max(c["critic_warmup_iters"], c["n_critic"]) if warm else c["n_critic"]

    def batches_per_step(self) -> int:
        return self.critic_iterations(self.step)

    def _draw_z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config["z_dim"], device=self.device)

    def train_step(self, batch: Batch) -> dict[str, float]:
        self.G.train()
        self.D.train()
        minibatches = batch.chunks(self.critic_iterations(self.step))
        n = len(minibatches[0])

        self.D.requires_grad_(True)
        critic_losses = []
        for real in minibatches:
            with torch.no_grad():
                fake = self.G(self._draw_z(n))
            self.opt_D.zero_grad(set_to_none=True)
            loss_D = wasserstein_critic_loss(self.D(real.x), self.D(fake))
            loss_D.backward()
            self.opt_D.step()
            clip_weights_(self.D, self.config["clip"])
            critic_losses.append(loss_D.detach())

        self.D.requires_grad_(False)  # the G step needs no critic gradients
        self.opt_G.zero_grad(set_to_none=True)
        loss_G = wasserstein_generator_loss(self.D(self.G(self._draw_z(n))))
        loss_G.backward()
        self.opt_G.step()
        self.D.requires_grad_(True)

        self.step += 1
        loss_D_mean = torch.stack(critic_losses).mean().item()
        return {"loss_D": loss_D_mean, "loss_G": loss_G.item(), "wasserstein_estimate": -loss_D_mean,
                "critic_iters": float(len(minibatches))}

    def sample_latent(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, self.config["z_dim"], generator=generator)

    def generate(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        self.G.eval()
        with torch.no_grad():
            return self.G(z)
