"""WGAN-GP: Gulrajani et al., "Improved Training of Wasserstein GANs" (2017, arXiv:1704.00028).

What makes it WGAN-GP:
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
Toy 2-D data (spec.kind == "points", `kind_defaults`): MLPs set by the `points_*` keys
(gans.nn.mlp; 3 x 128 ReLU by default) with 2-d noise and Adam (lr 1e-3, beta1 0.5, beta2 0.9),
as in the paper's toy code (gan_toy.py) but with 10x its lr, so that G reaches the ring-8 modes
within ~2000 G steps; lambda stays 10. The toy protocols' suites set the code's lr 1e-4 again.
The penalty is not scale-free: on data s times larger lambda weighs as lambda / s against the
Wasserstein term, and at lambda = 10 G does not settle on the small protocol mixtures (measured
with scripts/toy_probe.py; README, "Mode collapse on the published toy protocols").
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Mapping

import torch
from torch import nn

from gans.models.base import MODELS, Citation, OptimizerFactory
from gans.models.critic import CriticGAN
from gans.models.dcgan import dcgan_networks
from gans.nn.losses import wasserstein_critic_loss
from gans.nn.mlp import POINTS_CHOICES, POINTS_DEFAULTS, points_networks
from gans.nn.penalties import gradient_penalty, interpolates
from gans.spec import Batch, DataSpec

CRITIC_NORMS: dict[str, Callable[[int], nn.Module]] = {
    "layer": lambda channels: nn.GroupNorm(1, channels),  # layer norm over C, H, W per sample
    "none": lambda channels: nn.Identity(),
}


def conv_networks(spec: DataSpec, c: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    """DCGAN generator and a DCGAN-shaped critic with BatchNorm swapped for `critic_norm`."""
    return dcgan_networks(spec, c, norm=CRITIC_NORMS[c["critic_norm"]])


@MODELS.register("wgan-gp")
class WGANGP(CriticGAN):
    """A critic kept near 1-Lipschitz by a gradient penalty instead of weight clipping."""

    citation = Citation("Gulrajani et al.", 2017, "1704.00028")
    defaults = {
        "z_dim": 128, "ngf": 64, "ndf": 64, "critic_norm": "layer",
        "lr": 1e-4, "beta1": 0.5, "beta2": 0.9, "n_critic": 5, "gp_weight": 10.0,
        **POINTS_DEFAULTS,
    }
    data_kinds = ("image", "points")
    # Toy 2-D recipe: 2-d noise as in the paper's toy code (gan_toy.py, Adam beta1 0.5 there too),
    # with lr 1e-3 instead of 1e-4 to converge within ~2000 G steps; lambda stays 10.
    kind_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "points": {"z_dim": 2, "lr": 1e-3},
    }
    protocol_notes: ClassVar[str] = (
        "Adam beta1 = 0.5 as in the released MNIST/CIFAR scripts (the paper's Algorithm 1 uses 0); "
        "layer norm (GroupNorm, 1 group) in the critic. Toy 2-D runs default to Adam(1e-3, 0.5, 0.9) "
        "and 2-d noise; a suite's model_config can set others (the Budget line lists them).")
    critic_logs = ("loss_D", "gradient_penalty", "wasserstein_estimate")

    network_builders = {"image": conv_networks, "points": points_networks}
    choice_defaults = {"critic_norm": {name: {} for name in CRITIC_NORMS},  # names the valid norms
                       **POINTS_CHOICES}

    @classmethod
    def deviations(cls, config: Mapping[str, Any]) -> list[str]:
        """Batch norm in a toy critic couples the samples the penalty treats one by one."""
        return (["batch norm in the toy critic (points_d_norm: batch)"]
                if config.get("points_d_norm") == "batch" else [])

    def optimizer(self, network: str) -> OptimizerFactory:
        c = self.config
        return lambda params: torch.optim.Adam(params, lr=c["lr"], betas=(c["beta1"], c["beta2"]))

    def critic_loss(self, real: Batch, fake: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """D(x_tilde) - D(x) + lambda * (||grad D(x_hat)||_2 - 1)^2 at random interpolates x_hat."""
        critic_loss = wasserstein_critic_loss(self.D(real.x), self.D(fake))
        penalty = gradient_penalty(self.D, interpolates(real.x, fake), self.config["gp_weight"])
        loss = critic_loss + penalty
        return loss, [loss, penalty, -critic_loss]
