"""The critic-iteration step shared by the Wasserstein family (WGAN, WGAN-GP, and later ProGAN).

One generator update is preceded by n critic updates, each on its own fresh real minibatch and
fresh noise (the papers' Algorithm 1): the loop serves n minibatches (`batches_per_step`), this
class runs the n critic updates through two hooks (`critic_loss`, `after_critic_update`) and then
the generator update on the critic's linear score. A variant of the family only states its loss,
its constraint and its optimizers.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import torch

from gans.models.base import GANVariant
from gans.nn.losses import wasserstein_generator_loss
from gans.spec import Batch, Progress


class CriticGAN(GANVariant):
    """A generator trained against a critic that takes `critic_iterations` steps per G step."""

    # names of the per-iteration numbers `critic_loss` returns, logged as their mean over the step
    critic_logs: ClassVar[tuple[str, ...]] = ("loss_D",)

    def critic_iterations(self, step: int) -> int:
        """Critic updates before G update number `step` (n_critic unless a schedule says more)."""
        return int(self.config["n_critic"])

    def batches_per_step(self, progress: Progress) -> int:
        return self.critic_iterations(progress.step)

    @abc.abstractmethod
    def critic_loss(self, real: Batch, fake: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The loss one critic update minimises, and the numbers to log (in `critic_logs` order)."""

    def after_critic_update(self) -> None:
        """A constraint applied after every critic update (WGAN's clipping); none by default."""

    def train_step(self, batch: Batch, progress: Progress) -> dict[str, float]:
        self.G.train()
        self.D.train()
        minibatches = batch.chunks(self.critic_iterations(progress.step))
        n = len(minibatches[0])

        self.D.requires_grad_(True)
        logs = []
        for real in minibatches:
            with torch.no_grad():
                fake = self.G(self.draw_latent(n))
            self.opt_D.zero_grad(set_to_none=True)
            loss_D, numbers = self.critic_loss(real, fake)
            loss_D.backward()
            self.opt_D.step()
            self.after_critic_update()
            logs.append(torch.stack([number.detach() for number in numbers]))

        self.D.requires_grad_(False)  # the G step needs no critic gradients
        self.opt_G.zero_grad(set_to_none=True)
        loss_G = wasserstein_generator_loss(self.D(self.G(self.draw_latent(n))))
        loss_G.backward()
        self.opt_G.step()
        self.D.requires_grad_(True)

        means = dict(zip(self.critic_logs, torch.stack(logs).mean(0).tolist()))
        return {**means, "loss_G": loss_G.item(), **self.step_logs(means, len(minibatches))}

    def step_logs(self, means: dict[str, float], iterations: int) -> dict[str, float]:
        """Extra curves derived from the critic's mean numbers (none by default)."""
        return {}
