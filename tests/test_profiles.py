"""The profiles in profiles/ as Snakemake reads them: the local GPU box's cores and GPUs, and the
SLURM profile's executor, with the cluster's partition and account left to the user."""

from __future__ import annotations

from pathlib import Path

import yaml
from snakemake.cli import parse_args

REPO = Path(__file__).resolve().parent.parent
PROFILES = REPO / "profiles"


def profile_args(name: str):
    """Snakemake's parsed command line for `snakemake --profile profiles/<name>`."""
    _, args = parse_args(["--profile", str(PROFILES / name)])
    return args


def test_local_gpu_profile_runs_two_gpu_jobs_on_eight_cores() -> None:
    args = profile_args("local-gpu")
    assert args.cores == 8 and args.executor is None
    assert {name: resource.value for name, resource in args.resources.items()} == {"gpu": 2}


def test_slurm_profile_submits_through_the_plugin_and_names_no_partition_or_account() -> None:
    args = profile_args("slurm")
    assert args.executor == "slurm" and args.jobs >= 1 and args.latency_wait >= 30
    settings = yaml.safe_load((PROFILES / "slurm" / "config.yaml").read_text())
    assert not any("partition" in str(key) or "account" in str(key)
                   for key in [*settings, *(settings.get("default-resources") or {})])
    # jobs ask for the workflow's resources: the profile sets none of its own
    assert not settings.get("set-resources") and not settings.get("set-threads")
