"""The GPU suites (cifar10, celeba-64, mnist): their shared budget in images, their plans, and each
run end to end through Snakemake on stand-in data in its loader's on-disk format.

No real data set and no real Inception weights exist here. The stand-in data are a few hundred
random images written as the real files are (CIFAR-10's python pickles, MNIST's gzipped IDX files,
CelebA's aligned JPEGs and partition list); the Inception-v3-compat evaluations run on
torch-fidelity's Inception with random weights (gans.metrics.inception_stand_in), given as the
workflow's `inception.weights`, so the numbers mean nothing and the pipeline is the real one.
Each suite runs one model end to end with tiny widths, steps and sample sizes (all three suites
in full would take far longer than a test may); every model of every suite is planned with
`snakemake -n` at the shipped settings.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from test_workflow import REPO, planned_jobs, workflow_copy

from gans.budget import images_served, run_images
from gans.data import prepare_split
from gans.layout import ResultsLayout, domain_floors, evaluated_models, extractors_for
from gans.metrics.inception_stand_in import write_random_inception
from gans.models import build_model
from gans.report.layout import report_files
from gans.spec import DataSpec
from gans.suite import load_checked_suite
from gans.train import TrainSettings, train

GPU_SUITES = ("cifar10", "celeba-64", "mnist")


def shipped(name: str) -> dict[str, Any]:
    return load_checked_suite(REPO / "benchmarks" / f"{name}.yaml")


# ------------------------------------------------------------------ the shared budget
@pytest.mark.parametrize("name", GPU_SUITES)
def test_every_model_of_a_gpu_suite_sees_the_same_images(name: str) -> None:
    """The budget is one number of images seen, stated in the description; the step counts
    (batch, critic minibatches per step, warm-ups, minibatch per resolution) serve exactly it."""
    suite = shipped(name)
    served = {model: run_images(suite, model, suite["datasets"][0]) for model in suite["models"]}
    assert len(set(served.values())) == 1, served
    budget = next(iter(served.values()))
    assert f"{budget:,} real images seen per run" in " ".join(suite["description"].split())
    assert len(suite["seeds"]) == 3


def test_the_images_replayed_are_the_images_the_loop_serves(tmp_path: Path) -> None:
    """gans.budget replays the loop's count without training: the critic warm-up of WGAN (more
    minibatches on some steps) and a growing model's minibatch per resolution."""
    from conftest import make_prepared

    data = make_prepared(tmp_path / "train.pt", n=128, resolution=16)
    spec = DataSpec("synthetic", 1, 16, 4)
    for model, config in [
        ("wgan", {"ngf": 4, "ndf": 4, "n_critic": 2, "critic_warmup_iters": 4,
                  "critic_warmup_steps": 2, "critic_warmup_every": 3}),
        ("progan", {"z_dim": 8, "fmap_base": 16, "fmap_max": 8, "stable_images": 8,
                    "fade_images": 8, "batch_sizes": [8, 4, 4]}),
    ]:
        record = train(TrainSettings(model=model, data=str(data), out_dir=str(tmp_path / model),
                                     checkpoint_dir=str(tmp_path / model / "ck"), steps=7,
                                     batch_size=4, model_config=config, log_every=100))
        replayed = images_served(build_model(model, spec, config), 7, 4)
        assert record["images_seen"] == replayed, model
        assert replayed != 7 * 4 * (config.get("n_critic", 1)), "the check must see a schedule"


# ------------------------------------------------------------------ plans of the shipped suites
def snakemake(work: Path, config: dict[str, Any], *flags: str) -> subprocess.CompletedProcess:
    """snakemake in `work` with a config file of overrides (offline data, Inception weights)."""
    (work / "test-config.yaml").write_text(yaml.safe_dump(config))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "test-config.yaml", *flags]
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=1500)


def offline(raw_root: Path, **data: Any) -> dict[str, Any]:
    return {"data": {"raw_root": str(raw_root), "source_dir": None, "allow_download": False,
                     "allow_apt": False, **data}}


