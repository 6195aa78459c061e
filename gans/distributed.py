"""One training job on several processes (one per GPU; on a CPU, gloo processes).

A suite's `gpus_per_job: N` makes the train rule start the job through torchrun
(`python -m torch.distributed.run --standalone --nproc_per_node N -m gans train ...`), which sets
RANK and WORLD_SIZE in each process's environment. `process_group` joins them (nccl on GPUs, gloo
on CPUs) and hands the loop a `Ranks`, which it passes on to the data stream and the model.

The suite's batch size is the global one: every process draws the same seeded data order and
the same latents, and takes its own contiguous share of each minibatch (`local_rows`), so N
processes see the images and latents one process would see with the whole batch. Gradients are
averaged across the processes right before every optimizer step (`hook_optimizer`), so every
process applies the same update and the networks stay identical. The losses the loop logs and
checks for divergence are the mean over the processes (`mean`), the same on every process, so
all of them stop at the same step. Only process 0 writes files.

Why not torch's DistributedDataParallel: it averages the gradients of a backward pass only when
that pass follows a forward through its wrapper and accumulates into every parameter it expects.
Two ways the variants compute gradients break that, silently, on torch 2.14.1 (measured with two
gloo processes; tests/test_distributed.py keeps the check): a training step that calls a
network's parts (StyleGAN trains through G.mapping and G.synthesize; growing models set levels on
G and D; BigGAN reads G.shared), and a gradient penalty taken through autograd.grad (WGAN-GP,
ProGAN, StyleGAN's R1) even through DDP's own forward, which leaves each process with its own
share's gradients (pytorch/pytorch issue 47562 reports the same). Averaging every gradient at
the optimizer step, as NVlabs' stylegan3 training loop does (one flattened all-reduce, no DDP),
covers every way a variant computes its gradients and gives the one-process gradients of the
whole batch.

What stays per process: statistics over a minibatch (BatchNorm, ProGAN's and StyleGAN's
minibatch standard deviation) are over the process's share, as with one process at that batch
size; random draws other than the latents and fake labels (dropout masks, gradient-penalty
interpolation weights, StyleGAN's noise maps) repeat across the processes, since all of them
run the same seeded RNG stream; state outside the networks and optimizers that depends on the
process's images (CycleGAN's image pools) is process 0's after a resume.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping, Optional

import torch
import torch.distributed as dist

# device type -> collective backend
BACKENDS: Mapping[str, str] = {"cpu": "gloo", "cuda": "nccl"}


@dataclass(frozen=True)
class Ranks:
    """This process's place in its job: `rank` of `world_size` processes; `device` is where the
    tensors of collective calls live (the process's GPU for nccl, the CPU for gloo)."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        """Process 0: the one that prints progress and writes every output and checkpoint."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def local_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """This process's share of a global minibatch (or of anything drawn per sample for one):
        the rank-th of world_size equal, contiguous parts, in rank order."""
        if len(rows) % self.world_size:
            raise ValueError(f"a minibatch of {len(rows)} does not split into {self.world_size} "
                             f"equal shares: make the batch size a multiple of the number of "
                             f"processes (the suite's gpus_per_job)")
        share = len(rows) // self.world_size
        return rows[self.rank * share:(self.rank + 1) * share]

    def hook_optimizer(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        """The optimizer, averaging its gradients across the processes before every step
        (unchanged with one process)."""
        if self.distributed:
            optimizer.register_step_pre_hook(lambda opt, args, kwargs: self.average_gradients(opt))
        return optimizer

    def average_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        """Replace the gradient of every parameter of `optimizer` that has one by its mean over
        the processes: one all-reduce of all of them, flattened."""
        grads = [p.grad for group in optimizer.param_groups for p in group["params"]
                 if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def mean(self, values: Mapping[str, float]) -> dict[str, float]:
        """Each value averaged over the processes (the same dict on every process); a
        non-finite value on any process makes the mean non-finite, so the divergence check
        agrees everywhere. With one process: the values as they are."""
        if not self.distributed:
            return dict(values)
        keys = list(values)
        total = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return dict(zip(keys, (total / self.world_size).tolist()))

    def check_same(self, value: int, what: str) -> None:
        """Raise unless every process has the same integer `value` (e.g. the resumed step)."""
        if not self.distributed:
            return
        bounds = torch.tensor([value, -value], dtype=torch.int64, device=self.device)
        dist.all_reduce(bounds, op=dist.ReduceOp.MAX)
        if bounds[0].item() != -bounds[1].item():
            raise RuntimeError(f"the {self.world_size} processes disagree on {what}: "
                               f"{-bounds[1].item()} to {bounds[0].item()}")

    def broadcast_(self, tensors: Iterable[torch.Tensor]) -> None:
        """Overwrite `tensors` with process 0's (networks identical from the start, as DDP does)."""
        if self.distributed:
            with torch.no_grad():
                for tensor in tensors:
                    dist.broadcast(tensor.detach(), src=0)


SINGLE_PROCESS = Ranks()


def launched_world_size(env: Optional[Mapping[str, str]] = None) -> int:
    """How many processes torchrun started for this job (1 when it did not start this one)."""
    env = os.environ if env is None else env
    return int(env.get("WORLD_SIZE", "1"))


@contextmanager
def process_group(device: torch.device | str) -> Iterator[Ranks]:
    """Join the job's processes (torchrun's environment) with the backend for `device`, and
    leave on exit; a process torchrun did not start is a job of its own (SINGLE_PROCESS)."""
    device = torch.device(device)
    if launched_world_size() == 1:
        yield SINGLE_PROCESS
        return
    die_with_launcher()
    if device.type not in BACKENDS:
        raise ValueError(f"no collective backend for device {device} (known: {', '.join(BACKENDS)})")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(BACKENDS[device.type])
    try:
        yield Ranks(dist.get_rank(), dist.get_world_size(), device)
    finally:
        dist.destroy_process_group()


PR_SET_PDEATHSIG = 1  # prctl(2) option: the signal this process gets when its parent dies


def die_with_launcher() -> None:
    """Have the kernel kill this process when torchrun, which started it, dies (Linux).

    torchrun starts each process in a session of its own, so a SIGKILL of the job's process
    group (`kill -9 -PGID`, the fault tests) reaches torchrun alone and would leave the processes
    training and writing with nobody to wait for them; a job killed that way must stop whole,
    as a one-process job does, before its rerun resumes.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() == 1:  # torchrun died before the line above: nobody would send the signal
        os.kill(os.getpid(), signal.SIGKILL)
