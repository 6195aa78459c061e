"""The domain classifier: shapes, its torch-fidelity registration, and `train-classifier` on a
small synthetic pattern set (accuracy, bit-reproducibility, the accuracy floor)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
from torch_fidelity.utils import create_feature_extractor

from gans.cli import main
from gans.metrics.classifier import ClassifierArchitecture, DomainClassifier, load_classifier
from gans.metrics.extractors import ClassifierFeatureExtractor
from gans.metrics.synthetic import pattern_images, prepared_split
from gans.metrics.weights import file_sha256, tensors_sha256


@pytest.fixture(scope="module")
def pattern_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("patterns")
    for split, n, seed in (("train", 800, 0), ("test", 200, 1)):
        torch.save(prepared_split(*pattern_images(n, seed=seed), split), root / f"{split}.pt")
    return root / "train.pt", root / "test.pt"


def train_cli(files: tuple[Path, Path], out_dir: Path, seed: int = 0, *extra: str) -> list[str]:
    return ["train-classifier", "--train", str(files[0]), "--test", str(files[1]), "--seed", str(seed),
            "--out", str(out_dir / "cls.pt"), "--info", str(out_dir / "cls.json"), "--epochs", "2", *extra]


@pytest.fixture(scope="module")
def trained(pattern_files, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cls-a")
    assert main(train_cli(pattern_files, out)) == 0
    return out


def test_features_and_logits_shapes():
    model = DomainClassifier(ClassifierArchitecture(channels=3, resolution=64, num_classes=7))
    features, logits = model.eval().features_and_logits(torch.rand(5, 3, 64, 64) * 2 - 1)
    assert features.shape == (5, 128) and logits.shape == (5, 7)
    assert (features >= 0).all()  # after ReLU


def test_registered_in_torch_fidelity_and_returns_features_in_requested_order(trained):
    assert FEATURE_EXTRACTORS_REGISTRY["classifier"] is ClassifierFeatureExtractor
    images = pattern_images(6, seed=3)[0]
    for layers in (["penultimate", "logits"], ["logits", "penultimate"]):
        extractor = create_feature_extractor("classifier", layers, cuda=False,
                                             feature_extractor_weights_path=str(trained / "cls.pt"))
        out = dict(zip(layers, extractor(images)))
        assert out["penultimate"].shape == (6, 128) and out["logits"].shape == (6, 10)
    with pytest.raises(ValueError):
        extractor(images.float())  # uint8 only, like torch-fidelity's own extractors


def test_training_reaches_high_accuracy_and_records_it(trained):
    info = json.loads((trained / "cls.json").read_text())
    assert info["test_accuracy"] >= 0.95
    assert info["sha256"] == tensors_sha256(trained / "cls.pt")
    assert {"dataset", "seed", "epochs", "architecture", "timing"} <= set(info)
    assert set(info["timing"]) == {"train_s"}
    model, record = load_classifier(trained / "cls.pt")
    assert record["test_accuracy"] == info["test_accuracy"]
    images, labels = pattern_images(200, seed=1)  # the test split: re-measure with the saved model
    with torch.no_grad():
        predicted = model(images.float() / 127.5 - 1).argmax(1)
    assert (predicted == labels).double().mean().item() == pytest.approx(info["test_accuracy"])


def test_training_is_bit_reproducible(pattern_files, trained, tmp_path):
    again, other_seed = tmp_path / "again", tmp_path / "seed1"
    assert main(train_cli(pattern_files, again)) == 0
    assert main(train_cli(pattern_files, other_seed, 1)) == 0
    assert (again / "cls.pt").read_bytes() == (trained / "cls.pt").read_bytes()
    assert json.loads((again / "cls.json").read_text())["sha256"] == \
        json.loads((trained / "cls.json").read_text())["sha256"]
    assert file_sha256(other_seed / "cls.pt") != file_sha256(trained / "cls.pt")


def test_accuracy_below_the_floor_fails_loudly_and_writes_nothing(pattern_files, tmp_path):
    with pytest.raises(SystemExit, match="below --min-accuracy"):
        main(train_cli(pattern_files, tmp_path, 0, "--epochs", "1", "--min-accuracy", "1.01"))
    assert list(tmp_path.iterdir()) == []


def test_the_recorded_hash_is_of_the_weights_not_of_the_file(tmp_path: Path) -> None:
    """torch.save's archive holds the file's own name: the same weights under two names must get
    the same hash, and other weights another one."""
    record = {"state_dict": {"w": torch.arange(4.0)}, "architecture": {}, "dataset": "x"}
    torch.save(record, tmp_path / "a.pt")
    torch.save(record, tmp_path / "renamed.pt")
    assert file_sha256(tmp_path / "a.pt") != file_sha256(tmp_path / "renamed.pt")
    assert tensors_sha256(tmp_path / "a.pt") == tensors_sha256(tmp_path / "renamed.pt")
    record["state_dict"]["w"][0] = 9.0
    torch.save(record, tmp_path / "other.pt")
    assert tensors_sha256(tmp_path / "other.pt") != tensors_sha256(tmp_path / "a.pt")


def test_v2_is_the_default_and_v1_still_trains_and_loads(pattern_files, trained, tmp_path):
    """v2 (the default) takes its features before the hidden non-linearity; v1, the first recipe,
    still trains with --recipe v1 and loads for older results."""
    model, record = load_classifier(trained / "cls.pt")
    assert record["architecture"]["name"] == "domain-cnn-v2" and record["recipe"]["augment"] == "shift"
    features = model.features_and_logits(pattern_images(50, seed=4)[0].float() / 127.5 - 1)[0]
    assert (features < 0).any() and bool((features.var(0) > 0).all())  # not a ReLU's output
    info = json.loads((trained / "cls.json").read_text())
    assert info["dead_feature_units"] == 0 and info["recipe"]["name"] == "v2"
    assert set(info["trained_with"]) == {"torch", "cpu_capability"}
    assert main(train_cli(pattern_files, tmp_path, 0, "--recipe", "v1")) == 0
    v1, v1_record = load_classifier(tmp_path / "cls.pt")
    assert v1_record["architecture"]["name"] == "domain-cnn-v1" and v1.hidden_norm is None
    assert (v1.features_and_logits(pattern_images(50, seed=4)[0].float() / 127.5 - 1)[0] >= 0).all()


def test_unknown_recipes_and_fields_are_refused(pattern_files, tmp_path):
    with pytest.raises(SystemExit, match="unknown classifier recipe 'v9'"):
        main(train_cli(pattern_files, tmp_path, 0, "--recipe", "v9"))
    with pytest.raises(SystemExit, match="recipe field optimizer: not a recipe field"):
        main(train_cli(pattern_files, tmp_path, 0, "--set", "optimizer=sgd"))
    assert list(tmp_path.iterdir()) == []


def test_recipe_overrides_are_honoured_and_recorded(pattern_files, tmp_path):
    """What the train_classifier rule passes for a suite's evaluation.classifier overrides."""
    assert main(train_cli(pattern_files, tmp_path, 0, "--set", "augment=none", "--set", "lr=0.002",
                          "--set", "min_accuracy=0.5")) == 0
    recipe = json.loads((tmp_path / "cls.json").read_text())["recipe"]
    assert (recipe["augment"], recipe["lr"], recipe["min_accuracy"], recipe["epochs"]) == ("none", 0.002, 0.5, 2)
