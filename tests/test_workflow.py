"""The workflow end to end through the snakemake command line, in a temporary directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from gans.layout import domain_floors, floor_of

REPO = Path(__file__).resolve().parent.parent


def workflow_copy(tmp_path: Path) -> Path:
    """Snakefile, rules, config and suites in a fresh directory (results land there too)."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(REPO / "Snakefile", work)
    for folder in ("rules", "config", "benchmarks"):
        shutil.copytree(REPO / folder, work / folder)
    return work


def snakemake_command(work: Path, *args: str,
                      plugins: tuple[str, ...] = ()) -> tuple[list[str], dict[str, str]]:
    """The snakemake command line and environment `snakemake` runs (see there)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(work)]))
    offline = {"data": {"raw_root": str(REPO / "data" / "raw"), "source_dir": None,
                        "allow_download": False, "allow_apt": False},
               "model_plugins": list(plugins)}
    (work / "offline.yaml").write_text(yaml.safe_dump(offline))
    overrides = [a for a in args if "=" in a and not a.startswith("-")]
    flags = [a for a in args if a not in overrides]
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "offline.yaml",
           "--config", *overrides, *flags]
    return cmd, env


def snakemake(work: Path, *args: str, plugins: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run snakemake in `work`; args are `key=value` config overrides, then snakemake flags.
    `plugins` are modules in `work` that register models from outside the package."""
    cmd, env = snakemake_command(work, *args, plugins=plugins)
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=1500)


def link_prepared_data(work: Path, fashion_mnist_dir: Path) -> None:
    target = work / "results" / "data" / "fashion-mnist"
    target.mkdir(parents=True)
    for split in ("train", "test"):
        os.symlink(fashion_mnist_dir / f"{split}.pt", target / f"{split}.pt")


# A least-squares GAN (Mao et al. 2017) written outside the package, as README "Adding a GAN"
# says: a module on PYTHONPATH, named in model_plugins, its name added to a suite.
LSGAN_PLUGIN = '''"""A least-squares GAN: DCGAN's networks, least-squares losses (a = 0, b = c = 1)."""
import torch

from gans.models.base import MODELS, Citation, GANVariant
from gans.models.dcgan import dcgan_networks


@MODELS.register("lsgan")
class LSGAN(GANVariant):
    citation = Citation("Mao et al.", 2017, "1611.04076")
    defaults = {"z_dim": 100, "ngf": 64, "ndf": 64, "lr": 2e-4, "beta1": 0.5}
    protocol_notes = "Added from outside the package by the workflow test: DCGAN networks."
    network_builders = {"image": dcgan_networks}

    def optimizer(self, network):
        return lambda params: torch.optim.Adam(params, lr=self.config["lr"],
                                               betas=(self.config["beta1"], 0.999))

    def train_step(self, batch, progress):
        fake = self.G(self.draw_latent(len(batch)))
        self.opt_D.zero_grad(set_to_none=True)
        loss_D = 0.5 * ((self.D(batch.x) - 1) ** 2).mean() + 0.5 * (self.D(fake.detach()) ** 2).mean()
        loss_D.backward()
        self.opt_D.step()
        self.opt_G.zero_grad(set_to_none=True)
        loss_G = 0.5 * ((self.D(fake) - 1) ** 2).mean()
        loss_G.backward()
        self.opt_G.step()
        return {"loss_D": loss_D.item(), "loss_G": loss_G.item()}
'''


def add_outside_model(work: Path) -> None:
    """The plugin module beside the workflow, and its model in the copied smoke suite."""
    (work / "lsgan_plugin.py").write_text(LSGAN_PLUGIN)
    path = work / "benchmarks" / "smoke.yaml"
    suite = yaml.safe_load(path.read_text())
    suite["models"].append("lsgan")
    suite["model_config"]["lsgan"] = {"ngf": 8, "ndf": 8}
    path.write_text(yaml.safe_dump(suite, sort_keys=False))


