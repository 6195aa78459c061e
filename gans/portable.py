"""Portable mode: the numeric settings under which a CPU run gives the same bits on any x86-64
machine with AVX2, whatever its vendor or its widest vector unit.

A CPU result's last bits depend on more than the seed. torch dispatches its own kernels to the
widest instruction set it finds (AVX-512 here, AVX2 elsewhere); oneDNN's convolutions do the same;
MKL's matrix products pick a code path per processor model and vendor; the OpenBLAS that SciPy
loads picks its kernels per core type. Each choice changes the order of floating-point sums, and a
GAN amplifies the first differing bit into a different model. Portable mode pins every one of
those choices to one that exists on every AVX2 machine. The variables are read when each library
starts, so they must be in the environment before the process imports torch: the workflow puts
them into the environment of every job (`--config portable=true`, `make reproduce`).

What they cannot pin is recorded instead (`numeric_settings`, in every run's provenance): the
thread counts (pinned by the suite's --threads) and the libraries' versions.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any, Mapping

# Each value is the one that every x86-64 CPU with AVX2 runs the same way.
PORTABLE_ENV: Mapping[str, str] = {
    # torch's own CPU kernels (and its vectorised normal sampler) at the AVX2 level
    "ATEN_CPU_CAPABILITY": "avx2",
    # oneDNN (convolutions) capped at AVX2 jit kernels
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    # MKL (linear layers, bmm, LAPACK): the one CNR branch MKL keeps identical on Intel and on
    # other vendors' processors; its AVX2 branch is only promised on Intel CPUs
    "MKL_CBWR": "COMPATIBLE",
    "MKL_DYNAMIC": "FALSE",
    "OMP_DYNAMIC": "FALSE",
    # the OpenBLAS inside NumPy/SciPy (FID's matrix square root): Haswell = its AVX2 kernels
    "OPENBLAS_CORETYPE": "Haswell",
}

# what a run's provenance records about numeric settings (set or not)
RECORDED_ENV = (*PORTABLE_ENV, "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

REQUIRED_CPU_FLAGS = ("avx2", "fma")


class PortableModeError(RuntimeError):
    """Portable mode cannot run on this machine (not x86-64, or no AVX2/FMA)."""


def _cpuinfo_field(name: str, cpuinfo: Path) -> str | None:
    """The value of the first `name : value` line of /proc/cpuinfo (None if absent or unreadable)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The instruction-set flags of the first processor, from /proc/cpuinfo (empty if unreadable)."""
    return set((_cpuinfo_field("flags", cpuinfo) or "").split())


def cpu_vendor(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """GenuineIntel, AuthenticAMD, ...: torch's dropout and MKL both branch on it."""
    return _cpuinfo_field("vendor_id", cpuinfo) or "unknown"


def check_portable_cpu(machine: str | None = None, flags: set[str] | None = None) -> None:
    """Raise PortableModeError unless this is an x86-64 CPU with AVX2 and FMA."""
    machine = machine if machine is not None else platform.machine()
    if machine.lower() not in ("x86_64", "amd64"):
        raise PortableModeError(
            f"portable mode pins x86-64 AVX2 code paths; this machine is {machine}")
    flags = flags if flags is not None else cpu_flags()
    missing = [flag for flag in REQUIRED_CPU_FLAGS if flag not in flags]
    if missing:
        raise PortableModeError(
            f"portable mode needs a CPU with {', '.join(REQUIRED_CPU_FLAGS)}; this one lacks "
            f"{', '.join(missing)}")


def portable_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: os.environ) with the portable settings on top."""
    env = dict(os.environ if base is None else base)
    env.update(PORTABLE_ENV)
    return env


def is_portable(env: Mapping[str, str] | None = None) -> bool:
    """Whether every portable setting is in force in `env` (default: this process)."""
    env = os.environ if env is None else env
    return all(env.get(key) == value for key, value in PORTABLE_ENV.items())


def numeric_settings() -> dict[str, Any]:
    """What decides a CPU result's last bits, as this process runs: for provenance."""
    import torch

    return {
        "portable_mode": is_portable(),
        "cpu_vendor": cpu_vendor(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "intra_op_threads": torch.get_num_threads(),
        "inter_op_threads": torch.get_num_interop_threads(),
        "mkl": torch.backends.mkl.is_available(),
        "onednn": torch.backends.mkldnn.is_available(),
        "libraries": _library_versions(torch.__config__.show()),
        "env": {key: os.environ.get(key) for key in RECORDED_ENV},
    }


def _library_versions(config: str) -> dict[str, str]:
    """MKL and oneDNN versions from torch's build summary (torch has no API for them)."""
    versions = {}
    for line in config.splitlines():
        line = line.strip(" -")
        if "Math Kernel Library Version" in line:
            versions["mkl"] = line.split("Version", 1)[1].strip()
        elif line.startswith("Intel(R) MKL-DNN") or line.startswith("oneDNN"):
            versions["onednn"] = line
    return versions
