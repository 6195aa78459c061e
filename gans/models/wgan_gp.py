"""WGAN-GP: Gulrajani et al., "Improved Training of Wasserstein GANs" (2017, arXiv:1704.00028).

What makes it WGAN-GP (MODELS.md section 8):
  * critic loss D(x_tilde) - D(x) + lambda * (||grad D(x_hat)||_2 - 1)^2, lambda = 10: a two-sided
    penalty at x_hat = eps * x + (1 - eps) * x_tilde, one eps ~ U[0, 1] per sample, the gradient
    norm taken per sample over all pixels, differentiated by double backprop (create_graph=True);
  * no BatchNorm in the critic (it would couple the samples the penalty treats one by one):
    layer normalisation (GroupNorm with one group: mean/var over C, H, W of each sample) as the
    paper recommends, or none (`critic_norm`);
  * n_critic = 5 critic iterations per G step, each on a new real minibatch and new noise;
  * Adam(lr 1e-4, beta2 0.9); G loss -mean D(G(z)).
Backbone: the DCGAN generator (BN in G, as in the paper's code) and the DCGAN-shaped critic with
its BN swapped out; z ~ N(0, 1), 128-d as in the released scripts.

Choice (also in `WGANGP.protocol_notes`): beta1 = 0.5 from the released MNIST script
(gan_mnist.py; gan_cifar.py too), the closest to our Fashion-MNIST; the paper's Algorithm 1 uses
beta1 = 0 (`beta1: 0` follows it). Logged: loss_D (with the penalty), gradient_penalty, and the
Wasserstein estimate mean D(x) - mean D(x_tilde) (the negated critic loss without the penalty).
Toy 2-D data (spec.kind == "points", `kind_defaults`): ReLU MLPs with 2-d noise and Adam
(lr 1e-3, beta1 0.5, beta2 0.9), as in the paper's toy code (gan_toy.py) but with 10x its lr,
so that G reaches the ring-8 modes within ~2000 G steps; lambda stays 10.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Mapping, Optional

import torch
from torch import nn

from gans.models.base import MODELS, GANVariant
from gans.models.dcgan import dcgan_networks
from gans.nn.losses import wasserstein_critic_loss, wasserstein_generator_loss
from gans.nn.mlp import points_networks
from gans.nn.penalties import gradient_penalty, interpolates
from gans.spec import Batch, DataSpec

CRITIC_NORMS: dict[str, Callable[[int], nn.Module]] = {
    "layer": lambda channels: nn.GroupNorm(1, channels),  # layer norm over C, H, W per sample
    "none": lambda channels: nn.Identity(),
}


def conv_networks(spec: DataSpec, c: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    """DCGAN generator and a DCGAN-shaped critic with BatchNorm swapped for `critic_norm`."""
    return dcgan_networks(spec, c, norm=CRITIC_NORMS[c["critic_norm"]])


NETWORKS = {"image": conv_networks, "points": points_networks}


@MODELS.register("wgan-gp")
class WGANGP(GANVariant):
    """A critic kept near 1-Lipschitz by a gradient penalty instead of weight clipping."""

    year = 2017
    paper = "Gulrajani et al., arXiv:1704.00028"
    data_kinds = ("image", "points")
    defaults = {
        "z_dim": 128, "ngf": 64, "ndf": 64, "critic_norm": "layer",
        "lr": 1e-4, "beta1": 0.5, "beta2": 0.9, "n_critic": 5, "gp_weight": 10.0,
        "points_hidden": 128, "points_layers": 3,
    }
    # Toy 2-D recipe: 2-d noise as in the paper's toy code (gan_toy.py, Adam beta1 0.5 there too),
    # with lr 1e-3 instead of 1e-4 to converge within ~2000 G steps; lambda stays 10.
    kind_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "points": {"z_dim": 2, "lr": 1e-3},
    }
    protocol_notes: ClassVar[str] = (
        "Adam beta1 = 0.5 as in the released MNIST/CIFAR scripts (the paper's Algorithm 1 uses 0); "
        "layer norm (GroupNorm, 1 group) in the critic. Toy 2-D runs: Adam(1e-3, 0.5, 0.9), 2-d noise.")

    def __init__(self, spec: DataSpec, config=None, device="cpu") -> None:
        super().__init__(spec, {**self.kind_defaults.get(spec.kind, {}), **(config or {})}, device)
        c = self.config
        if c["critic_norm"] not in CRITIC_NORMS:
            raise ValueError(f"critic_norm must be one of {sorted(CRITIC_NORMS)}, got {c['critic_norm']!r}")
        G, D = NETWORKS[spec.kind](spec, c)
        self.G, self.D = G.to(self.device), D.to(self.device)
        betas = (c["beta1"], c["beta2"])
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=c["lr"], betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=c["lr"], betas=betas)

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt_G, "D": self.opt_D}

    def batches_per_step(self) -> int:
        return self.config["n_critic"]

    def _draw_z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config["z_dim"], device=self.device)

    def train_step(self, batch: Batch) -> dict[str, float]:
        self.G.train()
        self.D.train()
        minibatches = batch.chunks(self.config["n_critic"])
        n = len(minibatches[0])

        self.D.requires_grad_(True)
        logs = []
        for real in minibatches:
            with torch.no_grad():
                fake = self.G(self._draw_z(n))
            self.opt_D.zero_grad(set_to_none=True)
            critic_loss = wasserstein_critic_loss(self.D(real.x), self.D(fake))
            penalty = gradient_penalty(self.D, interpolates(real.x, fake), self.config["gp_weight"])
            loss_D = critic_loss + penalty
            loss_D.backward()
            self.opt_D.step()
            logs.append(torch.stack([loss_D.detach(), penalty.detach(), -critic_loss.detach()]))

        self.D.requires_grad_(False)  # the G step needs no critic gradients
        self.opt_G.zero_grad(set_to_none=True)
        loss_G = wasserstein_generator_loss(self.D(self.G(self._draw_z(n))))
        loss_G.backward()
        self.opt_G.step()
        self.D.requires_grad_(True)

        self.step += 1
        loss_D, penalty, estimate = torch.stack(logs).mean(0).tolist()
        return {"loss_D": loss_D, "loss_G": loss_G.item(), "gradient_penalty": penalty,
                "wasserstein_estimate": estimate}

    def sample_latent(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, self.config["z_dim"], generator=generator)

    def generate(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        self.G.eval()
        with torch.no_grad():
            return self.G(z)
