"""The tidy store: seed statistics, roadmap order, and `aggregate` on a synthetic results folder.

`write_results` builds a small results folder in the workflow's file formats; the other
test_report_* files import it from here.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from scipy import stats

from gans.layout import ResultsLayout
from gans.report import commands
from gans.report.roadmap import ROADMAP, roadmap_order
from gans.report.stats import RANGE, SINGLE, STUDENT_T, seed_interval
from gans.report.store import (COST_METRICS, STORE_COLUMNS, build_store, load_store,
                               read_benchmark, write_store)

SEEDS = [0, 1, 2]
# FID per (model, seed) of the synthetic image suite; None: no metrics file for that seed.
FID = {"dcgan": [1.0, 2.0, 3.0], "cgan": [10.0, 12.0, 14.0], "wgan": [5.0, None, None],
       "real": [0.5, 0.5, 0.8]}
WGAN_STATUS = {0: "completed", 1: "diverged", 2: "diverged"}
IMAGE_SUITE = {
    "name": "synth", "description": "synthetic results for the report tests",
    "datasets": ["fashion-mnist"], "models": ["wgan", "dcgan", "gan", "cgan"], "seeds": SEEDS,
    "budget": {"steps": 40, "batch_size": 8, "checkpoint_every": 20},
    "evaluation": {"n_generated": 80, "n_real": 80, "real_split": "test",
                   "extractors": ["classifier"]},
}
TOY_SUITE = {
    "name": "toysynth", "description": "synthetic toy results",
    "datasets": ["ring-8"], "models": ["dcgan", "gan"], "seeds": [0],
    "budget": {"steps": 40, "batch_size": 8},
    "evaluation": {"n_generated": 300, "n_real": 300, "real_split": "test", "extractors": ["toy"]},
}


def _write_json(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def write_status(results: Path, suite: dict[str, Any], dataset: str, model: str, seed: int,
                 status: str = "completed", wall: float = 10.0) -> None:
    steps = suite["budget"]["steps"]
    _write_json(results / "runs" / dataset / model / f"seed{seed}" / "status.json", {
        "status": status, "model": model, "dataset": dataset, "seed": seed, "suite": suite["name"],
        "steps_requested": steps, "steps_done": steps if status == "completed" else 17,
        "diverged_at": None if status == "completed" else 17, "device": "cpu", "threads": 1, "config": {},
        "config_hash": "abc", "checkpoint_rule": "final step",
        "provenance": {"code_version": "test-1234", "python": "3.11.2", "cpu": "Test CPU",
                       "cpu_count": 2, "platform": "Linux", "device": "cpu",
                       "packages": {"torch": "2.14.1", "torchvision": "0.29.1"}},
        "timing": {"wall_time_s": wall, "images_per_s": 320.0 / wall}})


def write_losses(results: Path, dataset: str, model: str, seed: int, wasserstein: bool) -> None:
    steps = np.arange(1, 41)
    frame = pd.DataFrame({"step": steps, "wall_s": steps * 0.1, "loss_D": 1.0 / steps,
                          "loss_G": 2.0 - 1.0 / steps})
    if wasserstein:
        frame["wasserstein_estimate"] = 3.0 / steps
        frame["critic_iters"] = 100.0  # logged, but not a loss: the curves leave it out
    frame.to_csv(results / "runs" / dataset / model / f"seed{seed}" / "losses.csv", index=False)


def write_metrics(results: Path, suite: dict[str, Any], dataset: str, extractor: str, model: str,
                  seed: int, metrics: dict[str, Optional[float]], status: str = "completed") -> None:
    evaluation = suite["evaluation"]
    _write_json(results / "metrics" / dataset / extractor / model / f"seed{seed}.json", {
        "suite": suite["name"], "dataset": dataset, "model": model, "seed": seed,
        "extractor": extractor, "status": status, "metrics": metrics,
        "protocol": {"n_generated": evaluation["n_generated"], "n_real": evaluation["n_real"],
                     "real_split": evaluation["real_split"], "extractor": extractor,
                     "extractor_sha256": "0123456789abcdef" * 4, "feature_dim": 64,
                     "quantization": "uint8 rounding", "seed": seed, "step": 40,
                     "checkpoint_rule": "real train subset" if model == "real" else "final step"},
        "timing": {"total_s": 1.0, "feature_extraction_s": 0.5}})


def write_benchmark(results: Path, dataset: str, model: str, seed: int, rss: str, cpu: str) -> None:
    path = results / "benchmarks" / "train" / dataset / model / f"seed{seed}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
                    f"12.5\t0:00:12\t{rss}\t900.0\t400.0\t410.0\t1.0\t2.0\t95.0\t{cpu}\n")


def write_samples(results: Path, dataset: str, model: str, seed: int, n: int = 80,
                  labels: bool = False, status: str = "completed", kind: str = "image") -> None:
    g = torch.Generator().manual_seed(seed + len(model))
    if kind == "points":
        data = torch.randn(n, 2, generator=g) * 2
    else:
        data = torch.randint(0, 256, (n, 1, 32, 32), generator=g, dtype=torch.uint8)
    if status != "completed":
        data = data[:0]
    path = results / "samples" / dataset / model / f"seed{seed}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"data": data, "labels": torch.arange(len(data)) % 10 if labels else None,
                "kind": kind, "status": status, "model": model, "dataset": dataset, "seed": seed,
                "suite": "synth", "step": 40, "checkpoint_rule": "final step",
                "conditional": labels}, path)


def image_metrics(fid: float, conditional: bool = False) -> dict[str, float]:
    metrics = {"fid": fid, "is_mean": 5.0 + fid / 10, "is_std": 0.1, "kid_mean": fid / 1000,
               "kid_std": 0.001, "precision": 0.9 - fid / 100, "recall": 0.5 + fid / 100,
               "density": 0.8, "coverage": 0.7}
    if conditional:
        metrics |= {"class_accuracy": 0.9, "intra_fid": fid + 1}
    return metrics


def write_results(root: Path) -> tuple[Path, Path]:
    """An image suite on "fashion-mnist": dcgan and cgan complete (3 seeds), wgan with one
    completed and two diverged seeds, gan with no files at all, and the real floor.
    Returns (suite file, results folder)."""
    suite, results = IMAGE_SUITE, root / "results" / "synth"
    for model in ("dcgan", "cgan", "wgan"):
        for seed in SEEDS:
            status = WGAN_STATUS[seed] if model == "wgan" else "completed"
            write_status(results, suite, "fashion-mnist", model, seed, status,
                         wall={"dcgan": 10.0, "cgan": 20.0, "wgan": 40.0}[model] + seed)
            write_losses(results, "fashion-mnist", model, seed, wasserstein=model == "wgan")
            write_benchmark(results, "fashion-mnist", model, seed, rss=str(500 + seed), cpu="30.0")
            write_samples(results, "fashion-mnist", model, seed, labels=model == "cgan", status=status)
            fid = FID[model][seed]
            if fid is not None:
                write_metrics(results, suite, "fashion-mnist", "classifier", model, seed,
                              image_metrics(fid, conditional=model == "cgan"))
            else:
                write_metrics(results, suite, "fashion-mnist", "classifier", model, seed,
                              {k: None for k in image_metrics(0.0)}, status="diverged")
    for seed in SEEDS:
        write_metrics(results, suite, "fashion-mnist", "classifier", "real", seed,
                      image_metrics(FID["real"][seed]))
        write_samples(results, "fashion-mnist", "real", seed)
    suite_file = root / "benchmarks" / "synth.yaml"
    suite_file.parent.mkdir(parents=True, exist_ok=True)
    suite_file.write_text(yaml.safe_dump(suite))
    return suite_file, results


def write_toy_results(root: Path) -> tuple[Path, Path]:
    """A toy suite on "ring-8": dcgan complete, gan missing, a prepared file with the modes."""
    suite, results = TOY_SUITE, root / "results" / "toysynth"
    write_status(results, suite, "ring-8", "dcgan", 0)
    write_losses(results, "ring-8", "dcgan", 0, wasserstein=False)
    write_samples(results, "ring-8", "dcgan", 0, n=300, kind="points")
    write_samples(results, "ring-8", "real", 0, n=300, kind="points")
    toy = {"modes_covered": 6.0, "high_quality_share": 0.7, "reverse_kl": 0.2}
    write_metrics(results, suite, "ring-8", "toy", "dcgan", 0, toy)
    write_metrics(results, suite, "ring-8", "toy", "real", 0,
                  {"modes_covered": 8.0, "high_quality_share": 0.99, "reverse_kl": 0.0})
    angles = torch.arange(8) * (2 * math.pi / 8)
    data_file = root / "results" / "data" / "ring-8" / "train.pt"
    data_file.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"modes": torch.stack([2 * angles.cos(), 2 * angles.sin()], 1), "sigma": 0.02,
                "kind": "points"}, data_file)
    suite_file = root / "benchmarks" / "toysynth.yaml"
    suite_file.parent.mkdir(parents=True, exist_ok=True)
    suite_file.write_text(yaml.safe_dump(suite))
    return suite_file, results


def store_of(suite_file: Path, results: Path, inception: bool = False) -> pd.DataFrame:
    """The store of a suite file and its results folder (as `aggregate` builds it)."""
    return build_store(yaml.safe_load(suite_file.read_text()), ResultsLayout.from_suite_dir(results),
                       inception)


def run_command(argv: list[str]) -> int:
    """Run a report command through its own argparse registration (as `python -m gans` does)."""
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def value(store: pd.DataFrame, **where: Any) -> pd.Series:
    rows = store
    for column, wanted in where.items():
        rows = rows[rows[column] == wanted]
    return rows


# --------------------------------------------------------------------------- statistics
def test_seed_interval_is_student_t_from_five_seeds_and_the_range_below():
    interval = seed_interval([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    half = stats.t.ppf(0.975, 5) * math.sqrt(3.5) / math.sqrt(6)
    assert interval.mean == pytest.approx(3.5) and interval.n == 6 and interval.method == STUDENT_T
    assert (interval.lo, interval.hi) == pytest.approx((3.5 - half, 3.5 + half))
    three = seed_interval([1.0, 2.0, 3.0])  # a t interval would be 2 ± 2.48
    assert (three.mean, three.lo, three.hi, three.method) == (2.0, 1.0, 3.0, RANGE)


def test_seed_interval_skips_missing_values_and_has_no_interval_for_one_seed():
    interval = seed_interval([4.0, None, float("nan")])
    assert (interval.mean, interval.lo, interval.n, interval.has_interval) == (4.0, None, 1, False)
    assert interval.method == SINGLE and seed_interval([]).mean is None
    assert (seed_interval([2.0, None, 4.0]).lo, seed_interval([2.0, 4.0]).hi) == (2.0, 4.0)


def test_roadmap_order_sorts_by_year_then_roadmap_and_puts_the_floor_last():
    shuffled = ["stylegan", "real", "wgan-gp", "gan", "biggan", "cgan", "dcgan", "cogan", "wgan",
                "progan", "cyclegan", "sagan"]
    assert roadmap_order(shuffled) == [name for name, _ in ROADMAP] + ["real"]
    assert roadmap_order(["zzz-new", "gan"]) == ["gan", "zzz-new"]  # unknown models after


# --------------------------------------------------------------------------- the store
def test_build_store_has_every_run_with_its_status(tmp_path):
    suite_file, results = write_results(tmp_path)
    store = store_of(suite_file, results)
    assert list(store.columns) == STORE_COLUMNS

    fid = value(store, metric="fid", extractor="classifier")
    assert sorted(fid["model"].unique()) == ["cgan", "dcgan", "gan", "real", "wgan"]
    assert value(fid, model="dcgan").sort_values("seed")["value"].tolist() == [1.0, 2.0, 3.0]
    # gan wrote nothing: kept, with status "missing" and no values, for metrics and cost
    gan = value(store, model="gan")
    assert len(gan) > 0 and set(gan["status"]) == {"missing"} and gan["value"].isna().all()
    assert set(value(gan, extractor="-")["metric"]) == set(COST_METRICS)
    # wgan: one completed seed, two diverged ones with null metrics but their cost kept
    wgan = value(fid, model="wgan").set_index("seed")
    assert wgan["status"].to_dict() == {0: "completed", 1: "diverged", 2: "diverged"}
    assert wgan.loc[0, "value"] == 5.0 and wgan.loc[[1, 2], "value"].isna().all()
    assert wgan.loc[1, "diverged_at"] == 17
    wall = value(store, model="wgan", metric="wall_time_s").set_index("seed")["value"]
    assert wall.to_dict() == {0: 40.0, 1: 41.0, 2: 42.0}


def test_store_rows_carry_protocol_and_cost(tmp_path):
    suite_file, results = write_results(tmp_path)
    store = store_of(suite_file, results)
    row = value(store, model="dcgan", seed=1, metric="fid").iloc[0]
    assert (row["suite"], row["dataset"], row["year"], row["extractor"]) == \
        ("synth", "fashion-mnist", 2015, "classifier")
    assert (row["n_generated"], row["n_real"], row["real_split"], row["step"]) == (80, 80, "test", 40)
    assert row["extractor_sha256"].startswith("0123456789ab")
    assert row["checkpoint_rule"] == "final step" and row["quantization"] == "uint8 rounding"
    cost = value(store, model="dcgan", seed=2, extractor="-").set_index("metric")["value"]
    assert cost["peak_rss_mb"] == 502.0 and cost["cpu_time_s"] == 30.0
    assert cost["wall_time_s"] == 12.0 and cost["images_per_s"] == pytest.approx(320 / 12)
    assert value(store, model="cgan", metric="class_accuracy")["value"].tolist() == [0.9] * 3


def test_store_rows_carry_the_classifier_version_and_accuracy(tmp_path):
    suite_file, results = write_results(tmp_path)
    path = results / "metrics" / "fashion-mnist" / "classifier" / "dcgan" / "seed1.json"
    record = json.loads(path.read_text())
    record["protocol"] |= {"extractor_version": "classifier-fashion-mnist-v2", "extractor_accuracy": 0.9275}
    path.write_text(json.dumps(record))
    store = store_of(suite_file, results)
    row = value(store, model="dcgan", seed=1, metric="fid").iloc[0]
    assert (row["extractor_version"], row["extractor_accuracy"]) == ("classifier-fashion-mnist-v2", 0.9275)
    older = value(store, model="dcgan", seed=0, metric="fid").iloc[0]  # files without them
    assert pd.isna(older["extractor_version"]) and pd.isna(older["extractor_accuracy"])


def test_status_written_before_the_timing_block_still_gives_its_cost(tmp_path):
    """status.json keeps wall time and images/s in "timing"; older files have them at the top."""
    suite_file, results = write_results(tmp_path)
    path = results / "runs" / "fashion-mnist" / "dcgan" / "seed2" / "status.json"
    status = json.loads(path.read_text())
    path.write_text(json.dumps({**status, **status.pop("timing")}))
    cost = value(store_of(suite_file, results), model="dcgan", seed=2, extractor="-")
    assert cost.set_index("metric")["value"]["wall_time_s"] == 12.0


def test_benchmark_with_na_values_reads_as_missing(tmp_path):
    write_benchmark(tmp_path, "d", "m", 0, rss="NA", cpu="-")
    path = tmp_path / "benchmarks" / "train" / "d" / "m" / "seed0.tsv"
    assert read_benchmark(path) == {"peak_rss_mb": None, "cpu_time_s": None}
    assert read_benchmark(tmp_path / "absent.tsv") is None


def test_aggregate_command_writes_csv_and_parquet_that_read_back_equal(tmp_path):
    suite_file, results = write_results(tmp_path)
    out = results / "store.csv"
    assert run_command(["aggregate", "--suite-file", str(suite_file), "--results", str(results),
                 "--out", str(out)]) == 0
    from_csv, from_parquet = load_store(out), load_store(out.with_suffix(".parquet"))
    expected = store_of(suite_file, results)
    pd.testing.assert_frame_equal(from_csv, expected)
    pd.testing.assert_frame_equal(from_parquet, expected)
    assert not list(results.glob("*.part*"))  # atomic writes leave no temporaries
    # one row per (model, dataset, seed, extractor, metric)
    keys = ["model", "dataset", "seed", "extractor", "metric"]
    assert not from_csv.duplicated(keys).any()


def test_toy_store_uses_the_toy_extractor_and_metrics(tmp_path):
    suite_file, results = write_toy_results(tmp_path)
    store = store_of(suite_file, results)
    assert set(store["extractor"]) == {"toy", "-"}
    gan = value(store, model="gan", extractor="toy")
    assert set(gan["metric"]) == {"modes_covered", "high_quality_share", "reverse_kl"}
    assert set(gan["status"]) == {"missing"}


def test_write_store_replaces_an_existing_store(tmp_path):
    frame = pd.DataFrame([{c: None for c in STORE_COLUMNS}])
    out = tmp_path / "store.csv"
    out.write_text("old")
    write_store(frame, out)
    assert out.read_text().startswith("suite,dataset,model")


def test_the_store_reads_the_declared_extractors_only(tmp_path):
    """No directory scanning: an extractor's metrics enter the store when the workflow says it
    evaluated with it (--inception), as gans.layout.extractors_for decides for the rules."""
    suite_file, results = write_results(tmp_path)
    write_metrics(results, IMAGE_SUITE, "fashion-mnist", "inception-v3-compat", "dcgan", 0,
                  image_metrics(40.0))
    assert "inception-v3-compat" not in set(store_of(suite_file, results)["extractor"])
    inception = value(store_of(suite_file, results, inception=True),
                      extractor="inception-v3-compat", metric="fid")
    assert value(inception, model="dcgan", seed=0)["value"].tolist() == [40.0]
    assert set(value(inception, model="dcgan", seed=1)["status"]) == {"missing"}


def set_truncation(results: Path, model: str, seed: int, truncation: Optional[float]) -> None:
    path = results / "metrics" / "fashion-mnist" / "classifier" / model / f"seed{seed}.json"
    record = json.loads(path.read_text())
    record["protocol"]["truncation"] = truncation
    path.write_text(json.dumps(record))


def test_truncation_comes_from_the_metrics_protocol_and_older_files_read_as_off(tmp_path):
    suite_file, results = write_results(tmp_path)
    set_truncation(results, "dcgan", 0, 0.7)
    set_truncation(results, "dcgan", 1, None)  # seed 2 keeps a file without the key
    store = store_of(suite_file, results)
    truncation = value(store, model="dcgan", metric="fid").set_index("seed")["truncation"]
    assert truncation[0] == 0.7 and truncation[[1, 2]].isna().all()
    out = tmp_path / "store.csv"
    write_store(store, out)
    pd.testing.assert_frame_equal(load_store(out), store)
