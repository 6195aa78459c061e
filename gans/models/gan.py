"""GAN: Goodfellow et al., "Generative Adversarial Nets" (2014, arXiv:1406.2661), as in the
released MNIST setup (goodfeli/adversarial, mnist.yaml).

What makes it the 2014 GAN:
  * MLP generator and discriminator only, no convolutions;
  * z: 100-d uniform[-1, 1] prior, fed only to G's input;
  * G: 1200 ReLU -> 1200 ReLU -> one sigmoid unit per pixel;
  * D: dropout (keep 0.8) on raw pixels -> maxout (240 units x 5 pieces) -> dropout (keep 0.5)
    -> maxout (240 x 5) -> dropout (keep 0.5) -> one sigmoid unit (kept as a logit, BCE on top);
  * D loss 0.5 * [BCE(D(x), 1) + BCE(D(G(z)), 0)], non-saturating G loss BCE(D(G(z)), 1);
  * k = 1 D step per G step; SGD, lr 0.1 divided by 1.000004 every update (floor 1e-6),
    momentum 0.5 rising linearly to 0.7 by epoch 250 (counted here as 125k updates: 250 epochs of
    50k images at batch 100).

Choices (also in `GAN.protocol_notes`):
  * updates alternate as in the paper's Algorithm 1 (D step, then a G step on fresh noise that
    sees the updated D); the released code's simultaneous update (both gradients from one
    minibatch, one step) is the option `simultaneous_updates: true`;
  * our images are in [-1, 1], so G's sigmoid output s is mapped to 2s - 1 (= tanh(a / 2));
  * weights start as pylearn2's `irange` init: U(-0.05, 0.05) in G, U(-0.005, 0.005) in D.
    The code's max-norm column constraints (1.9365) are left out;
  * dropout is gans.nn.dropout's: the same masking, drawn so that every CPU vendor gives the same
    mask from the same seed (torch's own CPU dropout does not).
Toy 2-D data (spec.kind == "points", `kind_defaults`): G and D are MLPs set by the `points_*`
keys (gans.nn.mlp; 3 x 128 ReLU by default), G's output unbounded, 2-d noise, and Adam(1e-3,
beta1 0.5) without decay: the paper has no 2-D experiment, and SGD did not put any sample within
3 sigma of a ring-8 mode in 2000 steps here. Losses and the update rule are as above. The toy
protocols' suites set the published setups' architectures, D's own learning rate
(`d_lr_scale`: D's lr is lr x d_lr_scale, GDPP's 1e-3 / 1e-4) and Gaussian noise
(`latent_prior: normal`, which replaces the paper's uniform prior).
"""

from __future__ import annotations

import math
from typing import Any, Callable, ClassVar, Iterable, Mapping, Optional

import torch
from torch import nn

from gans.models.base import MODELS, Citation, GANVariant, OptimizerFactory
from gans.nn.losses import bce_discriminator_loss, non_saturating_generator_loss
from gans.nn.dropout import PortableDropout
from gans.nn.mlp import POINTS_CHOICES, POINTS_DEFAULTS, Maxout, points_networks, uniform_init_
from gans.spec import Batch, DataSpec, Progress

G_IRANGE, D_IRANGE = 0.05, 0.005


class GoodfellowGenerator(nn.Module):
    """z -> two ReLU layers -> one sigmoid unit per pixel, mapped from [0, 1] to [-1, 1]."""

    def __init__(self, z_dim: int, sample_shape: tuple[int, ...], hidden: int) -> None:
        super().__init__()
        self.sample_shape = sample_shape
        self.hidden = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(),
                                    nn.Linear(hidden, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, math.prod(sample_shape))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        pixels = torch.sigmoid(self.out(self.hidden(z)))
        return (2 * pixels - 1).view(-1, *self.sample_shape)