def test_smoke_suite_end_to_end(tmp_path: Path, fashion_mnist_dir: Path) -> None:
    """The smoke suite, plus a model registered from outside the package, through every rule."""
    work = workflow_copy(tmp_path)
    link_prepared_data(work, fashion_mnist_dir)
    add_outside_model(work)
    result = snakemake(work, "suite=smoke", plugins=("lsgan_plugin",))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    suite = yaml.safe_load((work / "benchmarks" / "smoke.yaml").read_text())
    assert "lsgan" in suite["models"]
    results = work / "results" / "smoke"
    for model in suite["models"]:
        for seed in suite["seeds"]:
            run = results / "runs" / "fashion-mnist" / model / f"seed{seed}"
            status = json.loads((run / "status.json").read_text())
            assert status["status"] == "completed", (model, status)
            assert status["steps_done"] == suite["budget"].get("model_steps", {}).get(model, suite["budget"]["steps"])
            losses = pd.read_csv(run / "losses.csv")
            assert len(losses) == status["steps_done"] and losses.drop(columns=["step", "wall_s"]).notna().all().all()
            samples = torch.load(results / "samples" / "fashion-mnist" / model / f"seed{seed}.pt", weights_only=False)
            assert samples["data"].shape == (suite["evaluation"]["n_generated"], 1, 32, 32)
            assert samples["data"].dtype == torch.uint8 and samples["data"].float().std() > 0
            grid = results / "samples" / "fashion-mnist" / model / f"seed{seed}.png"
            assert grid.stat().st_size > 1000
            assert (results / "benchmarks" / "train" / "fashion-mnist" / model / f"seed{seed}.tsv").is_file()
            metrics = json.loads((results / "metrics" / "fashion-mnist" / "classifier" / model
                                  / f"seed{seed}.json").read_text())
            assert metrics["status"] == "completed" and metrics["metrics"]["fid"] > 0
    floor = json.loads((results / "metrics" / "fashion-mnist" / "classifier" / "real" / "seed0.json").read_text())
    store = pd.read_csv(results / "store.csv")
    assert set(suite["models"]) | {"real"} <= set(store["model"])
    fid = store[(store.metric == "fid") & (store.extractor == "classifier")].set_index("model")["value"]
    assert fid["real"] == pytest.approx(floor["metrics"]["fid"])
    for model in suite["models"]:  # a few steps of training cannot beat real data of its domains
        assert fid[model] > fid[floor_of(suite, model)], model
    for floor in domain_floors(suite):
        assert floor.name in set(store["model"])
        assert (work / "reports" / "smoke" / "tables"
                / f"{floor.task}-{floor.domain_task}-fashion-mnist-classifier.md").is_file()
    report = work / "reports" / "smoke" / "README.md"
    assert report.is_file() and "real" in report.read_text()
    assert "| lsgan | 2017 |" in (work / "reports" / "smoke" / "tables"
                                  / "results-fashion-mnist-classifier.md").read_text()
    # the digest: every run's networks and samples hashed, every metric at full precision
    digest_file = work / "reports" / "smoke" / "digest.json"
    digest = json.loads(digest_file.read_text())
    assert len(digest["runs"]) == len(suite["models"]) * len(suite["seeds"])
    real_floor = json.loads((results / "metrics" / "fashion-mnist" / "classifier" / "real" / "seed0.json").read_text())
    assert digest["metrics"]["fashion-mnist/classifier/real/seed0"]["metrics"]["fid"] == repr(
        real_floor["metrics"]["fid"])
    check = subprocess.run([sys.executable, "-m", "gans", "check-digest", str(digest_file), str(digest_file)],
                           cwd=work, capture_output=True, text=True)
    assert check.returncode == 0 and "bit-identical" in check.stdout
    # a second invocation has nothing left to do
    again = snakemake(work, "suite=smoke", "-n", plugins=("lsgan_plugin",))
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def planned_jobs(output: str) -> dict[str, int]:
    """The "Job stats" table of a snakemake run or dry run: jobs per rule."""
    lines = output.split("Job stats:", 1)[1].splitlines()[3:] if "Job stats:" in output else []
    jobs = {}
    for line in lines:
        if not line.strip():
            break
        rule, count = line.split()
        jobs[rule] = int(count)
    return jobs


@pytest.mark.parametrize("missing", ["results/smoke", "results"])
def test_deleted_results_are_rebuilt_with_the_report(tmp_path: Path, fashion_mnist_dir: Path,
                                                     missing: str) -> None:
    """A report whose results are gone (`rm -rf results/smoke`, or no results/ at all) is not
    "Nothing to be done": every run is planned again, and the report after them."""
    from gans.layout import evaluated_models
    from gans.report.layout import INDEX, report_items
    from gans.suite import load_suite

    work = workflow_copy(tmp_path)
    if missing == "results/smoke":
        link_prepared_data(work, fashion_mnist_dir)
    suite = load_suite(work / "benchmarks" / "smoke.yaml")
    for name in [INDEX, *(item.path for item in report_items(suite))]:  # the report's outputs
        path = work / "reports" / "smoke" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a report of runs that no longer exist")
    result = snakemake(work, "suite=smoke", "-n")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Nothing to be done" not in output
    runs = len(suite["models"]) * len(suite["seeds"])
    jobs = planned_jobs(output)
    assert jobs.get("train") == runs and jobs.get("sample") == runs, jobs
    # and the floors: the real subset's and one per two-domain task
    assert jobs.get("evaluate") == len(evaluated_models(suite)) * len(suite["seeds"]), jobs
    assert jobs.get("aggregate") == 1 and jobs.get("report") == 1, jobs
    assert jobs.get("prepare_data", 0) == (2 if missing == "results" else 0), jobs


@pytest.mark.parametrize("edit, message", [
    (lambda s: s["models"].insert(0, "no-such-gan"), "models[0]: unknown model 'no-such-gan'"),
    (lambda s: s["datasets"].insert(0, "imagenet"), "datasets[0]: unknown dataset 'imagenet'"),
    (lambda s: s["budget"].update(steps=-5), "budget.steps: -5 is less than the minimum of 1"),
    (lambda s: s.update(models="dcgan"), "models: 'dcgan' is not of type 'array'"),
    (lambda s: s["model_config"].update(dcgan={"ngf": "eight"}), "model_config.dcgan: config key 'ngf'"),
    (lambda s: s["evaluation"].update(n_real=20000), "evaluation.n_real: 20000 real images asked for"),
    (lambda s: s.update(name="smoke"), "name: 'smoke' differs from the file name 'bad'"),
])
def test_bad_suite_fails_at_start_naming_the_field(tmp_path: Path, edit, message) -> None:
    work = workflow_copy(tmp_path)
    suite = yaml.safe_load((work / "benchmarks" / "smoke.yaml").read_text()) | {"name": "bad"}
    edit(suite)
    (work / "bad.yaml").write_text(yaml.safe_dump(suite))
    result = snakemake(work, "suite_file=bad.yaml")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"suite file bad.yaml: {message}" in output, output[-2000:]
    assert "Traceback" not in output or output.count("\n") < 40, "one line, not the whole suite"
    assert not (work / "results").exists(), "no job may run"
