"""Training minibatches: a seeded order over a prepared split, epoch after epoch, on the device.

The uint8 split is held on the training device and batches are gathered by index, so the loop
never decodes an image. The order comes from one seeded generator; its state, the epoch and the
position in it go into checkpoints, so a resumed run draws exactly the batches an uninterrupted
one would.

In a job on several processes (gans/distributed.py) the batch size is the global one: every
process draws the same order and keeps its own share of each minibatch, so together they see the
minibatches one process would.

Each epoch draws two permutations from the generator, one per domain, even for single-domain
data where the second is unused: every run so far was trained with that pattern, and drawing
differently would change their batches (and so their trained models).
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from gans.data.domains import DOMAIN_TASKS
from gans.distributed import SINGLE_PROCESS, Ranks
from gans.quantize import uint8_to_float
from gans.spec import Batch


class BatchStream:
    """Minibatches in a seeded order: single-domain (x, y) or, for a domain task, two unpaired
    domains (x from A, x_b from B, y the domain-A labels; see gans.data.domains).

    An epoch is one permutation of each domain; when fewer indices than the requested batch size
    remain in it, a new epoch starts (the rest are skipped this epoch).
    """

    def __init__(self, prepared: dict[str, Any], batch_size: int, seed: int,
                 device: torch.device | str = "cpu", domain_task: Optional[str] = None,
                 ranks: Ranks = SINGLE_PROCESS) -> None:
        self.device = torch.device(device)
        self.ranks = ranks
        self.kind = prepared["kind"]
        self.domain_task = domain_task
        if domain_task is None:
            images_a, labels_a, images_b = prepared["data"], prepared["labels"], None
        else:
            domains = DOMAIN_TASKS.get(domain_task).train_domains(prepared)
            images_a, labels_a, images_b = domains.images_a, domains.labels_a, domains.images_b
        self.images_a = images_a.to(self.device)
        self.labels_a = labels_a.to(self.device)
        self.images_b = None if images_b is None else images_b.to(self.device)
        # single-domain data still draws a second permutation of the same length (see above)
        self.size_b = len(self.images_a) if self.images_b is None else len(self.images_b)
        self.epoch_length = min(len(self.images_a), self.size_b)
        self.batch_size = self._checked(batch_size)
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self.position = 0
        self.order_a, self.order_b = self._permutations()

    def next(self, n_minibatches: int = 1, batch_size: Optional[int] = None) -> Batch:
        """n minibatches of batch_size (default: the stream's), in the seeded order, as one Batch
        (this process's share of each, in a job on several processes)."""
        size = self.batch_size if batch_size is None else self._checked(batch_size)
        xs, ys, xbs = [], [], []
        for _ in range(n_minibatches):
            pick_a, pick_b = map(self.ranks.local_rows, self._next_indices(size))
            rows = pick_a.to(self.device)
            xs.append(self._as_float(self.images_a[rows]))
            ys.append(self.labels_a[rows])
            if self.images_b is not None:
                xbs.append(self._as_float(self.images_b[pick_b.to(self.device)]))
        return Batch(torch.cat(xs), torch.cat(ys), torch.cat(xbs) if xbs else None)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), "epoch": self.epoch,
                "position": self.position, "order_a": self.order_a, "order_b": self.order_b}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if (len(state["order_a"]), len(state["order_b"])) != (len(self.images_a), self.size_b):
            raise ValueError("this stream state was saved for data of another size "
                             "(another split or domain task)")
        self.generator.set_state(state["generator"])
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self.order_a, self.order_b = state["order_a"], state["order_b"]

    def _permutations(self) -> tuple[torch.Tensor, torch.Tensor]:
        order_a = torch.randperm(len(self.images_a), generator=self.generator)
        order_b = torch.randperm(self.size_b, generator=self.generator)
        return order_a, order_b

    def _next_indices(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.position + size > self.epoch_length:
            self.epoch += 1
            self.position = 0
            self.order_a, self.order_b = self._permutations()
        picked = slice(self.position, self.position + size)
        self.position += size
        return self.order_a[picked], self.order_b[picked]

    def _checked(self, batch_size: int) -> int:
        if not 1 <= batch_size <= self.epoch_length:
            raise ValueError(f"batch_size must be in [1, {self.epoch_length}], got {batch_size}")
        return batch_size

    def _as_float(self, x: torch.Tensor) -> torch.Tensor:
        return uint8_to_float(x) if self.kind == "image" else x.float()
