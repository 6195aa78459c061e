"""Per-GPU flock locks: concurrent jobs get different GPUs, and a killed holder frees its GPU."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gans.gpu_lock import NoFreeGPU, acquire_gpu, visible_gpu_ids


def test_two_allocations_get_different_gpus(tmp_path: Path) -> None:
    first = acquire_gpu(tmp_path, ["0", "1"])
    second = acquire_gpu(tmp_path, ["0", "1"])
    assert {first.physical_id, second.physical_id} == {"0", "1"}
    with pytest.raises(NoFreeGPU):
        acquire_gpu(tmp_path, ["0", "1"])
    first.release()
    third = acquire_gpu(tmp_path, ["0", "1"])
    assert third.physical_id == first.physical_id
    second.release()
    third.release()


def test_inherited_cuda_visible_devices_is_honoured() -> None:
    assert visible_gpu_ids(2, {"CUDA_VISIBLE_DEVICES": "3,5"}) == ["3", "5"]
    assert visible_gpu_ids(2, {}) == ["0", "1"]
    lease_ids = visible_gpu_ids(4, {"CUDA_VISIBLE_DEVICES": "6"})
    assert lease_ids == ["6"]


def test_killed_holder_frees_its_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from gans.gpu_lock import acquire_gpu; "
         f"l = acquire_gpu({str(tmp_path)!r}, ['0']); print(l.physical_id, flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent)
    assert holder.stdout.readline().strip() == b"0"
    with pytest.raises(NoFreeGPU):
        acquire_gpu(tmp_path, ["0"])
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lease = acquire_gpu(tmp_path, ["0"], timeout_s=5, poll_s=0.05)
    assert lease.physical_id == "0" and lease.device == "cuda:0"
    lease.release()


def test_waits_for_a_gpu_to_free_up(tmp_path: Path) -> None:
    held = acquire_gpu(tmp_path, ["0"])
    start = time.monotonic()
    with pytest.raises(NoFreeGPU):
        acquire_gpu(tmp_path, ["0"], timeout_s=0.3, poll_s=0.05)
    assert time.monotonic() - start >= 0.3
    held.release()
