"""One GPU per job: per-GPU lock files held with flock for the life of the process.

Snakemake's `resources: gpu=1` bounds how many GPU jobs run at once but never says which GPU a
job gets. Each job takes the first free lock among the visible GPUs; the kernel drops a flock when
its holder dies, so a killed job frees its GPU with no clean-up.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Optional, Sequence


class NoFreeGPU(RuntimeError):
    """Every visible GPU is held by another job."""


@dataclass
class GPULease:
    """A held GPU: `index` is the device ordinal inside this process (what torch calls cuda:index),
    `physical_id` the id as listed in the inherited CUDA_VISIBLE_DEVICES (or the ordinal)."""

    index: int
    physical_id: str
    handle: IO[bytes]

    @property
    def device(self) -> str:
        return f"cuda:{self.index}"

    def release(self) -> None:
        if not self.handle.closed:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()

    def __enter__(self) -> "GPULease":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def visible_gpu_ids(n_devices: int, env: Optional[dict[str, str]] = None) -> list[str]:
    """Physical ids of the GPUs this process may use, honouring an inherited CUDA_VISIBLE_DEVICES."""
    env = os.environ if env is None else env
    inherited = env.get("CUDA_VISIBLE_DEVICES")
    if inherited is not None and inherited.strip() != "":
        return [d.strip() for d in inherited.split(",") if d.strip()][:n_devices]
    return [str(i) for i in range(n_devices)]


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
