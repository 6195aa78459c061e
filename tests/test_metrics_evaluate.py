"""real-features and evaluate end to end on small synthetic files (image, conditional, points,
diverged), agreement with torch-fidelity's calculate_metrics, and the torch-fidelity workarounds
(Dataset input instead of a conditional generator, DataLoader without worker processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch_fidelity
from torch import nn
from torch_fidelity import GenerativeModelModuleWrapper
from torch_fidelity.utils import create_feature_extractor, get_featuresdict_from_generative_model

from gans.cli import build_parser, main
from gans.data import prepare_split
from gans.metrics import evaluate as evaluate_module
from gans.metrics import extractors as extractors_module
from gans.io import write_atomic
from gans.metrics.evaluate import REAL_SUBSET_SEED, _predicted_labels, real_subset_indices
from gans.metrics.extractors import (EXTRACTORS, ExtractorOptions, ImageTensorDataset, extract_features,
                                     fidelity_options, resolve)
from gans.metrics.frechet import feature_statistics
from gans.metrics.scores import IMAGE_METRIC_KEYS, MetricSettings
from gans.metrics.synthetic import pattern_images, prepared_split
from gans.metrics.toy import TOY_METRIC_KEYS
from gans.metrics.weights import file_sha256, tensors_sha256

N_SPLIT, N_REAL, N_FAKE = 300, 250, 200
TOP_KEYS = {"suite", "dataset", "model", "seed", "extractor", "status", "metrics", "protocol", "timing"}
PROTOCOL_KEYS = {"n_generated", "n_real", "real_split", "extractor", "extractor_sha256", "feature_dim",
                 "quantization", "truncation", "checkpoint_rule", "seed", "step", "is_splits", "prc_k",
                 "dc_k", "kid_subsets", "kid_subset_size"}


def samples_record(data: torch.Tensor, labels=None, status: str = "completed", kind: str = "image",
                   model: str = "dcgan", dataset: str = "patterns") -> dict:
    return {"data": data, "labels": labels, "kind": kind, "status": status, "model": model,
            "dataset": dataset, "seed": 3, "suite": "unit", "step": 40, "checkpoint_rule": "final step",
            "conditional": labels is not None}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Pattern train/test splits, a classifier trained on them, real features of the test split."""
    root = tmp_path_factory.mktemp("evaluate")
    for split, n, seed in (("train", 600, 0), ("test", N_SPLIT, 1)):
        torch.save(prepared_split(*pattern_images(n, seed=seed), split), root / f"{split}.pt")
    assert main(["train-classifier", "--train", str(root / "train.pt"), "--test", str(root / "test.pt"),
                 "--seed", "0", "--out", str(root / "cls.pt"), "--info", str(root / "cls.json"),
                 "--epochs", "2"]) == 0
    assert main(["real-features", "--data", str(root / "test.pt"), "--extractor", "classifier",
                 "--classifier", str(root / "cls.pt"), "--n", str(N_REAL), "--out", str(root / "real.pt")]) == 0
    return {"root": root, "cls": root / "cls.pt", "real": root / "real.pt", "test": root / "test.pt"}


def evaluate(work: dict[str, Path], samples: dict, name: str, extractor: str = "classifier",
             real: Path | None = None) -> dict:
    path = work["root"] / f"{name}.pt"
    torch.save(samples, path)
    out = work["root"] / f"{name}.json"
    assert main(["evaluate", "--samples", str(path), "--real", str(real or work["real"]),
                 "--extractor", extractor, "--classifier", str(work["cls"]), "--out", str(out)]) == 0
    return json.loads(out.read_text())


def test_real_features_file(work):
    real = torch.load(work["real"], weights_only=False)
    prepared = torch.load(work["test"], weights_only=False)
    indices = real_subset_indices(N_SPLIT, N_REAL)
    assert len(indices.unique()) == N_REAL and (indices.diff() > 0).all()
    assert torch.equal(real["indices"], indices)
    assert torch.equal(real["labels"], prepared["labels"][indices])
    assert real["features"].shape == (N_REAL, 128) and real["logits"].shape == (N_REAL, 10)
    mu, sigma = feature_statistics(real["features"])
    assert real["mu"].dtype == torch.float64 and np.array_equal(real["sigma"].numpy(), sigma) and np.array_equal(real["mu"].numpy(), mu)
    assert real["extractor_sha256"] == tensors_sha256(work["cls"])
    assert (real["n"], real["split"], real["data_sha256"]) == (N_REAL, "test", prepared["sha256"])
    assert real["subset_seed"] == REAL_SUBSET_SEED == 0  # a subset: the seed that drew it is recorded
    assert set(real) == {"kind", "dataset", "split", "data_sha256", "num_classes", "extractor",
                         "extractor_sha256", "extractor_version", "extractor_accuracy",
                         "extractor_accuracy_checked", "feature_layer", "logits_layer", "n", "subset_seed",
                         "indices", "features", "logits", "labels", "mu", "sigma", "feature_dim", "timing"}
    assert (real["num_classes"], real["feature_layer"], real["logits_layer"]) == (10, "penultimate", "logits")
    assert 0.0 <= real["timing"]["extraction_s"] < 60.0


def test_real_features_of_the_whole_split_record_no_subset_seed(work, tmp_path):
    out = tmp_path / "all.pt"
    assert main(["real-features", "--data", str(work["test"]), "--extractor", "classifier",
                 "--classifier", str(work["cls"]), "--n", str(N_SPLIT), "--out", str(out)]) == 0
    real = torch.load(out, weights_only=False)
    assert real["subset_seed"] is None and torch.equal(real["indices"], torch.arange(N_SPLIT))


