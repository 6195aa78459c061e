"""The GAN contract: what every variant offers the training loop, the sampler and the metrics.

A variant builds its networks and optimizers from its config and a DataSpec, owns its inner
loop (critic ratio, penalties, EMA, schedules) in `train_step`, and draws its training noise
from torch's global RNG, which the loop seeds and checkpoints. It never reads files or the clock.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Mapping, Optional

import torch
from torch import nn

from gans.registry import Registry
from gans.spec import Batch, DataSpec

MODELS: Registry[type["GANVariant"]] = Registry("model")


class GANVariant(abc.ABC):
    """Base class of every registered GAN variant.

    Class attributes a subclass sets:
      year, paper: where it sits on the roadmap (reports sort by year);
      task: which DataSpec.task it trains on;
      data_kinds: which DataSpec.kind values it supports ("image", "points");
      defaults: its documented hyper-parameters; a suite may override any of them, never add new ones.
    """

    year: ClassVar[int] = 0
    paper: ClassVar[str] = ""
    task: ClassVar[str] = "unconditional"
    data_kinds: ClassVar[tuple[str, ...]] = ("image",)
    defaults: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, spec: DataSpec, config: Optional[Mapping[str, Any]] = None,
                 device: torch.device | str = "cpu") -> None:
        if spec.kind not in self.data_kinds:
            raise ValueError(f"{type(self).__name__} does not train on {spec.kind} data "
                             f"(supports: {', '.join(self.data_kinds)})")
        self.spec = spec
        self.config = self.resolve_config(config or {})
        self.device = torch.device(device)
        self.step = 0  # generator updates done; variants increment it in train_step

    @classmethod
    def resolve_config(cls, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults updated by overrides; an unknown key is a config error, not silently ignored."""
        unknown = sorted(set(overrides) - set(cls.defaults))
        if unknown:
            raise ValueError(f"unknown config key(s) for {cls.__name__}: {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(cls.defaults))})")
        return {**cls.defaults, **overrides}

    # ----------------------------------------------------------------- the contract
    @abc.abstractmethod
    def networks(self) -> dict[str, nn.Module]:
        """All trainable networks (and EMA copies) by name; saved in checkpoints."""

    @abc.abstractmethod
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """All optimizers by name; saved in checkpoints."""

    def batches_per_step(self) -> int:
        """How many fresh real minibatches the next `train_step` consumes.

        The loop concatenates that many minibatches (each of the suite's batch size, in the seeded
        data order) into the Batch it passes; a variant with n critic iterations per G update
        returns n and splits the Batch with `Batch.chunks(n)`, so every critic iteration sees new
        real data, as in the papers. May depend on self.step (WGAN's critic warm-up).
        """
        return 1

    @abc.abstractmethod
    def train_step(self, batch: Batch) -> dict[str, float]:
        """One generator update with whatever discriminator/critic updates the method prescribes.

        `batch` holds `batches_per_step()` minibatches concatenated. Returns the losses (and
        method-specific curves) as plain floats for the loss log.
        """

    @abc.abstractmethod
    def sample_latent(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Draw n latents from the method's prior on the CPU with `generator` (reproducible anywhere)."""

    @abc.abstractmethod
    def generate(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Map latents (and labels, for conditional variants) to samples in [-1, 1], without grad,
        using the evaluation generator (EMA where the method has one)."""

    # ----------------------------------------------------------------- shared behaviour
    @property
    def checkpoint_rule(self) -> str:
        """Which weights `generate` uses; recorded in every metric's protocol."""
        return "final step"

    def sample(self, n: int, generator: torch.Generator,
               labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """n samples in [-1, 1] on the CPU, latents drawn with `generator`."""
        z = self.sample_latent(n, generator).to(self.device)
        if labels is not None:
            labels = labels.to(self.device)
        with torch.no_grad():
            return self.generate(z, labels).float().cpu()

    def extra_state(self) -> dict[str, Any]:
        """Non-tensor training state (counters, pools); override to add to it."""
        return {"step": self.step}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.step = int(state["step"])

    def state_dict(self) -> dict[str, Any]:
        return {
            "networks": {name: net.state_dict() for name, net in self.networks().items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers().items()},
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for name, net in self.networks().items():
            net.load_state_dict(state["networks"][name])
        for name, opt in self.optimizers().items():
            opt.load_state_dict(state["optimizers"][name])
        self.load_extra_state(state["extra"])


def build_model(name: str, spec: DataSpec, config: Optional[Mapping[str, Any]] = None,
                device: torch.device | str = "cpu") -> GANVariant:
    """Instantiate the registered variant `name` for `spec`."""
    cls = MODELS.get(name)
    if cls.task != spec.task:
        spec = DataSpec(spec.dataset, spec.channels, spec.resolution, spec.num_classes,
                        task=cls.task, kind=spec.kind)
    return cls(spec, config, device)