class MaxoutDiscriminator(nn.Module):
    """Dropout on raw pixels, two dropout-regularised maxout layers, one logit."""

    def __init__(self, in_features: int, units: int, pieces: int, input_dropout: float,
                 hidden_dropout: float) -> None:
        super().__init__()
        self.main = nn.Sequential(
            PortableDropout(input_dropout), Maxout(in_features, units, pieces),
            PortableDropout(hidden_dropout), Maxout(units, units, pieces),
            PortableDropout(hidden_dropout), nn.Linear(units, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x.flatten(1)).view(-1)


def _image_networks(spec: DataSpec, c: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    G = GoodfellowGenerator(c["z_dim"], spec.sample_shape, c["g_hidden"])
    D = MaxoutDiscriminator(math.prod(spec.sample_shape), c["d_units"], c["d_pieces"],
                            c["d_input_dropout"], c["d_hidden_dropout"])
    uniform_init_(G, G_IRANGE)
    uniform_init_(D, D_IRANGE)
    return G, D


OPTIMIZERS: dict[str, Callable[[Iterable[nn.Parameter], dict[str, Any], float], torch.optim.Optimizer]] = {
    "sgd": lambda params, c, lr: torch.optim.SGD(params, lr=lr, momentum=c["momentum_start"]),
    "adam": lambda params, c, lr: torch.optim.Adam(params, lr=lr, betas=(c["adam_beta1"], 0.999)),
}
LATENT_PRIOR_NAMES = ("uniform", "normal")


@MODELS.register("gan")
class GAN(GANVariant):
    """The minimax game of Goodfellow et al.: D and G trained by SGD with momentum, k = 1."""

    citation = Citation("Goodfellow et al.", 2014, "1406.2661")
    defaults = {
        "z_dim": 100, "g_hidden": 1200, "d_units": 240, "d_pieces": 5,
        "d_input_dropout": 0.2, "d_hidden_dropout": 0.5,
        "lr": 0.1, "lr_decay": 1.000004, "lr_min": 1e-6,
        "momentum_start": 0.5, "momentum_end": 0.7, "momentum_saturate_steps": 125_000,
        "simultaneous_updates": False, "optimizer": "sgd", "adam_beta1": 0.5,
        "d_lr_scale": 1.0, "latent_prior": "uniform", **POINTS_DEFAULTS,
    }
    data_kinds = ("image", "points")
    # Toy 2-D recipe (the paper has no 2-D experiment): measured here, SGD put no sample within
    # 3 sigma of a ring-8 mode in 2000 steps; Adam reaches some modes (and hops between them).
    kind_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "points": {"optimizer": "adam", "lr": 1e-3, "lr_decay": 1.0, "z_dim": 2},
    }
    protocol_notes: ClassVar[str] = (
        "Alternating D/G updates (paper Algorithm 1, k=1; the released code updates both "
        "simultaneously). G's sigmoid output s is mapped to 2s-1 for [-1, 1] images; "
        "no max-norm constraints. Toy 2-D runs default to Adam(1e-3, 0.5) and 2-d noise instead of "
        "SGD; a suite's model_config can set others (the Budget line lists them).")

    latent_prior = "uniform"

    network_builders = {"image": _image_networks, "points": points_networks}
    choice_defaults: ClassVar[Mapping[str, Mapping[Any, Mapping[str, Any]]]] = {
        "optimizer": {name: {} for name in OPTIMIZERS},  # names the valid optimizers
        "latent_prior": {name: {} for name in LATENT_PRIOR_NAMES}, **POINTS_CHOICES}

    def optimizer(self, network: str) -> OptimizerFactory:
        make_optimizer = OPTIMIZERS[self.config["optimizer"]]
        return lambda params: make_optimizer(params, self.config, self.learning_rate(0, network))

    # -------------------------------------------------------------- the paper's SGD schedule
    def learning_rate(self, step: int, network: str = "G") -> float:
        """lr (D: lr x d_lr_scale) divided by `lr_decay` once per update, never below `lr_min`."""
        c = self.config
        base = c["lr"] * (c["d_lr_scale"] if network == "D" else 1.0)
        return max(base / c["lr_decay"] ** step, c["lr_min"])

    def momentum(self, step: int) -> float:
        """Momentum rising linearly from `momentum_start` to `momentum_end`, then constant."""
        c = self.config
        progress = min(step / c["momentum_saturate_steps"], 1.0)
        return c["momentum_start"] + progress * (c["momentum_end"] - c["momentum_start"])

    def _apply_schedule(self, step: int) -> None:
        momentum = self.momentum(step)
        for network, opt in (("G", self.opt_G), ("D", self.opt_D)):
            for group in opt.param_groups:
                group["lr"] = self.learning_rate(step, network)
                if "momentum" in group:  # SGD; Adam (toy recipe) has none
                    group["momentum"] = momentum

    # -------------------------------------------------------------- hooks CGAN overrides
    def generator_output(self, z: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
        return self.G(z)

    def discriminator_logits(self, x: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
        return self.D(x)

    def fake_labels(self, batch: Batch) -> Optional[torch.Tensor]:
        """Labels the fakes of this step are generated for (none: unconditional)."""
        return None

    # -------------------------------------------------------------- training
    def train_step(self, batch: Batch, progress: Progress) -> dict[str, float]:
        self.G.train()
        self.D.train()
        self._apply_schedule(progress.step)
        update = self._simultaneous_step if self.config["simultaneous_updates"] else self._alternating_step
        return update(batch)

    def _discriminator_loss(self, batch: Batch, fake: torch.Tensor,
                            labels: Optional[torch.Tensor]) -> torch.Tensor:
        return bce_discriminator_loss(self.discriminator_logits(batch.x, batch.y),
                                      self.discriminator_logits(fake.detach(), labels))

    def _alternating_step(self, batch: Batch) -> dict[str, float]:
        """Algorithm 1: one D step on a real and a noise minibatch, then one G step on new noise."""
        n, labels = len(batch), self.fake_labels(batch)
        self.opt_D.zero_grad(set_to_none=True)
        loss_D = self._discriminator_loss(batch, self.generator_output(self.draw_latent(n), labels), labels)
        loss_D.backward()
        self.opt_D.step()

        self.opt_G.zero_grad(set_to_none=True)
        fake = self.generator_output(self.draw_latent(n), labels)
        loss_G = non_saturating_generator_loss(self.discriminator_logits(fake, labels))
        loss_G.backward()
        self.opt_G.step()
        return {"loss_D": loss_D.item(), "loss_G": loss_G.item()}

    def _simultaneous_step(self, batch: Batch) -> dict[str, float]:
        """The released code: both gradients from the same minibatch and noise, then both steps."""
        n, labels = len(batch), self.fake_labels(batch)
        self.opt_D.zero_grad(set_to_none=True)
        self.opt_G.zero_grad(set_to_none=True)
        fake = self.generator_output(self.draw_latent(n), labels)
        loss_D = self._discriminator_loss(batch, fake, labels)
        loss_D.backward()  # fake is detached inside: D gradients only
        loss_G = non_saturating_generator_loss(self.discriminator_logits(fake, labels))
        g_params = list(self.G.parameters())
        for p, grad in zip(g_params, torch.autograd.grad(loss_G, g_params)):
            p.grad = grad
        self.opt_D.step()
        self.opt_G.step()
        return {"loss_D": loss_D.item(), "loss_G": loss_G.item()}
