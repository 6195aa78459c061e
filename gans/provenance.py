"""Where a number came from: code version, package versions, machine."""

from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

import gans
from gans.portable import numeric_settings

PACKAGES = ("torch", "torchvision", "torch-fidelity", "snakemake", "numpy", "pandas")


@lru_cache(maxsize=1)
def code_version() -> str:
    """`git describe` of the checkout the package runs from, else the package version."""
    root = Path(gans.__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty", "--tags"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return f"v{gans.__version__}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def provenance(device: torch.device | str = "cpu") -> dict[str, Any]:
    device = torch.device(device)
    record: dict[str, Any] = {
        "code_version": code_version(),
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in PACKAGES},
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "device": str(device),
        # CPU capability, vendor, thread counts, MKL/oneDNN settings: what the last bits depend on
        "numeric": numeric_settings(),
    }
    if device.type == "cuda":
        record["gpu"] = torch.cuda.get_device_name(device)
    return record