@pytest.mark.parametrize("name", GPU_SUITES)
def test_a_gpu_suite_is_planned_in_full(tmp_path: Path, name: str) -> None:
    """Every model x seed of the shipped suite is trained, sampled and evaluated, with the floors."""
    work = workflow_copy(tmp_path)
    result = snakemake(work, {**offline(tmp_path / "raw"), "suite": name}, "-n")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    suite = shipped(name)
    runs = len(suite["models"]) * len(suite["seeds"])
    extractors = extractors_for(suite, suite["datasets"][0])
    jobs = planned_jobs(output)
    assert jobs["train"] == runs and jobs["sample"] == runs, jobs
    assert jobs["evaluate"] == len(evaluated_models(suite)) * len(suite["seeds"]) * len(extractors), jobs
    assert jobs["prepare_data"] == 2 and jobs["aggregate"] == 1 and jobs["report"] == 1, jobs
    assert jobs.get("train_classifier", 0) == (1 if "classifier" in extractors else 0), jobs


# ------------------------------------------------------------------ stand-in raw files
def stand_in_images(n: int, channels: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random uint8 images with labels 0..9 (class-dependent brightness, so a classifier can learn)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 100, (n, channels, size, size)) + 15 * labels[:, None, None, None]
    return images.astype(np.uint8), labels


def write_cifar10(root: Path, per_batch: int = 60, test: int = 100) -> None:
    """cifar-10-batches-py: five training pickles and a test pickle, rows of 3072 bytes."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        images, labels = stand_in_images(test if name == "test_batch" else per_batch, 3, 32, i)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": images.reshape(len(images), -1), "labels": labels.tolist()}, f)


def write_idx(path: Path, array: np.ndarray) -> None:
    """An unsigned-byte IDX file, gzipped (as MNIST is distributed)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_mnist(root: Path, train: int = 300, test: int = 100) -> None:
    folder = root / "MNIST" / "raw"
    folder.mkdir(parents=True)
    for split, n, seed in (("train", train, 0), ("t10k", test, 1)):
        images, labels = stand_in_images(n, 1, 28, seed)
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images[:, 0])
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)


