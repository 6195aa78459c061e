"""The workflow through a SLURM cluster (`snakemake --executor slurm`) makes the same bits as a
local run: weights and checkpoints, samples, losses and metrics.

Needs a running cluster, which `.ci/run` starts on the CI machine (scripts/slurm-one-node.sh: one
node, no accounting database, so job states come from squeue). Skipped, saying why, only where
SLURM is not installed or no node is up.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from gans.layout import ResultsLayout
from test_workflow import link_prepared_data, snakemake_command, workflow_copy

pytestmark = pytest.mark.slurm

SUITE = "slurm-check"
# What the suite asks SLURM for per training job (and what the test finds in squeue): the
# one-node cluster has no GPU, so none.
TRAIN_RESOURCES = {"mem_mb": 1100, "runtime": 17, "gpu": 0}
SLURM_FLAGS = ("--executor", "slurm", "--jobs", "4",
               "--slurm-status-command", "squeue",     # no accounting database: no sacct
               "--slurm-init-seconds-before-status-checks", "1",
               "--slurm-no-account", "--slurm-keep-successful-logs")
RUN_TIMEOUT_S = 1800
# The metrics of the one model and of the real floor: every job up to them (train, samples,
# real features, evaluate), none after (aggregate and report only reformat these numbers).
TARGETS = [ResultsLayout.for_suite("results", "reports", SUITE).metrics_file("fashion-mnist", "classifier", model, 0)
           for model in ("dcgan", "real")]


def slurm_skip_reason() -> Optional[str]:
    """Why the test cannot run here, or None when a SLURM node is up."""
    missing = [tool for tool in ("sbatch", "sinfo", "squeue", "scancel") if shutil.which(tool) is None]
    if missing:
        return (f"SLURM is not installed ({', '.join(missing)} not found): apt-get install "
                "slurm-wlm, then scripts/slurm-one-node.sh as root")
    result = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    states = set(result.stdout.split())
    if result.returncode != 0 or not states & {"idle", "mix", "alloc"}:
        answer = (result.stdout + result.stderr).strip() or "no nodes"
        return f"no SLURM node is up (sinfo: {answer[:200]}): run scripts/slurm-one-node.sh as root"
    return None


@pytest.fixture(scope="module")
def slurm_cluster() -> None:
    reason = slurm_skip_reason()
    if reason:
        pytest.skip(reason)


def one_model_suite(work: Path) -> dict[str, Any]:
    """The smoke suite cut to one model (DCGAN) and one seed, with the suite's own training
    resources."""
    smoke = yaml.safe_load((work / "benchmarks" / "smoke.yaml").read_text())
    suite = {**smoke, "name": SUITE, "models": ["dcgan"],
             "model_config": {"dcgan": smoke["model_config"]["dcgan"]},
             "evaluation": {k: v for k, v in smoke["evaluation"].items() if k != "truncation_sweep"},
             "resources": {"train": TRAIN_RESOURCES}}
    suite.pop("domain_tasks", None)
    (work / "benchmarks" / f"{SUITE}.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))
    return suite


def prepared_copy(tmp_path: Path, name: str, fashion_mnist_dir: Path) -> Path:
    (tmp_path / name).mkdir()
    work = workflow_copy(tmp_path / name)
    link_prepared_data(work, fashion_mnist_dir)
    one_model_suite(work)
    return work


def slurm_jobs(work: Path) -> list[dict[str, str]]:
    """The cluster's jobs that ran in `work` (finished ones stay listed for MinJobAge)."""
    fields = {"id": "%i", "state": "%T", "comment": "%k", "memory": "%m", "time_limit": "%l",
              "cpus": "%C", "workdir": "%Z"}
    result = subprocess.run(["squeue", "--states=all", "-h", "-o", "|".join(fields.values())],
                            capture_output=True, text=True, timeout=30, check=True)
    rows = [dict(zip(fields, line.split("|"))) for line in result.stdout.splitlines()]
    return [row for row in rows if Path(row["workdir"]) == work]


def cancel_leftover_jobs(work: Path) -> None:
    """Jobs of a run that failed or timed out must not go on writing."""
    alive = [job["id"] for job in slurm_jobs(work) if job["state"] in {"PENDING", "RUNNING"}]
    if alive:
        subprocess.run(["scancel", *alive], timeout=30)


@dataclass
class Run:
    """A snakemake run started in the background, its output in files (no pipe to fill up)."""

    work: Path
    process: subprocess.Popen
    started: float
    wall_s: Optional[float] = None

    @classmethod
    def start(cls, work: Path, *flags: str) -> "Run":
        cmd, env = snakemake_command(work, f"suite={SUITE}", *flags)
        cmd += ["--", *TARGETS]  # "--": not more items of the option lists before them
        with open(work / "snakemake.out", "w") as out, open(work / "snakemake.err", "w") as err:
            process = subprocess.Popen(cmd, cwd=work, env=env, stdout=out, stderr=err, text=True)
        return cls(work, process, time.perf_counter())

    def result(self) -> subprocess.CompletedProcess:
        return subprocess.CompletedProcess(self.process.args, self.process.returncode,
                                           (self.work / "snakemake.out").read_text(),
                                           (self.work / "snakemake.err").read_text())


