"""Per-GPU flock locks: concurrent jobs get different GPUs, a killed holder frees its GPU, the locks
are node-local, and a job a scheduler gave GPUs takes no lock."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from gans.gpu_lock import (NoFreeGPU, acquire_gpu, claim_gpu, job_device, node_lock_dir,
                           visible_gpu_ids)


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


def test_lock_directories_are_node_local(tmp_path: Path) -> None:
    """Two nodes that both see "GPU 0" (a shared base directory) each get their GPU 0."""
    on_a = acquire_gpu(node_lock_dir(tmp_path, host="node-a"), ["0"])
    on_b = acquire_gpu(node_lock_dir(tmp_path, host="node-b"), ["0"])
    assert on_a.physical_id == on_b.physical_id == "0"
    assert (tmp_path / "node-a" / "gpu0.lock").is_file() and (tmp_path / "node-b" / "gpu0.lock").is_file()
    on_a.release()
    on_b.release()
    default = node_lock_dir()  # in this node's temp dir, never in the (shared) working directory
    assert default.name == socket.gethostname()
    assert default.parent.parent == Path(tempfile.gettempdir())


@pytest.mark.parametrize("variable", ["SLURM_STEP_GPUS", "SLURM_JOB_GPUS"])
def test_gpus_assigned_by_the_scheduler_take_no_lock(tmp_path: Path, variable: str) -> None:
    held = acquire_gpu(node_lock_dir(tmp_path), ["0", "3"])  # this node's locks: GPU 0 held
    env = {variable: "3", "CUDA_VISIBLE_DEVICES": "3"}
    lease = claim_gpu(4, tmp_path, env=env, timeout_s=0)
    assert (lease.physical_id, lease.device, lease.locked) == ("3", "cuda:0", False)
    assert not (node_lock_dir(tmp_path) / "gpu3.lock").exists()
    lease.release()
    held.release()


def test_without_a_scheduler_claims_lock_on_this_node(tmp_path: Path) -> None:
    """CUDA_VISIBLE_DEVICES alone narrows the GPUs but the jobs under it still share them."""
    env = {"CUDA_VISIBLE_DEVICES": "1"}
    first = claim_gpu(2, tmp_path, env=env, timeout_s=0)
    assert (first.physical_id, first.device, first.locked) == ("1", "cuda:0", True)
    assert (node_lock_dir(tmp_path) / "gpu1.lock").is_file()
    with pytest.raises(NoFreeGPU):
        claim_gpu(2, tmp_path, env=env, timeout_s=0)
    first.release()
    with pytest.raises(NoFreeGPU, match="no GPU is visible"):
        claim_gpu(0, tmp_path, env={}, timeout_s=0)


def test_job_device_passes_a_named_device_through_and_runs_auto_on_the_cpu_without_cuda(
        tmp_path: Path, monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with job_device("auto", tmp_path) as device:
        assert device == "cpu"
    with job_device("cuda:3", tmp_path) as device:
        assert device == "cuda:3"  # as asked, no lock taken
    assert not any(tmp_path.rglob("*.lock"))


def test_job_device_auto_holds_a_gpu_lock_for_the_job(tmp_path: Path, monkeypatch, capsys) -> None:
    """auto on a CUDA box: each job its own GPU through this node's locks, freed when it ends."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    for name in ("CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS"):
        monkeypatch.delenv(name, raising=False)
    with job_device("auto", tmp_path, "[evaluate]") as first, job_device("auto", tmp_path) as second:
        assert (first, second) == ("cuda:0", "cuda:1")
        with pytest.raises(NoFreeGPU):
            claim_gpu(2, tmp_path, timeout_s=0)
    assert "[evaluate] GPU 0 (cuda:0), holding its lock" in capsys.readouterr().out
    with job_device("auto", tmp_path) as again:
        assert again == "cuda:0"
