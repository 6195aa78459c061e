"""scripts/gpu_check.py on the CPU at tiny settings (the smoke suite's widths, 2 steps, 8 samples,
the random-weight Inception stand-in), and which models it checks by default. The script is never
needed by another test; on a GPU it runs as its docstring says."""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gans.models import MODELS

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "gpu_check.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_by_default_every_image_model_is_checked_once_per_suite_that_trains_it():
    """The GPU suites' models at their widths, and the rest (CycleGAN) as the default suite runs it."""
    script = load_script()
    checks = script.plan_checks(list(script.GPU_SUITES), "default", None)
    image_models = {name for name in MODELS.names() if "image" in MODELS.get(name).data_kinds}
    assert {check.model for check in checks} == image_models
    rest = [check for check in checks if not check.in_hours]
    assert [(check.suite["name"], check.model) for check in rest] == [("default", "cyclegan")]
    pairs = [(check.suite["name"], check.model) for check in checks]
    assert len(pairs) == len(set(pairs)) and ("celeba-64", "stylegan") in pairs


def test_the_check_runs_on_the_cpu_and_writes_its_tables(tmp_path: Path):
    """Training (bf16 autocast), sampling and evaluation of a growing, a class-conditional and a
    translation model; the tables name each model with its rates and the suite's hours."""
    out = tmp_path / "check"
    models = ["progan", "biggan", "cyclegan"]
    # 12 timed steps: the rates are a difference of two runs, which a 2-step run can drown in noise
    command = [sys.executable, str(SCRIPT), "--device", "cpu", "--steps", "12", "--warmup", "1",
               "--samples", "8", "--suite", "smoke", "--rest-from", "none", "--models", ",".join(models),
               "--inception-weights", "random", "--bf16", "--out", str(out)]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # the script finds gans
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with open(out / "gpu-check.csv") as f:
        rows = {row["model"]: row for row in csv.DictReader(f)}
    assert sorted(rows) == sorted(models)
    for model, row in rows.items():
        assert row["status"] == "completed", row
        assert float(row["train_images_per_s"]) > 0 and float(row["train_images_per_cpu_s"]) > 0
        assert float(row["sample_images_per_s"]) > 0
        assert row["train_peak_mib"] == ""  # GPU memory: not measured on the CPU
    assert float(rows["progan"]["eval_images_per_s"]) > 0 and rows["progan"]["fid"]
    assert int(rows["biggan"]["images_per_run"]) == 10 * 16 * 5  # smoke: 10 steps, 5 D batches of 16
    text = (out / "gpu-check.md").read_text()
    assert "bf16 autocast" in text and "random-weight Inception stand-in" in text
    assert "| smoke | biggan | fashion-mnist | 32 | completed |" in text
    assert "| smoke | 3 | 1 |" in text  # the expected-hours table


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available: nothing to refuse")
def test_without_cuda_the_check_says_so(tmp_path: Path):
    script = load_script()
    assert script.main(["--device", "cuda", "--out", str(tmp_path)]) == 2
    assert not (tmp_path / "gpu-check.md").exists()