def wait_all(runs: list[Run], timeout_s: float) -> None:
    """Wait for every run, noting each one's wall time as it ends; stop what is left at the end."""
    deadline = time.perf_counter() + timeout_s
    try:
        while any(run.wall_s is None for run in runs) and time.perf_counter() < deadline:
            for run in runs:
                if run.wall_s is None and run.process.poll() is not None:
                    run.wall_s = time.perf_counter() - run.started
            time.sleep(0.5)
    finally:
        for run in runs:
            if run.process.poll() is None:  # snakemake cancels its jobs on SIGTERM
                run.process.terminate()
                try:
                    run.process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    run.process.kill()
                    run.process.wait()
    late = [run.work.parent.name for run in runs if run.wall_s is None]
    assert not late, f"still running after {timeout_s} s, killed: {late}"


def failure_text(work: Path, result: subprocess.CompletedProcess) -> str:
    logs = sorted((work / ".snakemake" / "slurm_logs").rglob("*.log"))
    return "\n".join([result.stdout[-2000:], result.stderr[-4000:],
                      *(f"--- {log.name}\n{log.read_text()[-1500:]}" for log in logs[-3:])])


def tensor_leaves(obj: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every tensor and array inside a saved object, by its path (floats such as wall times are
    not results and are left out)."""
    if isinstance(obj, (torch.Tensor, np.ndarray)):
        yield path, obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from tensor_leaves(value, f"{path}/{key}")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from tensor_leaves(value, f"{path}[{i}]")


def assert_same_tensors(name: Path, local_work: Path, slurm_work: Path) -> int:
    """The tensors of results/<name> are equal, bit for bit, in the two runs."""
    left, right = (dict(tensor_leaves(torch.load(work / "results" / name, weights_only=False)))
                   for work in (local_work, slurm_work))
    assert left.keys() == right.keys(), name
    for key, value in left.items():
        other = right[key]
        same = torch.equal(value, other) if isinstance(value, torch.Tensor) else np.array_equal(value, other)
        assert same, f"{name}: {key} differs"
    return len(left)


def results_files(work: Path, pattern: str) -> dict[Path, Path]:
    """What the run wrote under results/ (the prepared data is linked in, not written)."""
    root = work / "results"
    return {path.relative_to(root): path for path in sorted(root.rglob(pattern))
            if path.relative_to(root).parts[0] != "data"}


def test_slurm_run_is_bit_identical_to_a_local_run(tmp_path: Path, fashion_mnist_dir: Path,
                                                   slurm_cluster: None) -> None:
    local_work = prepared_copy(tmp_path, "local", fashion_mnist_dir)
    slurm_work = prepared_copy(tmp_path, "slurm", fashion_mnist_dir)

    # side by side: the SLURM run mostly waits (sbatch, status checks), so the test takes about
    # as long as it does
    slurm = Run.start(slurm_work, *SLURM_FLAGS)
    local = Run.start(local_work)
    try:
        wait_all([slurm, local], RUN_TIMEOUT_S)
    finally:
        cancel_leftover_jobs(slurm_work)
    for name, run in {"local": local, "slurm": slurm}.items():
        assert run.process.returncode == 0, f"{name} run\n" + failure_text(run.work, run.result())
    print(f"\n[slurm] the same suite side by side: local run {local.wall_s:.1f} s, "
          f"SLURM run {slurm.wall_s:.1f} s")

    assert_every_job_went_through_slurm(slurm_work)
    assert_same_results(local_work, slurm_work)


def assert_every_job_went_through_slurm(work: Path) -> None:
    """One sbatch job per rule's job, and the suite's training resources in its request."""
    jobs = slurm_jobs(work)
    rules = sorted(job["comment"].split("_wildcards")[0].removeprefix("rule_") for job in jobs)
    assert rules == ["evaluate", "evaluate", "real_features", "sample", "sample_real", "train"], jobs
    assert all(job["state"] == "COMPLETED" for job in jobs), jobs
    train = next(job for job in jobs if job["comment"].startswith("rule_train_"))
    assert (train["memory"], train["time_limit"], train["cpus"]) == (
        f"{TRAIN_RESOURCES['mem_mb']}M", f"{TRAIN_RESOURCES['runtime']}:00", "1"), train


def assert_same_results(local_work: Path, slurm_work: Path) -> None:
    """Weights, checkpoints (model, optimizer and RNG states), samples and real features bit for
    bit; losses without their wall clock; every metric value."""
    tensors = results_files(local_work, "*.pt")
    assert tensors.keys() == results_files(slurm_work, "*.pt").keys()
    assert {"final.pt", "seed0.pt"} <= {path.name for path in tensors}
    assert {"checkpoints", "real-features"} <= {part for path in tensors for part in path.parts}
    assert sum(assert_same_tensors(name, local_work, slurm_work) for name in tensors) > 0
    losses = results_files(local_work, "losses.csv")
    assert losses
    for name, path in losses.items():
        pd.testing.assert_frame_equal(pd.read_csv(path).drop(columns="wall_s"),
                                      pd.read_csv(slurm_work / "results" / name).drop(columns="wall_s"))
    metrics = {name: path for name, path in results_files(local_work, "*.json").items()
               if name.parts[1:2] == ("metrics",)}
    assert len(metrics) == len(TARGETS)
    for name, path in metrics.items():
        mine = json.loads(path.read_text())["metrics"]
        assert mine == json.loads((slurm_work / "results" / name).read_text())["metrics"], name
        assert mine["fid"] > 0
