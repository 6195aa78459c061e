"""Tasks: what a variant trains on and what it is evaluated on, one registry entry each.

A variant names its task (`GANVariant.task`); the loop, the sampler and the report read the
task's fields instead of branching on its name:
  * `two_domain`: training batches carry a second, unpaired domain (`Batch.x_b`);
  * `conditional`: evaluation draws the label bank and the class metrics apply;
  * `uses_latents` / `uses_source`: evaluation inputs are latents from the suite's latent bank,
    or held-out source-domain images (translation), or both; `uses_source_b`: held-out
    domain-B images too, for a task that translates both ways;
  * `outputs`: what `generate` returns, by name; `primary` is the output the image metrics score
    (the others are kept in the samples file for task metrics and panels);
  * two-domain tasks also say what their images are, for the task metrics and the floors:
    `output_domains` (the domain, "a" or "b", of each output), `pairs` (a domain-A and a
    domain-B image made from one input: a pair the domain task's known transform can check) and
    `cycles` (an input and its reconstruction); "source" and "source_b" name the evaluation
    inputs (held-out domain-A and domain-B images).
Adding a task is one `TASKS.register` call; nothing else needs to know its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Optional

import torch

from gans.registry import Registry
from gans.spec import EvalInput

if TYPE_CHECKING:
    from gans.models.base import GANVariant
    from gans.spec import DataSpec


def label_bank(n: int, num_classes: int) -> torch.Tensor:
    """The evaluation labels 0, 1, ..., K-1, 0, 1, ...: every class equally often, in a fixed order."""
    return torch.arange(n) % num_classes


@dataclass(frozen=True)
class Task:
    """One kind of training data and evaluation input/output."""

    name: str
    description: str
    outputs: tuple[str, ...] = ("x",)
    primary: str = "x"
    two_domain: bool = False
    conditional: bool = False
    uses_latents: bool = True
    uses_source: bool = False
    uses_source_b: bool = False
    output_domains: Mapping[str, str] = field(default_factory=dict)
    pairs: tuple[tuple[str, str], ...] = ()
    cycles: tuple[tuple[str, str], ...] = ()

    def plan(self, n: int, spec: "DataSpec", source: Optional[torch.Tensor] = None,
             source_b: Optional[torch.Tensor] = None) -> EvalInput:
        """The fixed (non-random) evaluation inputs: the label bank and/or the source images.

        A translation task evaluates on at most as many source images as there are (in both
        domains, when it translates both ways).
        """
        labels = label_bank(n, spec.num_classes) if self.conditional else None
        if not self.uses_source:
            return EvalInput(labels=labels)
        if source is None:
            raise ValueError(f"task {self.name!r} translates held-out source images: none were given")
        if self.uses_source_b:
            if source_b is None:
                raise ValueError(f"task {self.name!r} also translates held-out domain-B images: "
                                 "none were given")
            n = min(n, len(source), len(source_b))
            source_b = source_b[:n]
        else:
            source_b = None
        return EvalInput(labels=None if labels is None else labels[:len(source)], source=source[:n],
                         source_b=source_b)

    def size(self, n: int, plan: EvalInput) -> int:
        """How many samples the plan makes: n, or the number of source images."""
        return len(plan) if self.uses_source else n

    def draw(self, model: "GANVariant", plan: EvalInput, size: int, generator: torch.Generator,
             truncation: Optional[float] = None) -> EvalInput:
        """A chunk's inputs: the plan's part plus latents drawn from the bank's generator."""
        z = model.sample_latent(size, generator, truncation) if self.uses_latents else None
        return EvalInput(z=z, labels=plan.labels, source=plan.source, source_b=plan.source_b)


TASKS: Registry[Task] = Registry("task")

for _task in (
    Task("unconditional", "images from latents"),
    Task("conditional", "images from latents and class labels", conditional=True),
    Task("coupled", "a pair of images, one per domain, from one latent (trained on two unpaired "
         "domains)", outputs=("a", "b"), primary="a", two_domain=True,
         output_domains={"a": "a", "b": "b"}, pairs=(("a", "b"),)),
    Task("translation", "held-out domain-A images translated to domain B and back, and held-out "
         "domain-B images to A and back (trained on two unpaired domains)",
         outputs=("translated", "reconstructed", "reverse_translated", "reverse_reconstructed"),
         primary="translated", two_domain=True, uses_latents=False, uses_source=True,
         uses_source_b=True,
         output_domains={"translated": "b", "reconstructed": "a", "reverse_translated": "a",
                         "reverse_reconstructed": "b"},
         pairs=(("source", "translated"),),
         cycles=(("source", "reconstructed"), ("source_b", "reverse_reconstructed"))),
):
    TASKS.register(_task.name)(_task)