def test_real_features_refuses_more_than_the_split(work, tmp_path):
    with pytest.raises(ValueError, match="only 300"):
        main(["real-features", "--data", str(work["test"]), "--extractor", "classifier",
              "--classifier", str(work["cls"]), "--n", "301", "--out", str(tmp_path / "x.pt")])
    assert not (tmp_path / "x.pt").exists()


def test_evaluate_unconditional_images(work):
    record = evaluate(work, samples_record(pattern_images(N_FAKE, seed=5)[0]), "uncond")
    assert set(record) == TOP_KEYS
    assert set(record["protocol"]) >= PROTOCOL_KEYS
    assert set(record["metrics"]) == set(IMAGE_METRIC_KEYS)
    assert set(record["timing"]) == {"total_s", "feature_extraction_s"}
    assert record["status"] == "completed"
    assert record["metrics"]["class_accuracy"] is None and record["metrics"]["intra_fid"] is None
    for key in set(IMAGE_METRIC_KEYS) - {"class_accuracy", "intra_fid"}:
        assert isinstance(record["metrics"][key], float), key
    assert record["metrics"]["precision"] > 0.8 and record["metrics"]["recall"] > 0.8  # same patterns
    assert (record["protocol"]["n_generated"], record["protocol"]["n_real"]) == (N_FAKE, N_REAL)
    assert record["protocol"]["kid_subset_size"] == N_FAKE and record["protocol"]["is_splits"] == 10
    assert record["protocol"]["extractor_sha256"] == tensors_sha256(work["cls"])
    # a classifier without a frozen evaluator's card: "retrained", with its recorded accuracy
    info = json.loads((work["root"] / "cls.json").read_text())
    assert record["protocol"]["extractor_version"] == "retrained"
    assert record["protocol"]["extractor_accuracy"] == info["test_accuracy"]
    real = torch.load(work["real"], weights_only=False)
    assert record["protocol"]["real_data_sha256"] == real["data_sha256"]
    assert record["protocol"]["feature_layer"] == real["feature_layer"]
    assert record["protocol"]["conditional"] is False


def test_evaluate_records_the_samples_truncation(work, ring):
    """The protocol says how the samples were drawn: their truncation, None (off) when the
    samples file has none (older files, the real floor)."""
    images = pattern_images(40, seed=11)[0]
    assert evaluate(work, samples_record(images) | {"truncation": 0.7}, "psi")["protocol"]["truncation"] == 0.7
    assert evaluate(work, samples_record(images), "no-psi")["protocol"]["truncation"] is None
    points = samples_record(ring["record"]["modes"].repeat(5, 1), kind="points", dataset="ring-8")
    record = evaluate(work, points | {"truncation": 0.5}, "toy-psi", "toy", ring["path"])
    assert record["protocol"]["truncation"] == 0.5


def test_evaluate_conditional_images(work):
    images, labels = pattern_images(N_FAKE, seed=6)
    asked = labels.clone()
    asked[1::2] = (labels[1::2] + 1) % 10  # every other sample was generated "for" a wrong label
    record = evaluate(work, samples_record(images, asked, model="cgan"), "cond")
    assert set(record) == TOP_KEYS | {"per_class"}
    assert record["metrics"]["class_accuracy"] == pytest.approx(0.5, abs=0.1)
    assert isinstance(record["metrics"]["intra_fid"], float)
    per_class = record["per_class"]
    assert set(per_class) == {"class_accuracy", "intra_fid", "n_generated", "n_real"}
    assert set(per_class["class_accuracy"]) == {str(c) for c in range(10)}
    assert sum(per_class["n_generated"].values()) == N_FAKE
    assert np.mean(list(per_class["class_accuracy"].values())) == pytest.approx(record["metrics"]["class_accuracy"])
    honest = evaluate(work, samples_record(images, labels, model="cgan"), "cond-honest")
    assert honest["metrics"]["class_accuracy"] > 0.95
    assert honest["metrics"]["intra_fid"] < record["metrics"]["intra_fid"]
    real = torch.load(work["real"], weights_only=False)
    assert per_class["n_real"] == {str(c): int((real["labels"] == c).sum()) for c in asked.unique().tolist()}
    assert record["protocol"]["conditional"] is True


def test_the_record_names_the_real_split_the_extractor_and_the_samples_quantization(work):
    images = pattern_images(N_FAKE, seed=5)[0]
    plain = evaluate(work, samples_record(images), "quantization-default")
    protocol = plain["protocol"]
    assert (protocol["real_split"], protocol["extractor"], protocol["conditional"]) == ("test", "classifier", False)
    assert protocol["quantization"] == evaluate_module.QUANTIZATION_RULE
    told = evaluate(work, samples_record(images) | {"quantization": "as the samples file says"}, "quantization-told")
    assert told["protocol"]["quantization"] == "as the samples file says"
    assert told["metrics"] == plain["metrics"]
    timing = plain["timing"]
    assert 0.0 < timing["feature_extraction_s"] <= timing["total_s"] < 60.0


def test_evaluate_diverged_images(work):
    record = evaluate(work, samples_record(torch.zeros(0, 1, 32, 32, dtype=torch.uint8), status="diverged"),
                      "diverged")
    assert record["status"] == "diverged"
    assert set(record) == TOP_KEYS
    assert record["metrics"] == dict.fromkeys(IMAGE_METRIC_KEYS)
    assert record["protocol"]["n_generated"] == 0


