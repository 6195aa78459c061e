"""WGAN: Arjovsky, Chintala & Bottou, "Wasserstein GAN" (2017, arXiv:1701.07875), with the
official code's schedule (martinarjovsky/WassersteinGAN, main.py).

What makes it WGAN:
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
Toy 2-D data (spec.kind == "points", `kind_defaults`): MLPs for G and the critic set by the
`points_*` keys (gans.nn.mlp; 3 x 128 ReLU by default), 2-d noise; lr, clipping and n_critic
unchanged (the clipped critic only learns a blurred ring there).
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import torch

from gans.models.base import MODELS, Citation, OptimizerFactory
from gans.models.critic import CriticGAN
from gans.models.dcgan import dcgan_networks
from gans.nn.losses import wasserstein_critic_loss
from gans.nn.mlp import POINTS_CHOICES, POINTS_DEFAULTS, points_networks
from gans.nn.penalties import clip_weights_
from gans.spec import Batch

@MODELS.register("wgan")
class WGAN(CriticGAN):
    """Critic trained n_critic times per G step under weight clipping, RMSProp."""

    citation = Citation("Arjovsky, Chintala & Bottou", 2017, "1701.07875")
    defaults = {
        "z_dim": 100, "ngf": 64, "ndf": 64, "lr": 5e-5, "clip": 0.01, "n_critic": 5,
        "critic_warmup_iters": 100, "critic_warmup_steps": 25, "critic_warmup_every": 500,
        **POINTS_DEFAULTS,
    }
    choice_defaults = POINTS_CHOICES
    data_kinds = ("image", "points")
    # Toy 2-D recipe: 2-d noise, as in the WGAN-GP toy code; lr, clipping and n_critic unchanged.
    kind_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {"points": {"z_dim": 2}}
    protocol_notes: ClassVar[str] = (
        "Weights clipped after each critic update (paper Algorithm 1; the code clamps before). "
        "The code's critic warm-up (100 critic iterations for the first 25 G steps and every 500th) "
        "is on unless critic_warmup_iters is 0 (the CPU default suite turns it off).")

    network_builders = {"image": dcgan_networks, "points": points_networks}

    def optimizer(self, network: str) -> OptimizerFactory:
        return lambda params: torch.optim.RMSprop(params, lr=self.config["lr"])

    def build(self) -> None:
        """The DCGAN pair, with the critic clipped into the box from the start."""
        super().build()
        clip_weights_(self.D, self.config["clip"])

    def critic_iterations(self, step: int) -> int:
        """n_critic, or the warm-up count for the first G steps and every `critic_warmup_every`th."""
        c = self.config
        warm = step < c["critic_warmup_steps"] or (c["critic_warmup_every"] > 0
                                                    and step % c["critic_warmup_every"] == 0)
        return max(c["critic_warmup_iters"], c["n_critic"]) if warm else c["n_critic"]

    def critic_loss(self, real: Batch, fake: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        loss = wasserstein_critic_loss(self.D(real.x), self.D(fake))
        return loss, [loss]

    def after_critic_update(self) -> None:
        clip_weights_(self.D, self.config["clip"])

    def step_logs(self, means: dict[str, float], iterations: int) -> dict[str, float]:
        return {"wasserstein_estimate": -means["loss_D"], "critic_iters": float(iterations)}
