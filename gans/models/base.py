"""The GAN contract: what a variant owes the training loop, the sampler and the report, and what
it gets from them.

A variant holds its method's math and nothing else. It declares (class attributes):
  citation               the paper: authors, year, arXiv id (`year` and `paper` derive from it;
                         reports sort by year);
  task                   an entry of gans/tasks.py: training data and evaluation inputs/outputs;
  data_kinds             which DataSpec.kind values it trains on ("image", "points");
  defaults               its documented hyper-parameters; a suite may override any, never add one;
  kind_defaults          per data kind, defaults that replace `defaults` (toy 2-D recipes);
  choice_defaults        per value of a choice key, defaults that come with it (CGAN's backbone);
  protocol_notes         its documented deviations, shown in the report (and `deviations(config)`
                         for those a suite's config makes, flagged there too);
  latent_prior           "normal" or "uniform" (z_dim from the config; a `latent_prior` key in
                         `defaults` makes it a setting a suite may change);
  supports_truncation    whether evaluation may ask for truncated sampling;
  uses_budget            whether its schedule reads the step budget (then the budget is part of
                         the run's identity, so a longer run never resumes a shorter one);
  ema_networks           networks averaged when the config sets `ema_decay` (see `update_ema`).
  network_builders       per data kind, the function that builds its (G, D) pair;
and implements `train_step(batch, progress)` and either `optimizer(name)` (for the default G/D
pair of `build`) or `build()` itself (networks through `add_network`).

The loop owns progress (steps, images seen) and hands each step a `Progress`; it calls
`update_ema` after every step, places the networks (channels-last memory) and, for a job on
several processes, hands the model its `Ranks` (gans/distributed.py: every optimizer averages
its gradients across the processes, `draw_latent` and `draw_labels` give this process its share
of the global minibatch's draws), and checkpoints `state_dict()`. The base class gives the rest:
`networks`, `optimizers`, `sample_latent`, `generate` from the declared generator (its EMA copy
when there is one), the checkpoint rule the protocol records, and a resume that restores extra
state (growth stage, pools) before any weights. A variant draws its training noise from torch's
global RNG, which the loop seeds and checkpoints (latents and fake labels through `draw_latent`
and `draw_labels`), makes every optimizer through `add_network` or `set_optimizer`, and never
reads files or the clock.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable, Mapping, Optional

import torch
from torch import nn

from gans.distributed import SINGLE_PROCESS, Ranks
from gans.nn.ema import ema_copy, ema_update_
from gans.nn.latents import LATENT_PRIORS
from gans.registry import Registry
from gans.spec import Batch, DataSpec, EvalInput, Progress
from gans.tasks import TASKS

MODELS: Registry[type["GANVariant"]] = Registry("model")

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
NetworkBuilder = Callable[[DataSpec, Mapping[str, Any]], tuple[nn.Module, nn.Module]]
Placement = Callable[[nn.Module], nn.Module]
EMA_SUFFIX = "_ema"


@dataclass(frozen=True)
class Citation:
    """Where a variant comes from; its year places it on the roadmap."""

    authors: str
    year: int
    arxiv: str

    def __str__(self) -> str:
        return f"{self.authors} ({self.year}), arXiv:{self.arxiv}"


def keep_in_place(network: nn.Module) -> nn.Module:
    """The placement of a model nobody placed: networks stay as built."""
    return network


class GANVariant(abc.ABC):
    """Base class of every registered GAN variant (see the module docstring for the contract)."""

    citation: ClassVar[Optional[Citation]] = None
    year: ClassVar[int] = 0       # from the citation
    paper: ClassVar[str] = ""     # from the citation
    task: ClassVar[str] = "unconditional"
    data_kinds: ClassVar[tuple[str, ...]] = ("image",)
    defaults: ClassVar[Mapping[str, Any]] = {}
    kind_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    choice_defaults: ClassVar[Mapping[str, Mapping[Any, Mapping[str, Any]]]] = {}
    protocol_notes: ClassVar[str] = ""
    latent_prior: ClassVar[str] = "normal"
    supports_truncation: ClassVar[bool] = False
    uses_budget: ClassVar[bool] = False
    ema_networks: ClassVar[tuple[str, ...]] = ("G",)
    network_builders: ClassVar[Mapping[str, NetworkBuilder]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "citation" in cls.__dict__ and cls.citation is not None:
            cls.year, cls.paper = cls.citation.year, str(cls.citation)

    def __init__(self, spec: DataSpec, config: Optional[Mapping[str, Any]] = None,
                 device: torch.device | str = "cpu") -> None:
        if spec.kind not in self.data_kinds:
            raise ValueError(f"{type(self).__name__} does not train on {spec.kind} data "
                             f"(supports: {', '.join(self.data_kinds)})")
        self.spec = spec
        self.config = self.resolve_config(config or {}, spec.kind)
        self.device = torch.device(device)
        self.nets: dict[str, nn.Module] = {}
        self.opts: dict[str, torch.optim.Optimizer] = {}
        self.placement: Placement = keep_in_place
        self.ranks: Ranks = SINGLE_PROCESS
        self.build()
        if self.ema_decay is not None:
            for name in self.ema_networks:
                self.nets[name + EMA_SUFFIX] = ema_copy(self.nets[name])

    # ----------------------------------------------------------------- config
    @classmethod
    def resolve_config(cls, overrides: Mapping[str, Any], kind: str = "image") -> dict[str, Any]:
        """defaults < kind_defaults[kind] < choice_defaults[key][value] < overrides.

        An unknown key, or a value whose type differs from its default's, is a config error
        naming the key, not a crash later in a training job.
        """
        unknown = sorted(set(overrides) - set(cls.defaults))
        if unknown:
            raise ValueError(f"unknown config key(s) for {cls.__name__}: {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(cls.defaults))})")
        for key, value in overrides.items():
            _check_type(cls.__name__, key, value, cls.defaults[key])
        config = {**cls.defaults, **cls.kind_defaults.get(kind, {})}
        for key, by_value in cls.choice_defaults.items():
            value = overrides.get(key, config[key])
            if value not in by_value:
                raise ValueError(f"{key} must be one of {sorted(by_value)}, got {value!r}")
            config.update(by_value[value])
        return {**config, **overrides}

    @classmethod
    def deviations(cls, config: Mapping[str, Any]) -> list[str]:
        """What this resolved config turns off or changes of the method, one phrase each (a
        technique of the paper set to 0 by a suite); the report flags them. None by default."""
        return []

    @property
    def ema_decay(self) -> Optional[float]:
        return self.config.get("ema_decay")

    # ----------------------------------------------------------------- networks
    def build(self) -> None:
        """Build the networks (and their optimizers) with `add_network`, in a fixed order.

        The default is the classic pair: G and D from `build_networks`, each with the optimizer
        `optimizer(name)` makes. Variants with other networks override this.
        """
        G, D = self.build_networks()
        self.add_network("G", G, self.optimizer("G"))
        self.add_network("D", D, self.optimizer("D"))

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        """G and D for the data kind, from `network_builders` (data kind -> builder)."""
        return self.network_builders[self.spec.kind](self.spec, self.config)

    def optimizer(self, network: str) -> OptimizerFactory:
        """The optimizer of one network of the default pair (variants using `build` set it)."""
        raise TypeError(f"{type(self).__name__} builds its own networks or must say "
                                  f"which optimizer trains {network}")

    def add_network(self, name: str, network: nn.Module,
                    optimizer: Optional[OptimizerFactory] = None) -> nn.Module:
        """Register a network under `name` (reachable as self.<name>), on the model's device,
        with its optimizer (reachable as self.opt_<name>) when one is given."""
        network = self.placement(network.to(self.device))
        self.nets[name] = network
        if optimizer is not None:
            self.set_optimizer(name, optimizer)
        return network

    def set_optimizer(self, name: str, optimizer: OptimizerFactory) -> torch.optim.Optimizer:
        """(Re)make the optimizer of network `name` (self.opt_<name>): a growing variant starts
        afresh at each phase. Every optimizer is made here, so in a job on several processes
        each one averages its gradients across them before its steps."""
        self.opts[name] = self.ranks.hook_optimizer(optimizer(self.nets[name].parameters()))
        return self.opts[name]

    def __getattr__(self, name: str) -> Any:
        """self.G, self.D, self.opt_G, ...: the registered networks and optimizers by name."""
        nets, opts = self.__dict__.get("nets", {}), self.__dict__.get("opts", {})
        if name in nets:
            return nets[name]
        if name.startswith("opt_") and name[4:] in opts:
            return opts[name[4:]]
        raise AttributeError(f"{type(self).__name__} has no attribute or network {name!r}")

    def networks(self) -> dict[str, nn.Module]:
        """All networks by name, EMA copies included; saved in checkpoints and final.pt."""
        return dict(self.nets)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """All optimizers by name; saved in checkpoints."""
        return dict(self.opts)

    def set_learning_rate(self, lr: float) -> None:
        """Give every optimizer `lr` (a schedule that reads the step sets it before each step)."""
        for opt in self.opts.values():
            for group in opt.param_groups:
                group["lr"] = lr

    def place(self, placement: Placement, ranks: Ranks = SINGLE_PROCESS) -> None:
        """Apply the loop's placement (memory format) to every network now, and to every
        network added or rebuilt later; with the ranks of a job on several processes, every
        optimizer, made now or later, averages its gradients across them."""
        self.placement = placement
        self.networks_changed()
        self.ranks = ranks
        for optimizer in self.opts.values():
            ranks.hook_optimizer(optimizer)

    def networks_changed(self) -> None:
        """Re-apply the placement; a variant whose networks grow calls this after growing."""
        self.nets = {name: self.placement(net) for name, net in self.nets.items()}

    def evaluation_network(self, name: str = "G") -> nn.Module:
        """The network evaluation uses: its EMA copy where the method keeps one."""
        return self.nets.get(name + EMA_SUFFIX, self.nets[name])

    @property
    def checkpoint_rule(self) -> str:
        """Which weights `generate` uses; recorded in every metric's protocol."""
        if self.ema_decay is None:
            return "final step"
        return (f"EMA of the final step's generator (decay {self.ema_decay}, "
                f"from step {self.config.get('ema_start', 0)})")

    # ----------------------------------------------------------------- training
    def batches_per_step(self, progress: Progress) -> int:
        """How many fresh real minibatches the next `train_step` consumes.

        The loop concatenates that many minibatches (in the seeded data order) into the Batch it
        passes; a variant with n critic iterations per G update returns n and splits the Batch
        with `Batch.chunks(n)`, so every critic iteration sees new real data, as in the papers.
        """
        return 1

    def batch_size(self, progress: Progress) -> int:
        """The minibatch size of the next step: the suite's, unless the method changes it (ProGAN
        lowers it as the resolution grows)."""
        return progress.batch_size

    @abc.abstractmethod
    def train_step(self, batch: Batch, progress: Progress) -> dict[str, float]:
        """One generator update with whatever discriminator/critic updates the method prescribes.

        Returns the losses (and method-specific curves) as plain floats for the loss log: keys
        starting with "loss" are drawn as training curves, "wasserstein_estimate" gets its own.
        """

    def update_ema(self, progress: Progress) -> None:
        """Called by the loop after every step (progress.step = updates done): before
        `ema_start` the average copies the generator, then follows it with `ema_decay`."""
        if self.ema_decay is None:
            return
        decay = self.ema_decay if progress.step > self.config.get("ema_start", 0) else 0.0
        for name in self.ema_networks:
            ema_update_(self.nets[name + EMA_SUFFIX], self.nets[name], decay)

    # ----------------------------------------------------------------- evaluation
    def draw_latent(self, n: int) -> torch.Tensor:
        """Training noise from the global RNG on the model's device, from the method's prior.

        n is this process's minibatch: in a job of N processes each draws the N * n latents of
        the global minibatch (the same on all, from the same RNG stream) and keeps its share, so
        the job trains on the latents one process would draw for the whole minibatch."""
        return self.ranks.local_rows(self._latent(n * self.ranks.world_size, None, self.device))

    def draw_labels(self, n: int) -> torch.Tensor:
        """Classes of n training fakes, uniform over the classes (global RNG), as SAGAN's and
        BigGAN's official codes draw them; shared out over the processes like `draw_latent`."""
        drawn = torch.randint(self.spec.num_classes, (n * self.ranks.world_size,), device=self.device)
        return self.ranks.local_rows(drawn)

    def sample_latent(self, n: int, generator: torch.Generator,
                      truncation: Optional[float] = None) -> torch.Tensor:
        """n evaluation latents drawn on the CPU with `generator` (reproducible anywhere)."""
        self._refuse_truncation(truncation)
        return self._latent(n, generator, "cpu")

    def _latent(self, n: int, generator: Optional[torch.Generator],
                device: torch.device | str) -> torch.Tensor:
        return LATENT_PRIORS[self.prior](n, self.config["z_dim"], generator, device)

    @property
    def prior(self) -> str:
        """The latent prior: the config's `latent_prior` where the variant has that key, else the
        class's."""
        return self.config.get("latent_prior", self.latent_prior)

    def _refuse_truncation(self, truncation: Optional[float]) -> None:
        if truncation is not None and not self.supports_truncation:
            raise ValueError(f"{type(self).__name__} has no truncated sampling (truncation={truncation})")

    def generate(self, inputs: EvalInput, truncation: Optional[float] = None) -> dict[str, torch.Tensor]:
        """The task's outputs for `inputs`, in [-1, 1] for images, from the evaluation network."""
        self._refuse_truncation(truncation)
        task = TASKS.get(self.task)
        if task.conditional and inputs.labels is None:
            raise ValueError(f"{type(self).__name__} generates for given labels: pass labels")
        G = self.evaluation_network("G")
        G.eval()
        args = (inputs.z, inputs.labels) if task.conditional else (inputs.z,)
        return {task.primary: G(*args)}

    def sample(self, inputs: EvalInput, truncation: Optional[float] = None) -> dict[str, torch.Tensor]:
        """`generate` without gradients, on the model's device, returned as float32 on the CPU."""
        with torch.no_grad():
            outputs = self.generate(inputs.to(self.device), truncation)
        return {name: out.float().cpu() for name, out in outputs.items()}

    # ----------------------------------------------------------------- state
    def extra_state(self) -> dict[str, Any]:
        """Training state that is not in a network or optimizer (growth stage, pools)."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore `extra_state()`; a variant that grows rebuilds its networks and optimizers
        for the restored stage here, before any weights are loaded into them."""

    def state_dict(self) -> dict[str, Any]:
        return {
            "networks": {name: net.state_dict() for name, net in self.nets.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.opts.items()},
            "extra": self.extra_state(),
        }

    def load_networks(self, state: Mapping[str, Any]) -> None:
        """Extra state first (it may rebuild networks), then every network's weights."""
        self.load_extra_state(state.get("extra", {}))
        for name, net in self.nets.items():
            net.load_state_dict(state["networks"][name])
        self.networks_changed()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.load_networks(state)
        for name, opt in self.opts.items():
            opt.load_state_dict(state["optimizers"][name])


def _check_type(model: str, key: str, value: Any, default: Any) -> None:
    """A suite value must have its default's type (ints are fine where floats are expected)."""
    if default is None:
        return
    number = (int, float)
    ok = (isinstance(value, bool) == isinstance(default, bool)
          and (isinstance(value, type(default))
               or (isinstance(default, number) and isinstance(value, number))
               or (isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)))))
    if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
        ok = False  # a width or a step count must be whole
    if not ok:
        raise ValueError(f"config key {key!r} of {model} must be a {type(default).__name__} like "
                         f"its default {default!r}, got {value!r}")


def build_model(name: str, spec: DataSpec, config: Optional[Mapping[str, Any]] = None,
                device: torch.device | str = "cpu") -> GANVariant:
    """Instantiate the registered variant `name` for `spec` (its task is the variant's own)."""
    cls = MODELS.get(name)
    if cls.task != spec.task:
        spec = DataSpec(spec.dataset, spec.channels, spec.resolution, spec.num_classes,
                        task=cls.task, kind=spec.kind)
    return cls(spec, config, device)