@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("ring") / "train.pt"
    return {"path": path, "record": prepare_split("ring-8", "train", path, path.parent)}


def test_evaluate_points(work, ring):
    modes, sigma = ring["record"]["modes"], ring["record"]["sigma"]
    points = modes[torch.arange(400) % 4] + 0.5 * sigma * torch.randn(400, 2, generator=torch.Generator().manual_seed(0))
    record = evaluate(work, samples_record(points, kind="points", dataset="ring-8"), "toy", "toy", ring["path"])
    assert set(record) == TOP_KEYS | {"per_mode"}
    assert record["metrics"] == {"modes_covered": 4.0, "high_quality_share": 1.0,
                                 "reverse_kl": pytest.approx(np.log(2))}
    assert record["protocol"]["extractor"] == "toy" and set(record["protocol"]) >= PROTOCOL_KEYS


def test_evaluate_scores_points_under_the_protocol_named_on_the_command_line(work, ring, tmp_path):
    points = ring["record"]["modes"][torch.arange(2500) % 8]
    torch.save(samples_record(points, kind="points", dataset="ring-8"), tmp_path / "points.pt")
    assert main(["evaluate", "--samples", str(tmp_path / "points.pt"), "--real", str(ring["path"]),
                 "--extractor", "toy", "--toy-protocol", "veegan", "--out", str(tmp_path / "m.json")]) == 0
    record = json.loads((tmp_path / "m.json").read_text())
    assert record["protocol"]["toy_protocol"] == "veegan" and record["metrics"]["modes_covered"] == 8.0
    assert 0.0 <= record["timing"]["total_s"] < 60.0


def test_evaluate_diverged_points(work, ring):
    record = evaluate(work, samples_record(torch.zeros(0, 2), status="diverged", kind="points",
                                           dataset="ring-8"), "toy-diverged", "toy", ring["path"])
    assert record["status"] == "diverged" and record["metrics"] == dict.fromkeys(TOY_METRIC_KEYS)


