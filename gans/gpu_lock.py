"""One GPU per job: the scheduler's when it assigned one, else a per-GPU lock file of this node.

Snakemake's `resources: gpu=1` bounds how many GPU jobs run at once but never says which GPU a
job gets. On a GPU box each job takes the first free lock among the visible GPUs, held with flock
for the life of the process: the kernel drops it when its holder dies, so a killed job frees its
GPU with no clean-up. The locks live in a directory of this node (under the temp dir, keyed by
host name), so jobs on two nodes that both see "GPU 0" never contend for one file. A batch
scheduler that hands GPUs to jobs (SLURM's --gpus) already gave this job its own: no lock then.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import socket
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, Mapping, Optional, Sequence

# Set by a scheduler in the environment of a job it gave GPUs to (SLURM: the step's, then the job's).
# CUDA_VISIBLE_DEVICES alone is not one: a user may narrow a box's GPUs with it, and the jobs
# started under it still share them.
SCHEDULER_GPU_VARIABLES = ("SLURM_STEP_GPUS", "SLURM_JOB_GPUS")


class NoFreeGPU(RuntimeError):
    """Every visible GPU is held by another job."""


@dataclass
class GPULease:
    """A GPU for this job: `index` is the device ordinal inside this process (what torch calls
    cuda:index), `physical_id` the id as listed in the inherited CUDA_VISIBLE_DEVICES (or the
    ordinal). `handle` is the held lock file, None when a scheduler assigned the GPU."""

    index: int
    physical_id: str
    handle: Optional[IO[bytes]]

    @property
    def device(self) -> str:
        return f"cuda:{self.index}"

    @property
    def locked(self) -> bool:
        return self.handle is not None

    def release(self) -> None:
        if self.handle is not None and not self.handle.closed:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()

    def __enter__(self) -> "GPULease":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def visible_gpu_ids(n_devices: int, env: Optional[Mapping[str, str]] = None) -> list[str]:
    """Physical ids of the GPUs this process may use, honouring an inherited CUDA_VISIBLE_DEVICES."""
    env = os.environ if env is None else env
    inherited = env.get("CUDA_VISIBLE_DEVICES")
    if inherited is not None and inherited.strip() != "":
        return [d.strip() for d in inherited.split(",") if d.strip()][:n_devices]
    return [str(i) for i in range(n_devices)]


def scheduler_gpu_variable(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The variable through which a batch scheduler gave this job its GPUs, or None."""
    env = os.environ if env is None else env
    return next((name for name in SCHEDULER_GPU_VARIABLES if env.get(name, "").strip()), None)


def node_lock_dir(base: Path | str | None = None, host: Optional[str] = None) -> Path:
    """This node's lock directory: <base>/<host name>. The default base is in the node's temp
    dir, one per user (a lock file another user made could not be opened for writing)."""
    if base is None:
        base = Path(tempfile.gettempdir()) / f"gans-gpu-locks-{os.getuid()}"
    return Path(base) / (host or socket.gethostname())


def acquire_gpu(lock_dir: Path | str, gpu_ids: Sequence[str], timeout_s: float = 0.0,
                poll_s: float = 0.5) -> GPULease:
    """Take the first free GPU of `gpu_ids` (waiting up to timeout_s for one to free up)."""
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    while True:
        for index, physical_id in enumerate(gpu_ids):
            handle = open(lock_dir / f"gpu{physical_id}.lock", "a+b")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n".encode())
            handle.flush()
            return GPULease(index, physical_id, handle)
        if time.monotonic() >= deadline:
            raise NoFreeGPU(f"all {len(gpu_ids)} GPU(s) {list(gpu_ids)} are locked in {lock_dir}")
        time.sleep(poll_s)


def claim_gpu(n_devices: int, lock_base: Path | str | None = None,
              env: Optional[Mapping[str, str]] = None, timeout_s: float = 3600) -> GPULease:
    """The GPU this job trains on: the first one a scheduler assigned it (no lock), else the
    first free lock of this node's directory (see node_lock_dir) among the visible GPUs."""
    env = os.environ if env is None else env
    gpu_ids = visible_gpu_ids(n_devices, env)
    if not gpu_ids:
        raise NoFreeGPU("no GPU is visible to this job")
    if scheduler_gpu_variable(env):
        return GPULease(0, gpu_ids[0], None)
    return acquire_gpu(node_lock_dir(lock_base), gpu_ids, timeout_s=timeout_s)


@contextmanager
def job_device(requested: str, lock_base: Path | str | None = None, log_prefix: str = "") -> Iterator[str]:
    """The device one job runs on, held for the life of the `with` block: `cpu` or `cuda:N` as
    given; for `auto`, a GPU claimed through claim_gpu when CUDA is there, else the CPU. Every
    command that may run on a GPU (train, sample, real-features, evaluate) goes through here."""
    import torch  # here, not at the top: the lock helpers stay usable without torch

    if requested != "auto" or not torch.cuda.is_available():
        yield "cpu" if requested == "auto" else requested
        return
    with claim_gpu(torch.cuda.device_count(), lock_base) as lease:
        how = "holding its lock" if lease.locked else "assigned by the scheduler"
        print(f"{log_prefix} GPU {lease.physical_id} ({lease.device}), {how}".lstrip(), flush=True)
        yield lease.device


def add_device_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    """--device and --gpu-lock-dir, the same for every command that may run on a GPU."""
    parser.add_argument("--device", default=default,
                        help=f"cpu, cuda:N, or auto (a free GPU through this node's lock files, "
                             f"else cpu); default {default}")
    parser.add_argument("--gpu-lock-dir", default=None,
                        help="with --device auto: base of the per-node GPU lock directories (default: "
                             "in the temp dir); unused when a scheduler assigned the job its GPUs")