def write_celeba(root: Path, train: int = 200, test: int = 40) -> None:
    """celeba/: aligned 178 x 218 JPEGs and the partition list (0 train, 1 valid, 2 test)."""
    from PIL import Image

    folder = root / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    images, _ = stand_in_images(train + test + 10, 3, 218, 2)
    lines = []
    for i, image in enumerate(images):
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(image.transpose(1, 2, 0)[:, 20:198]).save(folder / name, quality=90)
        lines.append(f"{name} {0 if i < train else 2 if i < train + test else 1}")
    (root / "celeba" / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")


STAND_INS = {"cifar10": write_cifar10, "mnist": write_mnist, "celeba": write_celeba}


# ------------------------------------------------------------------ one model end to end
# The model each suite runs end to end, at tiny widths, and the shape its data must have.
END_TO_END = {
    "cifar10": ("biggan", {"z_dim": 12, "shared_dim": 8, "G_ch": 2, "D_ch": 2, "ema_start": 2},
                (3, 32, 32)),
    "celeba-64": ("stylegan", {"z_dim": 16, "w_dim": 16, "mapping_width": 16, "fmap_base": 32,
                               "fmap_max": 16, "stable_images": 16, "fade_images": 16,
                               "batch_sizes": [8, 8, 8, 8]}, (3, 64, 64)),
    "mnist": ("cogan", {"ngf": 8, "d_conv1": 8, "d_conv2": 8, "d_fc": 32}, (1, 32, 32)),
}


def tiny(name: str) -> dict[str, Any]:
    """The shipped suite with one model, one seed, a few steps and a few evaluation images."""
    suite = shipped(name)
    model, config, _ = END_TO_END[name]
    suite.update(models=[model], seeds=[0], model_config={model: config},
                 budget={"steps": 6, "batch_size": 8, "checkpoint_every": 3})
    suite["domain_tasks"] = {m: t for m, t in suite.get("domain_tasks", {}).items() if m == model}
    # 10 images: IS's 10 splits, and more than density/coverage's k = 5 neighbours
    suite["evaluation"].update(n_generated=10, n_real=10)
    if "classifier" in suite["evaluation"]["extractors"]:  # retrained on the stand-in: quick
        suite["evaluation"]["classifier"] = {"epochs": 1, "min_accuracy": 0.0}
    return suite


@pytest.fixture(scope="module")
def inception_stand_in(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_random_inception(tmp_path_factory.mktemp("inception") / "random-inception.pth")


@pytest.mark.parametrize("name", GPU_SUITES)
def test_a_gpu_suite_runs_end_to_end_on_stand_in_data(tmp_path: Path, name: str,
                                                      inception_stand_in: Path) -> None:
    suite = tiny(name)
    dataset = suite["datasets"][0]
    work = workflow_copy(tmp_path)
    raw = tmp_path / "raw"
    STAND_INS[dataset](raw)
    inception = "inception-v3-compat" in suite["evaluation"]["extractors"]  # mnist: its classifier
    config = {**offline(raw), "suite_file": f"{name}.yaml"}
    if inception:
        config["inception"] = {"weights": str(inception_stand_in)}
    if dataset == "celeba":  # no size check for CelebA: the workflow's prepare rule reads the files
        config["data"]["source_dir"] = str(raw)
    else:  # MNIST and CIFAR-10 stand-ins are not the real sets' sizes: prepared unchecked here
        for split in ("train", "test"):
            prepare_split(dataset, split, work / "results" / "data" / dataset / f"{split}.pt", raw,
                          options={"allow_download": False, "allow_apt": False}, check=False)
    (work / f"{name}.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))

    result = snakemake(work, config)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]

    shape = END_TO_END[name][2]
    prepared = torch.load(work / "results" / "data" / dataset / "train.pt", weights_only=False)
    assert tuple(prepared["data"].shape[1:]) == shape
    layout = ResultsLayout.for_suite(str(work / "results"), str(work / "reports"), name)
    model = suite["models"][0]
    status = json.loads(Path(layout.status_file(dataset, model, 0)).read_text())
    assert status["status"] == "completed" and status["steps_done"] == 6
    samples = torch.load(layout.samples_file(dataset, model, 0), weights_only=False)
    assert tuple(samples["data"].shape) == (10, *shape)
    for extractor in extractors_for(suite, dataset, inception):
        for evaluated in evaluated_models(suite):
            record = json.loads(Path(layout.metrics_file(dataset, extractor, evaluated, 0)).read_text())
            assert record["status"] == "completed", (extractor, evaluated)
            assert record["metrics"]["fid"] is not None
    assert Path(layout.store_file()).is_file()
    report = work / "reports" / name
    missing = [f for f in report_files(suite, inception) if not (report / f).is_file()]
    assert not missing, missing
    readme = (report / "README.md").read_text()
    if dataset == "cifar10":  # the published CIFAR-10 numbers: a table of their own, apart from ours
        assert "### Published numbers (not ranked with ours)" in readme
        published = (report / "tables" / "published-cifar10.md").read_text()
        assert "PyTorch-StudioGAN" in published and "48.29" in published
        ours = (report / "tables" / "results-cifar10-inception-v3-compat.md").read_text()
        assert "PyTorch-StudioGAN" not in ours and "48.29" not in ours
    else:
        assert "(not ranked with ours)" not in readme
    # mnist's CoGAN: its domain task's floor was evaluated too (its metrics were checked above)
    assert {floor.name for floor in domain_floors(suite)} <= set(evaluated_models(suite))
    assert bool(domain_floors(suite)) == (name == "mnist")