def test_point_jobs_do_not_load_torchvision(work, ring):
    """Sampling and evaluating toy points skip torchvision and torch-fidelity (~3 s of start-up
    per job, most of a toy job's CPU)."""
    samples = work["root"] / "toy-imports.pt"
    torch.save(samples_record(ring["record"]["modes"].repeat(10, 1), kind="points", dataset="ring-8"), samples)
    code = ("import sys; import gans.sampling; from gans.cli import main; "
            f"main(['evaluate', '--samples', {str(samples)!r}, '--real', {str(ring['path'])!r}, "
            f"'--extractor', 'toy', '--out', {str(work['root'] / 'toy-imports.json')!r}]); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torchvision', 'torch_fidelity'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_evaluate_refuses_real_features_of_other_weights(work, tmp_path):
    other = tmp_path / "other.pt"
    assert main(["train-classifier", "--train", str(work["root"] / "train.pt"), "--test", str(work["test"]),
                 "--seed", "1", "--out", str(other), "--info", str(tmp_path / "other.json"), "--epochs", "1",
                 "--min-accuracy", "0"]) == 0
    samples = work["root"] / "mismatch.pt"
    torch.save(samples_record(pattern_images(20, seed=7)[0]), samples)
    with pytest.raises(ValueError, match="recompute"):
        main(["evaluate", "--samples", str(samples), "--real", str(work["real"]), "--extractor", "classifier",
              "--classifier", str(other), "--out", str(tmp_path / "m.json")])
    assert not (tmp_path / "m.json").exists()


def test_numbers_equal_torch_fidelity_calculate_metrics(work):
    """Extract-once-then-compute gives what torch-fidelity's calculate_metrics gives on the same
    images with the same options (FID to float32-vs-float64 rounding)."""
    fake = pattern_images(N_FAKE, seed=5)[0]
    ours = evaluate(work, samples_record(fake), "crosscheck")["metrics"]
    real_images = torch.load(work["test"], weights_only=False)["data"][real_subset_indices(N_SPLIT, N_REAL)]
    extractor, weights = resolve("classifier", ExtractorOptions(classifier=str(work["cls"])))
    theirs = torch_fidelity.calculate_metrics(
        input1=ImageTensorDataset(fake), input2=ImageTensorDataset(real_images), isc=True, fid=True,
        kid=True, prc=True, **{**fidelity_options(extractor, weights), **MetricSettings().fidelity_kwargs(N_FAKE, N_REAL)})
    assert ours["is_mean"] == pytest.approx(theirs["inception_score_mean"], rel=1e-9)
    assert ours["is_std"] == pytest.approx(theirs["inception_score_std"], rel=1e-9)
    assert ours["kid_mean"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-6)
    assert ours["precision"] == theirs["precision"] and ours["recall"] == theirs["recall"]
    assert ours["fid"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-4)


def test_class_predictions_under_inception_come_from_the_classifier(work):
    images, labels = pattern_images(50, seed=8)
    dummy_logits = torch.zeros(50, 1008)
    predicted = _predicted_labels("inception-v3-compat", dummy_logits, ExtractorOptions(classifier=str(work["cls"])),
                                  images, "cpu")
    assert (predicted == labels).double().mean() > 0.95
    assert _predicted_labels("inception-v3-compat", dummy_logits, ExtractorOptions(), images, "cpu") is None


def test_extraction_runs_in_this_process(work, monkeypatch):
    """torch-fidelity's DataLoader would start min(4, 2 x cpus) worker processes; with
    save_cpu_ram=True every item is read here, in the main process."""
    seen: list[int] = []

    class RecordingDataset(ImageTensorDataset):
        def __getitem__(self, index: int) -> torch.Tensor:
            seen.append(os.getpid())
            return super().__getitem__(index)

    monkeypatch.setattr(extractors_module, "ImageTensorDataset", RecordingDataset)
    extractor, weights = resolve("classifier", ExtractorOptions(classifier=str(work["cls"])))
    extract_features(extractor, weights, pattern_images(12, seed=9)[0])
    assert set(seen) == {os.getpid()} and len(seen) >= 12  # (torch-fidelity also peeks at item 0)


def test_torch_fidelity_conditional_generator_input_still_crashes(work):
    """Canary for why samples go in as a Dataset: torch-fidelity 0.4.0's generator path with
    num_classes > 0 calls the removed np.int. When this fails, torch-fidelity fixed it."""

    class TinyConditionalGenerator(nn.Module):
        def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            return torch.zeros(len(z), 1, 32, 32, dtype=torch.uint8)

    model = GenerativeModelModuleWrapper(TinyConditionalGenerator(), 4, "normal", 10)
    extractor = create_feature_extractor("classifier", ["penultimate"], cuda=False,
                                         feature_extractor_weights_path=str(work["cls"]))
    with pytest.raises(AttributeError, match="int"):
        get_featuresdict_from_generative_model(model, extractor, 8, 4, False, 0, False)


def test_metrics_json_keeps_its_format_and_is_written_atomically(work, tmp_path):
    """evaluate writes through gans.io: indented JSON in record order, a trailing newline, and on
    a failed write the old file stays and no temporary file is left."""
    record = evaluate(work, samples_record(pattern_images(20, seed=4)[0]), "format")
    out = work["root"] / "format.json"
    assert out.read_text() == json.dumps(record, indent=2, sort_keys=False) + "\n"
    assert not list(work["root"].glob(".format.json*"))

    def fail_half_way(tmp: Path) -> None:
        tmp.write_text('{"fid": ')
        raise OSError("disk full")

    copy = tmp_path / "m.json"
    copy.write_text(out.read_text())
    with pytest.raises(OSError):
        write_atomic(copy, fail_half_way)
    assert json.loads(copy.read_text()) == record
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_extractor_registry_names():
    assert EXTRACTORS.names() == ["classifier", "inception-v3-compat"]
    assert evaluate_module.REAL_SUBSET_SEED == 0


def test_the_protocol_records_every_constant_the_numbers_depend_on():
    samples = samples_record(torch.zeros(7, 1, 4, 4, dtype=torch.uint8)) | {"truncation": 0.5}
    protocol = evaluate_module._protocol(samples, 500, "test", "classifier", "ab12", 128, MetricSettings(),
                                         "round half to even")
    assert protocol == {
        "n_generated": 7, "n_real": 500, "real_split": "test", "extractor": "classifier",
        "extractor_sha256": "ab12", "feature_dim": 128, "quantization": "round half to even",
        "checkpoint_rule": "final step", "seed": 3, "step": 40, "truncation": 0.5,
        "is_splits": 7, "prc_k": 3, "dc_k": 5, "kid_subsets": 100, "kid_subset_size": 7}
    bare = {"data": torch.zeros(0, 2), "seed": 1}  # points: no settings; an older samples file
    assert evaluate_module._protocol(bare, None, None, "toy", None, 2, None, "none") == {
        "n_generated": 0, "n_real": None, "real_split": None, "extractor": "toy", "extractor_sha256": None,
        "feature_dim": 2, "quantization": "none", "checkpoint_rule": None, "seed": 1, "step": None,
        "truncation": None, "is_splits": None, "prc_k": None, "dc_k": None, "kid_subsets": None,
        "kid_subset_size": None}
    assert evaluate_module._protocol(samples, None, "test", "c", None, 8, MetricSettings(), "q")[
        "kid_subset_size"] is None


def test_a_points_record_against_the_mixture_of_its_prepared_file(ring):
    prepared = ring["record"]
    points = prepared["modes"].repeat(3, 1)
    record = evaluate_module.evaluate_points(samples_record(points, kind="points", dataset="ring-8"), prepared)
    assert {k: record[k] for k in ("suite", "dataset", "model", "seed", "extractor", "status")} == {
        "suite": "unit", "dataset": "ring-8", "model": "dcgan", "seed": 3, "extractor": "toy",
        "status": "completed"}
    assert record["metrics"]["modes_covered"] == 8.0 and record["per_mode"]["modes_total"] == 8
    protocol = record["protocol"]
    assert (protocol["n_real"], protocol["real_split"], protocol["extractor_sha256"], protocol["feature_dim"],
            protocol["quantization"], protocol["sigma"], protocol["modes"], protocol["n_generated"]) == (
        len(prepared["data"]), "train", prepared["sha256"], 2, "none (float points)", float(prepared["sigma"]),
        8, 24)
    assert "high quality: distance to the nearest mode <= 3 sigma" in protocol["toy_rule"]
    assert record["timing"]["feature_extraction_s"] == 0.0 and record["timing"]["total_s"] >= 0.0
    # completed but empty is no evaluation either
    empty = evaluate_module.evaluate_points(samples_record(torch.zeros(0, 2), kind="points", dataset="ring-8"),
                                            prepared)
    assert empty["status"] == "diverged" and empty["metrics"] == dict.fromkeys(TOY_METRIC_KEYS)
    with pytest.raises(ValueError, match="prepared points file"):
        evaluate_module.evaluate_points(samples_record(points, kind="points"), {**prepared, "kind": "image"})
    with pytest.raises(ValueError, match="prepared points file"):
        evaluate_module.evaluate_points(samples_record(points, kind="points"),
                                        {k: v for k, v in prepared.items() if k != "modes"})


def test_a_points_record_under_a_named_protocol_is_scored_and_named_by_it(ring):
    """evaluate_points hands the protocol to the scoring (veegan: one high-quality sample captures
    a mode; the default toy-2d rule wants 20 of 2500), names it in the record, and refuses a
    sample count other than the protocol's 2500; the timing is a duration."""
    prepared = ring["record"]
    labels = torch.cat([torch.arange(2495) % 7, torch.full((5,), 7)])  # mode 7: 5 samples only
    points = prepared["modes"][labels]
    covered = {}
    for name in ("veegan", "toy-2d"):
        record = evaluate_module.evaluate_points(samples_record(points, kind="points", dataset="ring-8"),
                                                 prepared, name)
        covered[name] = record["metrics"]["modes_covered"]
        assert record["protocol"]["toy_protocol"] == name
        assert record["protocol"]["toy_rule"] == evaluate_module.toy_protocol(name).rule
        assert 0.0 <= record["timing"]["total_s"] < 60.0
    assert covered == {"veegan": 8.0, "toy-2d": 7.0}
    with pytest.raises(ValueError, match="the veegan protocol scores 2500 samples, got 2499"):
        evaluate_module.evaluate_points(samples_record(points[:2499], kind="points", dataset="ring-8"),
                                        prepared, "veegan")


def test_a_real_subset_is_all_of_the_split_or_a_sorted_seed_0_draw():
    assert torch.equal(real_subset_indices(5, 5), torch.arange(5))
    expected = torch.randperm(50, generator=torch.Generator().manual_seed(0))[:10].sort().values
    assert torch.equal(real_subset_indices(50, 10), expected)
    assert torch.equal(real_subset_indices(50, 1), expected[:0].new_tensor([int(torch.randperm(
        50, generator=torch.Generator().manual_seed(0))[0])]))
    for n in (0, -1):
        with pytest.raises(ValueError, match="n must be >= 1"):
            real_subset_indices(50, n)
    with pytest.raises(ValueError, match="only 50"):
        real_subset_indices(50, 51)


def test_the_metric_commands_refuse_mismatched_options(work, ring, tmp_path):
    points = tmp_path / "points.pt"
    torch.save(samples_record(ring["record"]["modes"], kind="points", dataset="ring-8"), points)
    images = tmp_path / "images.pt"
    torch.save(samples_record(pattern_images(8, seed=5)[0]), images)
    out = str(tmp_path / "m.json")
    with pytest.raises(SystemExit, match="point samples are measured with --extractor toy"):
        main(["evaluate", "--samples", str(points), "--real", str(ring["path"]), "--extractor", "classifier",
              "--out", out])
    with pytest.raises(SystemExit, match="--extractor toy is for point samples only"):
        main(["evaluate", "--samples", str(images), "--real", str(work["real"]), "--extractor", "toy",
              "--out", out])
    with pytest.raises(SystemExit, match="--domain-task and --domain go together"):
        main(["real-features", "--data", str(work["test"]), "--extractor", "classifier", "--classifier",
              str(work["cls"]), "--n", "8", "--domain-task", "negative", "--out", out])
    with pytest.raises(SystemExit, match="--domain-task and --domain go together"):
        main(["real-features", "--data", str(work["test"]), "--extractor", "classifier", "--classifier",
              str(work["cls"]), "--n", "8", "--domain", "a", "--out", out])
    assert not Path(out).exists()


def test_recipe_overrides_are_read_as_yaml_values():
    from gans.metrics.commands import parse_overrides

    assert parse_overrides(["epochs=3", " lr = 0.002", "augment=none", "schedule=one-cycle", "x=a=b"]) == {
        "epochs": 3, "lr": 0.002, "augment": "none", "schedule": "one-cycle", "x": "a=b"}
    assert parse_overrides([]) == {}
    with pytest.raises(SystemExit, match="--set takes FIELD=VALUE, got 'epochs'"):
        parse_overrides(["epochs"])


# --------------------------------------------------------------------------- the command lines, pinned
# The Snakemake rules and the README call these options by name; a default that moves or an
# option that stops being required changes what a rule computes without any error. Each metric
# command's minimal command line parses to exactly the namespace below (every default), leaving
# out a required option is an error, and a value outside an option's choices is refused.
EXTRACTOR_DEFAULTS = {"classifier": None, "inception_weights": None, "inception_sha256": None,
                      "no_download": False, "device": "cpu", "gpu_lock_dir": None, "threads": 1}

MINIMAL = {
    "train-classifier": (
        ["--train", "tr.pt", "--test", "te.pt", "--out", "w.pt", "--info", "w.json"],
        {"train": "tr.pt", "test": "te.pt", "seed": 0, "out": "w.pt", "info": "w.json",
         "recipe": "v2", "overrides": [], "epochs": None, "threads": 1, "min_accuracy": None,
         "freeze": None}),
    "real-features": (
        ["--data", "te.pt", "--extractor", "classifier", "--n", "500", "--out", "f.pt"],
        {"data": "te.pt", "extractor": "classifier", "n": 500, "out": "f.pt", "domain_task": None,
         "domain": None, "classifier_test": None, **EXTRACTOR_DEFAULTS}),
    "evaluate": (
        ["--samples", "s.pt", "--real", "f.pt", "--extractor", "classifier", "--out", "m.json"],
        {"samples": "s.pt", "real": "f.pt", "extractor": "classifier", "out": "m.json",
         "domain_real": [], "source_data": None, "toy_protocol": "toy-2d", **EXTRACTOR_DEFAULTS}),
}
REQUIRED = {
    "train-classifier": ["--train", "--test", "--out", "--info"],
    "real-features": ["--data", "--extractor", "--n", "--out"],
    "evaluate": ["--samples", "--real", "--extractor", "--out"],
}
CHOICES = [  # (command, option, a refused value, the accepted values)
    ("real-features", "--extractor", "toy", ["classifier", "inception-v3-compat"]),
    ("real-features", "--domain", "c", ["a", "b"]),
    ("evaluate", "--extractor", "resnet", ["classifier", "inception-v3-compat", "toy"]),
    ("evaluate", "--toy-protocol", "gdpp", ["toy-2d", "veegan", "pacgan"]),
]


def parsed(command: str, argv: list[str]) -> dict:
    namespace = vars(build_parser().parse_args([command, *argv]))
    assert namespace.pop("command") == command and callable(namespace.pop("func"))
    return namespace


@pytest.mark.parametrize("command", sorted(MINIMAL))
def test_the_minimal_command_line_gives_every_default(command: str) -> None:
    argv, expected = MINIMAL[command]
    assert parsed(command, argv) == expected


@pytest.mark.parametrize("command, option", [(c, o) for c, options in REQUIRED.items() for o in options])
def test_leaving_out_a_required_option_is_an_error(command: str, option: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    argv = MINIMAL[command][0]
    i = argv.index(option)
    with pytest.raises(SystemExit) as exit_info:
        parsed(command, argv[:i] + argv[i + 2:])
    assert exit_info.value.code == 2
    assert option in capsys.readouterr().err


@pytest.mark.parametrize("command, option, refused, accepted", CHOICES)
def test_values_outside_the_choices_are_refused(command: str, option: str, refused: str,
                                               accepted: list[str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    argv = MINIMAL[command][0]
    for value in accepted:
        assert parsed(command, [*argv, option, value])[option.lstrip("-").replace("-", "_")] == value
    with pytest.raises(SystemExit) as exit_info:
        parsed(command, [*argv, option, refused])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_repeatable_options_collect_every_value() -> None:
    argv = MINIMAL["evaluate"][0] + ["--domain-real", "a=fa.pt", "--domain-real", "b=fb.pt"]
    assert parsed("evaluate", argv)["domain_real"] == ["a=fa.pt", "b=fb.pt"]
    argv = MINIMAL["train-classifier"][0] + ["--set", "epochs=2", "--set", "lr=0.1"]
    assert parsed("train-classifier", argv)["overrides"] == ["epochs=2", "lr=0.1"]


@pytest.mark.parametrize("command, label", [("real-features", "[real-features]"),
                                            ("evaluate", "[evaluate]")])
def test_the_command_claims_its_device_through_the_node_locks_it_was_given(
        command: str, label: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """--device and --gpu-lock-dir reach gans.gpu_lock.job_device (which picks a free GPU under
    that lock base), with the command's label, and the work runs on the device it hands back."""
    from contextlib import contextmanager

    import gans.metrics.commands as commands

    asked, ran_on = [], []

    @contextmanager
    def claim(device, lock_dir, label):
        asked.append((device, lock_dir, label))
        yield "cuda:7"

    monkeypatch.setattr(commands, "job_device", claim)
    work = {"real-features": "_real_features", "evaluate": "_evaluate"}[command]
    monkeypatch.setattr(commands, work, lambda args: ran_on.append(args.device) or 0)
    args = build_parser().parse_args([command, *MINIMAL[command][0], "--device", "auto",
                                      "--gpu-lock-dir", "/locks/base"])
    assert args.func(args) == 0
    assert asked == [("auto", "/locks/base", label)] and ran_on == ["cuda:7"]


def test_the_extractor_options_reach_the_weights_and_the_feature_pass(monkeypatch):
    """Inception: the given file, its expected sha256 and the download switch reach the weights
    resolver; the classifier's predictions run on the device asked for (the CPU by default)."""
    from gans.metrics.extractors import classifier_predictions

    asked = []
    monkeypatch.setattr(extractors_module, "resolve_inception_weights",
                        lambda *args: asked.append(args) or "weights")
    options = ExtractorOptions(inception_weights="w.pth", inception_sha256="ab" * 32, allow_download=False)
    assert EXTRACTORS.get("inception-v3-compat").resolve_weights(options) == "weights"
    assert asked == [("w.pth", "ab" * 32, False)]

    devices = []
    monkeypatch.setattr(extractors_module, "resolve", lambda name, options: ("extractor", "weights"))
    monkeypatch.setattr(extractors_module, "extract_features", lambda extractor, weights, images, device:
                        devices.append(device) or {"logits": torch.tensor([[0.1, 0.9], [0.8, 0.2]])})
    assert torch.equal(classifier_predictions("c.pt", torch.zeros(2, 1, 4, 4)), torch.tensor([1, 0]))
    classifier_predictions("c.pt", torch.zeros(2, 1, 4, 4), device="meta")
    assert devices == ["cpu", "meta"]


def test_class_predictions_under_inception_run_on_the_evaluation_device(monkeypatch):
    calls = []
    monkeypatch.setattr(extractors_module, "classifier_predictions",
                        lambda path, images, device="cpu": calls.append((path, device)) or "labels")
    options = ExtractorOptions(classifier="c.pt")
    logits, images = torch.zeros(2, 3), torch.zeros(2)
    assert _predicted_labels("inception-v3-compat", logits, options, images, "meta") == "labels"
    assert calls == [("c.pt", "meta")]
    assert _predicted_labels("inception-v3-compat", logits, ExtractorOptions(), images, "cpu") is None
    assert torch.equal(_predicted_labels("classifier", torch.tensor([[0.0, 1.0]]), options, None, "cpu"),
                       torch.tensor([1]))


class FakeExtraction:
    """Stands in for the feature pass of evaluate_images / compute_real_features: it records what
    reaches the extractor and hands back fixed features, so the bookkeeping around it is tested
    alone, against a clock that ticks 1 s per reading."""

    def __init__(self, monkeypatch, keep_real_logits: bool = True) -> None:
        from types import SimpleNamespace

        self.calls: list[tuple] = []
        self.extractor = SimpleNamespace(name="classifier", feature_layer="penultimate",
                                         logits_layer="logits", keep_real_logits=keep_real_logits)
        self.weights = SimpleNamespace(sha256="ab" * 32, version="v9", recorded_accuracy=0.9)
        ticks = iter(range(100, 1000))
        monkeypatch.setattr(evaluate_module, "time", SimpleNamespace(perf_counter=lambda: float(next(ticks))))
        monkeypatch.setattr(extractors_module, "resolve", lambda name, options: (self.extractor, self.weights))
        monkeypatch.setattr(extractors_module, "extract_features", self.extract)

    def extract(self, extractor, weights, images, device):
        self.calls.append(("extract", len(images), device))
        generator = torch.Generator().manual_seed(len(images))
        return {"features": torch.randn(len(images), 4, generator=generator, dtype=torch.float64),
                "logits": torch.randn(len(images), 10, generator=generator)}

    def real(self, n: int = 40) -> dict:
        features = torch.randn(n, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
        mu, sigma = feature_statistics(features)
        return {"kind": "real-features", "dataset": "patterns", "extractor": "classifier",
                "extractor_sha256": self.weights.sha256, "features": features, "labels": torch.arange(n) % 10,
                "mu": torch.from_numpy(mu), "sigma": torch.from_numpy(sigma), "n": n, "split": "test",
                "feature_dim": 4, "data_sha256": "cd" * 32, "feature_layer": "penultimate"}


def test_evaluate_images_hands_its_device_and_settings_on_and_times_both_feature_passes(monkeypatch):
    fake = FakeExtraction(monkeypatch)
    settings_seen, predicted_args = [], []
    monkeypatch.setattr(evaluate_module, "image_metrics",
                        lambda *args: settings_seen.append(args[-1]) or {"fid": 1.0})
    monkeypatch.setattr(evaluate_module, "_predicted_labels",
                        lambda *args: predicted_args.append(args) or args[1].argmax(1))
    images, labels = pattern_images(20, seed=2)
    options, settings = ExtractorOptions(classifier="c.pt"), MetricSettings(prc_k=4)
    record = evaluate_module.evaluate_images(samples_record(images, labels), fake.real(), "classifier",
                                             options, device="meta", settings=settings)
    assert fake.calls == [("extract", 20, "meta")] and settings_seen == [settings]
    (name, logits, options_seen, images_seen, device), = predicted_args
    assert (name, options_seen, device) == ("classifier", options, "meta") and images_seen is images
    assert logits.shape == (20, 10)
    # clock readings: start 100; fake features 101 -> 102; class predictions 103 -> 104; end 105
    assert record["timing"] == {"total_s": 5.0, "feature_extraction_s": 2.0}

    evaluate_module.evaluate_images(samples_record(images), fake.real(), "classifier", options)
    assert fake.calls[-1] == ("extract", 20, "cpu")  # the default device

    one = evaluate_module.evaluate_images(samples_record(images[:1]), fake.real(), "classifier", options)
    assert one["status"] == "completed" and one["metrics"]["fid"] == 1.0  # one sample is still samples
    empty = evaluate_module.evaluate_images(samples_record(images[:0], status="diverged"), fake.real(),
                                            "classifier", options)
    assert empty["timing"]["feature_extraction_s"] == 0.0 and empty["timing"]["total_s"] == 1.0


def test_real_features_keep_logits_only_where_the_extractor_says_and_run_on_the_given_device(monkeypatch):
    split = prepared_split(*pattern_images(30, seed=1), "test")
    fake = FakeExtraction(monkeypatch, keep_real_logits=True)
    kept = evaluate_module.compute_real_features(split, "classifier", ExtractorOptions(), 30, device="meta")
    assert fake.calls == [("extract", 30, "meta")] and kept["logits"].shape == (30, 10)
    assert kept["timing"] == {"extraction_s": 1.0}
    fake = FakeExtraction(monkeypatch, keep_real_logits=False)
    dropped = evaluate_module.compute_real_features(split, "classifier", ExtractorOptions(), 30)
    assert fake.calls == [("extract", 30, "cpu")] and dropped["logits"] is None


def test_real_features_say_whether_the_classifier_accuracy_was_measured_again(work, tmp_path, capsys):
    base = ["real-features", "--data", str(work["test"]), "--extractor", "classifier",
            "--classifier", str(work["cls"]), "--n", "50"]
    assert main(base + ["--out", str(tmp_path / "checked.pt"), "--classifier-test", str(work["test"])]) == 0
    assert "(measured and checked)" in capsys.readouterr().out
    assert main(base + ["--out", str(tmp_path / "recorded.pt")]) == 0
    assert "(recorded, not re-checked)" in capsys.readouterr().out


def test_two_domain_evaluate_reads_each_domain_reference_and_hands_on_the_device(monkeypatch, tmp_path):
    """--domain-real DOMAIN=PATH splits at the first '=' (a path may hold one); without
    --source-data (a floor) no held-out split is loaded; the device reaches the evaluation."""
    from argparse import Namespace

    from gans.metrics import commands as commands_module
    from gans.metrics import two_domain as two_domain_module

    calls = []
    monkeypatch.setattr(two_domain_module, "evaluate_two_domain",
                        lambda samples, references, extractor, options, prepared_test, device:
                        calls.append((references, prepared_test, device)) or "record")
    path = tmp_path / "x=y" / "b.pt"
    path.parent.mkdir()
    torch.save({"domain": "b", "mu": torch.zeros(2)}, path)
    args = Namespace(domain_real=[f"b={path}"], source_data=None, extractor="classifier", classifier=None,
                     inception_weights=None, inception_sha256=None, no_download=True, device="meta")
    assert commands_module._evaluate_two_domain({}, {"domain": "a"}, args) == "record"
    (references, prepared_test, device), = calls
    assert references["a"] == {"domain": "a"} and references["b"]["domain"] == "b"
    assert prepared_test is None and device == "meta"


def test_a_gpu_device_reaches_torch_fidelitys_feature_pass(monkeypatch):
    """On a GPU the extraction asks torch-fidelity for CUDA, in the extractor's options and in the
    dataset pass (torch-fidelity itself faked: this machine may have no GPU)."""
    seen = {}
    monkeypatch.setattr(extractors_module, "create_feature_extractor",
                        lambda name, layers, **options: seen.setdefault("options", options) and "module")
    monkeypatch.setattr(extractors_module, "get_featuresdict_from_dataset",
                        lambda dataset, module, batch_size, cuda, save_cpu_ram, verbose:
                        seen.setdefault("pass", (cuda, save_cpu_ram, verbose))
                        and {"penultimate": torch.zeros(len(dataset), 3), "logits": torch.zeros(len(dataset), 2)})
    extractor = EXTRACTORS.get("classifier")
    weights = type("Weights", (), {"path": Path("c.pt")})()
    out = extract_features(extractor, weights, torch.zeros(2, 1, 32, 32, dtype=torch.uint8), "cuda:1")
    assert seen["options"]["cuda"] is True and seen["pass"] == (True, True, False)
    assert out["features"].shape == (2, 3)


def test_a_missing_classifier_file_says_how_to_make_one_and_which_option_names_it(tmp_path):
    from gans.metrics.weights import WeightsError

    missing = tmp_path / "cls.pt"
    with pytest.raises(WeightsError) as error:
        resolve("classifier", ExtractorOptions(classifier=str(missing)))
    assert str(error.value) == (f"weights file {missing} does not exist. Train it with `python -m gans "
                                f"train-classifier`. Put the file at {missing}, or point --classifier at where it is.")


def test_the_command_line_extractor_options_reach_the_extractor():
    from argparse import Namespace

    from gans.metrics.commands import _extractor_options

    args = Namespace(classifier="c.pt", inception_weights="w.pth", inception_sha256="ab" * 32, no_download=True)
    assert _extractor_options(args) == ExtractorOptions(classifier="c.pt", inception_weights="w.pth",
                                                        inception_sha256="ab" * 32, allow_download=False)
    assert _extractor_options(Namespace(**{**vars(args), "no_download": False})).allow_download is True


def test_evaluate_hands_its_device_on_and_prints_the_metrics_it_has(monkeypatch, tmp_path, capsys):
    from argparse import Namespace

    from gans.metrics.commands import _evaluate

    devices = []
    monkeypatch.setattr(evaluate_module, "evaluate_images", lambda samples, real, extractor, options, device:
                        devices.append(device) or {"status": "completed", "timing": {},
                                                   "metrics": {"fid": 12.345678, "kid": None, "is_mean": 2.0}})
    torch.save(samples_record(torch.zeros(2, 1, 4, 4, dtype=torch.uint8)), tmp_path / "s.pt")
    torch.save({"kind": "real-features"}, tmp_path / "r.pt")
    args = Namespace(samples=tmp_path / "s.pt", real=tmp_path / "r.pt", extractor="classifier",
                     out=tmp_path / "m.json", device="meta", **{k: v for k, v in EXTRACTOR_DEFAULTS.items()
                                                                if k not in ("device", "gpu_lock_dir", "threads")})
    assert _evaluate(args) == 0 and devices == ["meta"]
    assert f"[evaluate] completed: fid 12.35, is_mean 2 -> {tmp_path / 'm.json'}" in capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(MINIMAL))
def test_the_thread_count_is_read_as_a_number(command: str) -> None:
    assert parsed(command, [*MINIMAL[command][0], "--threads", "2"])["threads"] == 2
